//! The human-readable form of a [`Plan`], as `runner plan` prints it.

use std::fmt::Write;

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    let mut s = String::new();
    let mut manifest = None;
    for job in &plan.jobs {
        if manifest != Some(&job.manifest) {
            manifest = Some(&job.manifest);
            let _ = writeln!(s, "{}", job.manifest);
        }
        let _ = writeln!(
            s,
            "  job {}  ({}, {}, api {}, {} turn{})",
            job.id,
            job.settings.model,
            job.settings.tool,
            job.settings.api_version,
            job.turns.len(),
            if job.turns.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(s, "    fingerprint {}", short(&job.fingerprint));
        for input in &job.inputs {
            let _ = writeln!(
                s,
                "    input {}  {}  blake3 {}",
                input.path,
                bytes(input.size),
                short(&input.blake3)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} job{}, {} unique upload{} ({})",
        plan.jobs.len(),
        if plan.jobs.len() == 1 { "" } else { "s" },
        plan.uploads.len(),
        if plan.uploads.len() == 1 { "" } else { "s" },
        bytes(plan.upload_bytes())
    );
    for u in &plan.uploads {
        let _ = writeln!(
            s,
            "  upload {}  {}  blake3 {}  used by {} job{}",
            u.name,
            bytes(u.size),
            short(&u.blake3),
            u.jobs.len(),
            if u.jobs.len() == 1 { "" } else { "s" }
        );
    }
    s
}

/// The first 16 hex digits are plenty to tell hashes apart on screen; `--json` has all.
fn short(hash: &str) -> &str {
    let hex = hash.strip_prefix("blake3:").unwrap_or(hash);
    &hex[..hex.len().min(16)]
}

pub fn bytes(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let f = n as f64;
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", f / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", f / 1_048_576.0),
        _ => format!("{:.2} GiB", f / 1_073_741_824.0),
    }
}
