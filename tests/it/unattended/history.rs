//! The last good result is kept; every run is recorded under `OUT/runs/<run-id>/`.

use fake_anthropic::FakeServer;

use crate::harness::{CommandExt, Sandbox, manifest, names_in, tree};

fn job(prompt: &str) -> String {
    manifest(&format!(
        "  - name: report\n    inputs: [data/in.csv]\n    prompt: \"{prompt}\"\n"
    ))
}

#[test]
fn a_failed_attempt_never_replaces_the_last_good_result() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/in.csv", "a\n1\n")
        .file("m.yaml", job("Summarise."));
    let (code, _) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let good = tree(&sb.root.join("out/m/report"));
    assert!(good.contains_key("files/plot.png"), "{:?}", good.keys());

    // The input changes and the API refuses the next attempt.
    sb.file("data/in.csv", "a\n2\n").file(
        "m.yaml",
        job("Summarise.\\n@fake fail 400 invalid_request_error"),
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        tree(&sb.root.join("out/m/report")),
        good,
        "the job folder is byte-identical to the successful one"
    );
    let run_id = summary["run_id"].as_str().unwrap();
    let attempt = summary["jobs"][0]["attempt"].as_str().unwrap();
    assert_eq!(attempt, format!("runs/{run_id}/m/report"));
    let failed = sb.read_json(&format!("out/{attempt}/job.json"));
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["kind"], "api");
    for doc in ["report.md", "transcript.md", "messages.json"] {
        assert!(
            sb.root.join("out").join(attempt).join(doc).is_file(),
            "{doc}"
        );
    }

    // The next success replaces the folder as a whole.
    sb.file("m.yaml", job("Summarise again."));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let now = sb.read_json("out/m/report/job.json");
    assert_eq!(now["status"], "succeeded");
    assert_eq!(now["fingerprint"], summary["jobs"][0]["fingerprint"]);
    assert_ne!(tree(&sb.root.join("out/m/report")), good);
    assert!(summary["jobs"][0].get("attempt").is_none());
}

#[test]
fn every_run_is_recorded_compared_and_pruned() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/in.csv", "a\n1\n")
        .file("m.yaml", job("Summarise."));
    let (_, first) = sb.run_json(&fake, &["run", "m.yaml", "--keep-runs", "2"]);
    let line = &first["jobs"][0];
    assert_eq!(line["status"], "succeeded");
    assert!(line["duration_secs"].as_f64().unwrap() >= 0.0);
    assert!(line["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let names: Vec<&str> = line["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["files/inventory.csv", "files/plot.png"]);
    assert!(line["outputs"][0]["blake3"].as_str().unwrap().len() == 64);
    assert!(
        line.get("changed").is_none(),
        "no earlier success to compare with"
    );

    // A forced re-run with the same input: same outputs, so not changed.
    let (_, second) = sb.run_json(&fake, &["run", "m.yaml", "--force", "--keep-runs", "2"]);
    assert_eq!(second["jobs"][0]["changed"], false);
    // Nothing to do: recorded too, with the kept result's outputs.
    let (code, third) = sb.run_json(&fake, &["run", "m.yaml", "--keep-runs", "2"]);
    assert_eq!(code, Some(0));
    assert_eq!(third["jobs"][0]["status"], "fresh");
    assert_eq!(third["jobs"][0]["outputs"], second["jobs"][0]["outputs"]);

    let ids = names_in(&sb.root.join("out/runs"));
    let expected = [
        second["run_id"].as_str().unwrap(),
        third["run_id"].as_str().unwrap(),
    ];
    assert_eq!(ids, expected, "--keep-runs 2 pruned the oldest run");
    assert!(first["run_id"].as_str().unwrap() < expected[0]);
    assert_eq!(
        std::fs::read(sb.root.join("out/run.json")).unwrap(),
        std::fs::read(sb.root.join(format!("out/runs/{}/run.json", expected[1]))).unwrap(),
        "OUT/run.json is the latest run's record"
    );
    assert!(
        sb.root.join("out/m/report/job.json").is_file(),
        "job folders are never pruned"
    );

    let runs: serde_json::Value = sb.cmd(["history", "--json"]).success_json();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], expected[1], "newest first");
    for run in runs {
        for key in ["run_id", "started_at", "finished_at", "exit_code", "counts"] {
            assert!(run.get(key).is_some(), "{key} in {run}");
        }
    }
    let out = sb.cmd(["history", "-o", "out"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(expected[1]), "{text}");
    assert!(
        lines[0].contains("1 job: 0 succeeded, 0 failed, 1 fresh"),
        "{text}"
    );
    assert!(lines[0].ends_with("exit 0"), "{text}");
    assert!(lines[1].contains("1 job: 1 succeeded"), "{text}");
}

/// The API signs images afresh on every download (docs/api.md §0.5), and so does the fake:
/// the same plot comes back with other bytes, which must not count as a change; another
/// plot must.
#[test]
fn a_plot_signed_afresh_is_unchanged_and_another_plot_is_changed() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    // The fake's chart draws one bar per input file, scaled to the largest.
    let plot_job = |b: &str| {
        sb.file("data/a.csv", "a\n1\n").file("data/b.csv", b).file(
            "m.yaml",
            manifest(concat!(
                "  - name: report\n    inputs: [data/a.csv, data/b.csv]\n",
                "    prompt: \"Plot it.\\n@fake no-output\\n@fake image chart.png\"\n",
            )),
        );
    };
    plot_job("b\n1\n");
    let (code, first) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let bytes_then = std::fs::read(sb.root.join("out/m/report/files/chart.png")).unwrap();
    let record_then = sb.read_json("out/m/report/job.json");

    let (_, second) = sb.run_json(&fake, &["run", "m.yaml", "--force"]);
    let bytes_now = std::fs::read(sb.root.join("out/m/report/files/chart.png")).unwrap();
    assert_ne!(
        bytes_now, bytes_then,
        "each download carries a fresh manifest"
    );
    let line = &second["jobs"][0];
    assert_eq!(line["changed"], false, "{line}");
    let output = &line["outputs"][0];
    assert_eq!(output["path"], "files/chart.png");
    assert_ne!(output["blake3"], first["jobs"][0]["outputs"][0]["blake3"]);
    assert_eq!(
        output["content_blake3"],
        first["jobs"][0]["outputs"][0]["content_blake3"]
    );
    let record = sb.read_json("out/m/report/job.json");
    let saved = &record["outputs"][0];
    assert_eq!(saved["blake3"], output["blake3"]);
    assert_eq!(
        saved["content_blake3"],
        record_then["outputs"][0]["content_blake3"]
    );
    assert_ne!(saved["content_blake3"], saved["blake3"]);
    assert_eq!(
        saved["blake3"].as_str().unwrap(),
        blake3::hash(&bytes_now).to_hex().as_str(),
        "blake3 stays the hash of the bytes on disk"
    );

    // Another input size draws other bars: the plot itself changed.
    plot_job("b\n1000000\n");
    let (code, third) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(third["jobs"][0]["changed"], true, "{}", third["jobs"][0]);
}

#[test]
fn an_image_longer_than_its_metadata_announced_is_saved_and_a_table_is_not() {
    // Whether `size_bytes` counts the manifest signed into media on download is not known
    // (docs/api.md §0.5): the fake here announces the unsigned size.
    let fake = FakeServer::start();
    fake.announce_unsigned_sizes();
    let sb = Sandbox::with_manifest(concat!(
        "  - name: plot\n    inputs: [data/a.csv]\n",
        "    prompt: \"Plot it.\\n@fake no-output\\n@fake image chart.png\"\n",
        "  - name: table\n    inputs: [data/a.csv]\n",
        "    prompt: \"Tabulate.\\n@fake no-output\\n@fake output table.csv 40\"\n",
    ));
    sb.file("data/a.csv", "a\n1\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let plot = sb.read_json("out/m/plot/job.json");
    let saved = &plot["outputs"][0];
    let on_disk = std::fs::read(sb.root.join("out/m/plot/files/chart.png")).unwrap();
    assert_eq!(saved["size"], on_disk.len());
    let announced = fake_anthropic::c2pa::unsign(&on_disk).len();
    assert!(on_disk.len() > announced, "the download carried a manifest");
    let table = sb.read_json("out/m/table/job.json");
    assert_eq!(table["outputs"][0]["size"], 40, "{table}");
}
