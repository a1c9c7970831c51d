//! Every manifest in `jobs/` validates and plans: an example that drifts from the format
//! fails CI.

use crate::harness::Sandbox;

fn example_manifests() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("jobs/{n}"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    names
}

#[test]
fn every_example_validates_and_plans() {
    let sb = Sandbox::new();
    sb.with_examples();
    for manifest in example_manifests() {
        sb.cmd(["validate", &manifest]).assert().success();
        sb.cmd(["plan", &manifest]).assert().success();
    }
    let all = example_manifests();
    sb.cmd(
        ["validate"]
            .into_iter()
            .chain(all.iter().map(String::as_str)),
    )
    .assert()
    .success();
}
