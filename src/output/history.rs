//! The run history (docs/output.md, "Run history"): every run's record at
//! `OUT/runs/<run-id>/run.json`, the same content as `OUT/run.json` (the latest run), its
//! failed attempts beside it (a shard's folder holds its `run-shard-K-of-N.json` instead,
//! and the night's merged record is the entry), and pruning to the newest `--keep-runs` folders. Run ids sort
//! by start time: `20261130T020000Z-3f9c`.

use std::io;

use camino::{Utf8Path, Utf8PathBuf};

use super::outcome::RunSummary;

/// The folder under `OUT/` that holds the run history (no manifest may have this stem).
pub(crate) const RUNS: &str = crate::manifest::resolve::RUN_HISTORY;

/// A new run id for a run started at `started_at`: UTC time to the second, then four hex
/// digits, the millisecond (three digits, so runs in the same second still sort by start)
/// and one digit that differs between processes, so two runs do not share a folder.
pub(crate) fn new_run_id(started_at: jiff::Timestamp) -> String {
    let stamp = started_at.strftime("%Y%m%dT%H%M%SZ");
    let millis = started_at.subsec_millisecond().unsigned_abs();
    let mut h = blake3::Hasher::new();
    h.update(&started_at.as_nanosecond().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    let nibble = h.finalize().as_bytes()[0] & 0xf;
    format!("{stamp}-{millis:03x}{nibble:x}")
}

/// `OUT/runs/<run-id>`.
pub(crate) fn run_dir(out: &Utf8Path, run_id: &str) -> Utf8PathBuf {
    out.join(RUNS).join(run_id)
}

/// Where a run keeps a copy of the `report.md` of each job whose folder it wrote (for
/// `runner diff`): `OUT/runs/<run-id>/.reports/<stem>/<job>.md`. A dot folder, so it is
/// never taken for a manifest stem's failed attempts beside it.
pub(crate) fn report_copy(run_dir: &Utf8Path, job_id: &str) -> Utf8PathBuf {
    run_dir.join(".reports").join(format!("{job_id}.md"))
}

/// Whether `name` has the shape of a run id, so pruning never touches anything else.
fn is_run_id(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 21
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..].iter().all(u8::is_ascii_hexdigit)
}

/// Writes the run's record into its history folder, then as `OUT/<record>` (`run.json`, or
/// a shard's `run-shard-K-of-N.json`). A shard's record keeps its name in the folder too:
/// the history's entry for a sharded night is the merged `run.json` (docs/output.md §6.5).
pub(crate) fn write_run(out: &Utf8Path, record: &str, summary: &RunSummary) -> io::Result<()> {
    let dir = run_dir(out, &summary.run_id);
    fs_err::create_dir_all(&dir)?;
    super::write_json(&dir.join(record), summary)?;
    super::write_run_json(out, record, summary)
}

/// Removes all but the newest `keep` run folders (the current run always stays). Only
/// folders named like run ids under `OUT/runs/` are touched; job folders never.
pub(crate) fn prune(out: &Utf8Path, keep: usize, current: &str) -> io::Result<usize> {
    let mut ids = run_ids(out)?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut removed = 0;
    for id in ids.iter().skip(keep.max(1)) {
        if id == current {
            continue;
        }
        fs_err::remove_dir_all(run_dir(out, id))?;
        removed += 1;
    }
    Ok(removed)
}

fn run_ids(out: &Utf8Path) -> io::Result<Vec<String>> {
    let entries = match fs_err::read_dir(out.join(RUNS)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry?;
        // `file_type` does not follow links: a link named like a run is left alone.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str()
            && is_run_id(name)
        {
            ids.push(name.to_owned());
        }
    }
    Ok(ids)
}

/// Every recorded run, newest first. A folder whose `run.json` is missing or unreadable
/// (a run killed before its end) is skipped with a warning.
pub(crate) fn list(out: &Utf8Path) -> io::Result<Vec<RunSummary>> {
    Ok(list_records(out)?.into_iter().map(|(run, _)| run).collect())
}

/// Like [`list`], with each `run.json` also as the JSON it holds, for readers of keys the
/// typed record does not name (`runner diff` reads `jobs[].metrics` and `jobs[].alerts`).
pub(crate) fn list_records(out: &Utf8Path) -> io::Result<Vec<(RunSummary, serde_json::Value)>> {
    list_where(out, |_| true)
}

/// The recorded runs that started before run `run_id`, newest first (its own folder,
/// which may hold its failed attempts and no record yet, is not read).
pub(crate) fn list_before(out: &Utf8Path, run_id: &str) -> io::Result<Vec<RunSummary>> {
    let runs = list_where(out, |id| id < run_id)?;
    Ok(runs.into_iter().map(|(run, _)| run).collect())
}

fn list_where(
    out: &Utf8Path,
    keep: impl Fn(&str) -> bool,
) -> io::Result<Vec<(RunSummary, serde_json::Value)>> {
    let mut ids = run_ids(out)?;
    ids.retain(|id| keep(id));
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut runs = Vec::new();
    for id in ids {
        let path = run_dir(out, &id).join("run.json");
        if !path.exists() && holds_shard_record(&run_dir(out, &id)) {
            continue; // a shard's own run: part of a night, not an entry of its own
        }
        let parsed = fs_err::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())
            })
            .and_then(|v| {
                serde_json::from_value::<RunSummary>(v.clone())
                    .map(|run| (run, v))
                    .map_err(|e| e.to_string())
            });
        match parsed {
            Ok((mut run, raw)) => {
                if run.run_id.is_empty() {
                    run.run_id = id;
                }
                runs.push((run, raw));
            }
            Err(e) => tracing::warn!("skipping {path}: {e}"),
        }
    }
    Ok(runs)
}

/// Whether a run folder holds a shard's record (`run-shard-K-of-N.json`).
fn holds_shard_record(dir: &Utf8Path) -> bool {
    fs_err::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .and_then(super::merge::parse_record_name)
                .is_some()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_start_time_and_are_recognised() {
        let a = new_run_id("2026-11-30T02:00:00Z".parse().unwrap());
        let b = new_run_id("2026-11-30T02:00:00.001Z".parse().unwrap());
        let c = new_run_id("2026-11-30T02:00:00.999Z".parse().unwrap());
        let d = new_run_id("2026-11-30T02:00:01Z".parse().unwrap());
        assert!(a.starts_with("20261130T020000Z-000"), "{a}");
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert!([&a, &b, &c, &d].iter().all(|id| is_run_id(id)));
        assert!(!is_run_id("penguins") && !is_run_id("20261130T020000Z-3f9"));
    }

    #[test]
    fn prune_keeps_the_newest_and_only_touches_run_folders() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        for id in [
            "20261128T020000Z-aaaa",
            "20261129T020000Z-bbbb",
            "20261130T020000Z-cccc",
        ] {
            fs_err::create_dir_all(run_dir(out, id)).unwrap();
        }
        fs_err::create_dir_all(out.join("runs/notes")).unwrap();
        fs_err::create_dir_all(out.join("stem/job")).unwrap();
        assert_eq!(prune(out, 2, "20261130T020000Z-cccc").unwrap(), 1);
        assert!(!run_dir(out, "20261128T020000Z-aaaa").exists());
        assert!(run_dir(out, "20261129T020000Z-bbbb").exists());
        assert!(out.join("runs/notes").exists() && out.join("stem/job").exists());
    }
}
