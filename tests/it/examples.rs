//! Every manifest in `jobs/` validates and plans: an example that drifts from the format
//! fails CI.

use crate::harness::{Sandbox, names_in};

fn example_manifests() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    let names: Vec<String> = names_in(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("jobs/{n}"))
        .collect();
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
