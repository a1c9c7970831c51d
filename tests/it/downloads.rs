//! What a job's generated files cost in Files requests (docs/api.md §2.5, §2.6): their
//! metadata listed by id, 100 ids a request and never an id twice, then one download each;
//! `GET /v1/files/{id}` only for an id the listing left out.

use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::Sandbox;

/// The Files requests a run made for generated files: the ids of each listing by id, the
/// metadata requests by id, and the downloads. Neither the check before the run
/// (`GET /v1/files?limit=1`) nor uploads are about generated files.
struct OutputRequests {
    listings: Vec<Vec<String>>,
    by_id: usize,
    downloads: usize,
}

impl OutputRequests {
    fn of(fake: &FakeServer) -> OutputRequests {
        let log = fake.log();
        let count = |e: Endpoint| log.iter().filter(|l| l.endpoint == Some(e)).count();
        let listings = log
            .iter()
            .filter(|l| l.endpoint == Some(Endpoint::ListFiles))
            .filter_map(|l| l.query.as_deref())
            .map(|q| {
                q.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .filter(|(k, _)| *k == "ids%5B%5D" || *k == "ids[]")
                    .map(|(_, v)| v.to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|ids| !ids.is_empty())
            .collect();
        OutputRequests {
            listings,
            by_id: count(Endpoint::GetFile),
            downloads: count(Endpoint::Download),
        }
    }

    fn total(&self) -> usize {
        self.listings.len() + self.by_id + self.downloads
    }

    /// Every generated file was listed exactly once, and nothing else was.
    fn assert_each_listed_once(&self, fake: &FakeServer) {
        let mut listed: Vec<String> = self.listings.iter().flatten().cloned().collect();
        let mut generated = fake.stats().generated_files;
        listed.sort();
        generated.sort();
        assert_eq!(listed, generated, "{:?}", self.listings);
    }
}

fn run(prompt: &str) -> (FakeServer, Sandbox) {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(&format!(
        "  - name: j\n    prompt: {}\n",
        serde_json::to_string(prompt).unwrap()
    ));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    (fake, sb)
}

fn outputs(n: usize) -> String {
    let mut prompt = String::from("go\n@fake no-output");
    for i in 0..n {
        prompt.push_str(&format!("\n@fake output out-{i:03}.txt {}", 10 + i));
    }
    prompt
}

#[test]
fn two_generated_files_cost_three_files_requests() {
    let (fake, sb) = run("go");
    let requests = OutputRequests::of(&fake);
    assert_eq!(fake.stats().generated_files.len(), 2);
    assert_eq!(requests.listings.len(), 1, "{:?}", requests.listings);
    assert_eq!((requests.by_id, requests.downloads), (0, 2));
    assert!(requests.total() <= 3, "{}", requests.total());
    requests.assert_each_listed_once(&fake);
    let job = sb.read_json("out/m/j/job.json");
    let mut names: Vec<&str> = job["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["inventory.csv", "plot.png"]);
}

#[test]
fn one_generated_file_costs_two_files_requests() {
    let (fake, sb) = run(&outputs(1));
    let requests = OutputRequests::of(&fake);
    assert_eq!(
        (requests.listings.len(), requests.by_id, requests.downloads),
        (1, 0, 1)
    );
    requests.assert_each_listed_once(&fake);
    assert_eq!(sb.read("out/m/j/files/out-000.txt").len(), 10);
}

#[test]
fn more_files_than_a_listing_holds_take_one_listing_per_hundred() {
    let (fake, sb) = run(&outputs(150));
    let requests = OutputRequests::of(&fake);
    let sizes: Vec<usize> = requests.listings.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 50]);
    assert_eq!((requests.by_id, requests.downloads), (0, 150));
    requests.assert_each_listed_once(&fake);
    let job = sb.read_json("out/m/j/job.json");
    assert_eq!(job["outputs"].as_array().unwrap().len(), 150);
    assert_eq!(sb.read("out/m/j/files/out-149.txt").len(), 159);
}

#[test]
fn a_file_the_listing_leaves_out_is_asked_for_by_id() {
    let fake = FakeServer::start();
    // The first listing is the check before the run; the second, for the generated files,
    // answers without them (as for files the listing does not show yet).
    fake.push_faults(
        Endpoint::ListFiles,
        [
            Fault::Delay(Duration::ZERO),
            Fault::RawBody(r#"{"data": [], "next_page": null}"#.into()),
        ],
    );
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let requests = OutputRequests::of(&fake);
    assert_eq!(
        (requests.listings.len(), requests.by_id, requests.downloads),
        (1, 2, 2)
    );
    assert!(sb.root.join("out/m/j/files/plot.png").is_file());
}

#[test]
fn a_listing_cannot_smuggle_in_a_file_the_job_did_not_generate() {
    let fake = FakeServer::start();
    let stranger = serde_json::json!({"type": "file", "id": "file_stranger", "filename": "x.txt",
        "mime_type": "text/plain", "size_bytes": 1, "created_at": "2026-01-01T00:00:00Z",
        "downloadable": true});
    fake.push_faults(
        Endpoint::ListFiles,
        [
            Fault::Delay(Duration::ZERO),
            Fault::RawBody(serde_json::json!({"data": [stranger], "next_page": null}).to_string()),
        ],
    );
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let job = sb.read_json("out/m/j/job.json");
    let ids: Vec<&str> = job["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&"file_stranger"), "{ids:?}");
    // The two the job did generate were then asked for one by one.
    assert_eq!(OutputRequests::of(&fake).by_id, 2);
}
