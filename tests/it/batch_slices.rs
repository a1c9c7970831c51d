//! Batch mode while uploads go on: round one goes out a slice at a time, so the first
//! batches are created before the last input is uploaded (docs/batch.md, "Rounds").

use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{Sandbox, manifest};

/// 240 one-call jobs, each with an input of its own: slices of 100 (the smallest).
const JOBS: usize = 240;

fn jobs() -> Sandbox {
    let sb = Sandbox::new();
    let mut entries = String::new();
    for n in 0..JOBS {
        sb.file(&format!("data/{n:03}.csv"), format!("n\n{n}\n"));
        entries.push_str(&format!(
            "  - name: j{n:03}\n    inputs: [data/{n:03}.csv]\n    prompt: go\n"
        ));
    }
    sb.file("m.yaml", manifest(&entries));
    sb
}

#[test]
fn the_first_batches_are_created_while_later_inputs_still_upload() {
    let fake = FakeServer::start();
    let sb = jobs();
    // The 231st upload is held: 230 jobs have their inputs, 10 still wait for theirs.
    let pass = (1..231).map(|_| Fault::Delay(Duration::ZERO));
    fake.push_faults(Endpoint::Upload, pass.chain([Fault::Hold]));
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch", "--uploads", "1"]);
    let wait = Duration::from_secs(120);
    assert!(
        fake.wait_until(wait, |s| s.held == 1),
        "the upload was never held"
    );
    assert!(
        fake.wait_until(wait, |s| s.batches_created >= 1),
        "no batch was created while an upload was held: {:?}",
        fake.stats().requests
    );
    let before = fake.stats();
    assert_eq!(before.held, 1, "still uploading");
    assert!(
        before.batch_items >= 100,
        "a slice is at least 100 requests: {}",
        before.batch_items
    );
    fake.release_held();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let stats = fake.stats();
    assert_eq!(stats.requests.get("messages"), None, "{:?}", stats.requests);
    assert_eq!(
        stats.batch_items as usize, JOBS,
        "each request in one batch, once"
    );
    assert!(stats.batches_created >= 2, "{}", stats.batches_created);
    assert_eq!(
        stats.upload_count as usize, JOBS,
        "every input uploaded once"
    );
    let run = sb.read_json("out/run.json");
    let lines = run["jobs"].as_array().unwrap();
    assert_eq!(lines.len(), JOBS);
    assert!(lines.iter().all(|l| l["status"] == "succeeded"), "{run}");
    // Every batch was recorded, and all its items went to written jobs.
    let ended = std::fs::read_dir(sb.root.join("out/.batches/ended"))
        .unwrap()
        .count();
    assert_eq!(ended, stats.batches_created as usize);

    // Nothing is paid twice: the re-run is all fresh and sends nothing.
    let rerun = sb
        .cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .output()
        .unwrap();
    crate::harness::assert_success(&rerun);
    assert_eq!(fake.stats().batch_items as usize, JOBS);
}
