//! The pages from hand-made output trees: history and cost as the "ops" and "money" parts
//! of the contract write them, and hostile content.

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};

use super::write_site;

fn put(path: &Utf8Path, value: &Value) {
    crate::atomic::write(
        path,
        serde_json::to_string_pretty(value).unwrap().as_bytes(),
    )
    .unwrap();
}

fn job_json(status: &str, outputs: &[&str], cost: Option<f64>) -> Value {
    let mut v = json!({
        "status": status, "id": "m/a", "manifest": "jobs/m.yaml", "job": "a",
        "model": "claude-x", "tool": "code_execution_20250825",
        "inputs": [{"path": "d.csv", "name": "d.csv", "size": 10, "blake3": "ab".repeat(32), "file_id": "file_1"}],
        "outputs": outputs.iter().map(|n| json!({"name": n, "path": format!("files/{n}"), "size": 3, "blake3": "cd".repeat(32), "turn": 1})).collect::<Vec<_>>(),
        "requests": [{"request_id": "req_123", "turn": 0, "continuation": 0, "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 7}}],
        "usage": {"input_tokens": 5, "output_tokens": 7},
        "started_at": "2026-11-30T01:00:00Z", "finished_at": "2026-11-30T01:01:30Z",
    });
    if let Some(usd) = cost {
        v["cost"] = json!({"usd": usd});
    }
    if status == "failed" {
        v["error"] =
            json!({"kind": "api", "message": "529 <b>overloaded</b>", "request_id": "req_9"});
    }
    v
}

fn line(dir: &str, status: &str, changed: Option<bool>) -> Value {
    let mut l = json!({"manifest": "jobs/m.yaml", "job": dir.rsplit('/').next(), "status": status, "dir": dir, "fingerprint": "blake3:00"});
    if let Some(c) = changed {
        l["changed"] = json!(c);
    }
    l
}

fn run(started: &str, lines: Vec<Value>, cost: Option<f64>) -> Value {
    let mut r = json!({"runner_version": "0.1.0", "started_at": started, "finished_at": "2026-11-30T01:05:00Z",
        "exit_code": 1, "counts": {"total": lines.len(), "succeeded": 1, "failed": 1, "fresh": 0, "interrupted": 0},
        "usage": {"input_tokens": 10, "output_tokens": 20}, "jobs": lines});
    if let Some(usd) = cost {
        r["cost"] = json!({"usd": usd});
    }
    r
}

/// A page with minijinja's `/` escape undone, so assertions can name paths.
fn read_page(path: &Utf8Path) -> String {
    fs_err::read_to_string(path).unwrap().replace("&#x2f;", "/")
}

fn tree() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
    (dir, out)
}

#[test]
fn history_and_cost_light_up_the_index_when_present() {
    let (_dir, out) = tree();
    put(
        &out.join("m/a/job.json"),
        &job_json("succeeded", &["plot.png"], Some(0.0123)),
    );
    crate::atomic::write(&out.join("m/a/files/plot.png"), b"png").unwrap();
    put(&out.join("m/b/job.json"), &job_json("failed", &[], None));
    let mut failed = line("m/b", "failed", None);
    failed["attempt"] = json!("runs/20261130T010000Z/m/b");
    let latest = vec![line("m/a", "succeeded", Some(true)), failed];
    put(
        &out.join("run.json"),
        &run("2026-11-30T01:00:00Z", latest.clone(), Some(1.5)),
    );
    put(
        &out.join("runs/20261129T010000Z/run.json"),
        &run(
            "2026-11-29T01:00:00Z",
            vec![
                line("m/a", "succeeded", Some(false)),
                line("m/b", "succeeded", None),
            ],
            None,
        ),
    );
    put(
        &out.join("runs/20261130T010000Z/run.json"),
        &run("2026-11-30T01:00:00Z", latest, Some(1.5)),
    );
    put(
        &out.join("runs/20261130T010000Z/m/b/job.json"),
        &job_json("failed", &[], None),
    );
    crate::atomic::write(&out.join("runs/20261130T010000Z/m/b/report.md"), b"# m/b").unwrap();

    let site = write_site(&out).unwrap();
    assert_eq!(site.job_pages, 3, "two job folders and one failed attempt");
    assert!(site.failed.is_empty());
    let index = read_page(&out.join("index.html"));
    assert!(index.contains("$1.5000"), "run cost");
    assert!(index.contains("$0.0123"), "job cost");
    assert!(
        index.contains("outputs changed"),
        "m/a's line says its outputs changed"
    );
    assert_eq!(index.matches("outputs changed").count(), 1);
    assert!(
        index.contains("href=\"runs/20261130T010000Z/m/b/report.html\""),
        "failed attempt link: its page, written from its job.json"
    );
    assert!(
        index.contains("title=\"20261129T010000Z: succeeded\""),
        "status strip"
    );
    assert!(
        index.contains("&lt;b&gt;overloaded&lt;/b&gt;"),
        "error message escaped"
    );
    assert!(
        !index.contains("data-id=\"runs/"),
        "the history is not a manifest"
    );
    let page = read_page(&out.join("m/a/report.html"));
    assert!(page.contains("$0.0123") && page.contains("req_123") && page.contains("abababababab"));
}

#[test]
fn without_history_or_cost_the_page_says_so() {
    let (_dir, out) = tree();
    put(&out.join("m/a/job.json"), &job_json("succeeded", &[], None));
    put(
        &out.join("run.json"),
        &run(
            "2026-11-30T01:00:00Z",
            vec![line("m/a", "succeeded", None)],
            None,
        ),
    );
    write_site(&out).unwrap();
    let index = read_page(&out.join("index.html"));
    assert!(index.contains("cost <strong>—</strong>"), "{index}");
    assert!(!index.contains("outputs changed"));
    assert!(!index.contains("failed attempt"));
}

#[test]
fn hostile_names_and_text_stay_inert() {
    let (_dir, out) = tree();
    let evil = "\"><img src=x onerror=alert(1)>.png";
    let mut record = job_json("succeeded", &[evil, "a#b%20c.png"], None);
    record["model"] = json!("<script>alert(1)</script>");
    put(&out.join("m/a/job.json"), &record);
    // A name with `/` never becomes a link, however it got into job.json.
    crate::atomic::write(&out.join("m/a/files").join(evil), b"x").unwrap();
    crate::atomic::write(&out.join("m/a/files/a#b%20c.png"), b"x").unwrap();
    crate::atomic::write(
        &out.join("m/a/report.md"),
        b"# m/a\n\n<script>alert(2)</script>\n\nSee [x](javascript:alert(3)) ![t](https://example.com/t.png)\n",
    )
    .unwrap();
    write_site(&out).unwrap();
    for page in ["index.html", "m/a/report.html"] {
        let html = read_page(&out.join(page));
        assert!(!html.contains("<img src=x"), "{page}");
        assert!(!html.contains("<script>alert"), "{page}");
        assert!(!html.contains("href=\"javascript"), "{page}");
        assert!(!html.contains("src=\"http"), "{page}: no remote image");
        assert!(
            html.contains("a%23b%2520c.png"),
            "{page}: hrefs are percent-encoded"
        );
    }
}

#[test]
fn a_missing_or_odd_job_json_does_not_stop_the_index() {
    let (_dir, out) = tree();
    crate::atomic::write(&out.join("m/a/job.json"), b"{not json").unwrap();
    put(
        &out.join("run.json"),
        &json!({"jobs": [{"dir": "../../etc", "status": "failed"}, {"dir": "m/a", "status": 7}]}),
    );
    let site = write_site(&out).unwrap();
    assert_eq!(site.job_pages, 0);
    let index = read_page(&out.join("index.html"));
    assert!(!index.contains("etc"), "a dir outside OUT is ignored");
    assert!(index.contains("data-id=\"m/a\""));
}

#[test]
fn deliverables_come_first_on_the_pages() {
    let record = json!({"outputs": [
        {"name": "scratch.csv"},
        {"name": "plot.png", "satisfies": ["*.png"]},
        {"name": "notes.txt", "satisfies": []},
        {"name": "summary.md", "satisfies": ["summary.md"]},
    ]});
    let names: Vec<String> = super::disk::outputs_deliverables_first(&record)
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["plot.png", "summary.md", "scratch.csv", "notes.txt"]
    );
}

#[test]
fn office_files_are_previewed_on_both_pages_and_their_text_is_escaped() {
    use fake_anthropic::office;
    let (_dir, out) = tree();
    let names = [
        "book.xlsx",
        "deck.pptx",
        "notes.docx",
        "paper.pdf",
        "broken.xlsx",
    ];
    put(
        &out.join("m/a/job.json"),
        &job_json("succeeded", &names, None),
    );
    let cells = vec![
        vec!["<script>alert(1)</script>".to_owned(), "7".to_owned()],
        vec!["<b>bold</b>".to_owned(), "2.5".to_owned()],
    ];
    let files = out.join("m/a/files");
    let write = |name: &str, bytes: &[u8]| crate::atomic::write(&files.join(name), bytes).unwrap();
    write("book.xlsx", &office::workbook(&[("Q<1>", cells)]));
    write(
        "deck.pptx",
        &office::deck(&["Intro \"x\"", "<img src=x onerror=alert(2)>"]),
    );
    write(
        "notes.docx",
        &office::document("Findings & more", &["First paragraph."]),
    );
    write("paper.pdf", &office::pdf(2));
    write("broken.xlsx", b"PK\x03\x04 not really");
    write_site(&out).unwrap();
    for page in ["index.html", "m/a/report.html"] {
        let html = read_page(&out.join(page));
        assert!(
            html.contains("<td>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</td>")
                || html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"),
            "{page}: {html}"
        );
        assert!(!html.contains("<script>alert"), "{page}");
        assert!(!html.contains("<img src=x"), "{page}");
        assert!(html.contains("Q&lt;1&gt;"), "{page}: the sheet name");
        assert!(html.contains("<td>7</td>"), "{page}");
        assert!(
            html.contains("Intro &quot;x&quot;"),
            "{page}: a slide title"
        );
        assert!(html.contains("2 slides"), "{page}");
        assert!(
            html.contains("href=\"files/broken.xlsx\"") || html.contains("files/broken.xlsx\""),
            "{page}: still linked"
        );
    }
    let page = read_page(&out.join("m/a/report.html"));
    assert!(page.contains("2 pages"), "the PDF");
    assert!(
        page.contains("<p class=\"h h1\">Findings &amp; more</p>"),
        "{page}"
    );
    assert!(page.contains("<p>First paragraph.</p>"), "{page}");
    let index = read_page(&out.join("index.html"));
    assert_eq!(
        index.matches("class=\"office\"").count(),
        2,
        "a card previews two files at most"
    );
}

fn with_id(mut run: Value, id: &str) -> Value {
    run["run_id"] = json!(id);
    run
}

#[test]
fn runs_with_nothing_to_do_are_one_line_under_the_night_that_did_something() {
    let (_dir, out) = tree();
    put(
        &out.join("m/a/job.json"),
        &job_json("succeeded", &[], Some(0.5)),
    );
    let night = with_id(
        run(
            "2026-11-30T01:00:00Z",
            vec![line("m/a", "failed", None)],
            Some(0.25),
        ),
        "20261130T010000Z-0001",
    );
    put(&out.join("runs/20261130T010000Z-0001/run.json"), &night);
    let mut latest = Value::Null;
    for (id, at) in [
        ("20261130T090000Z-0001", "2026-11-30T09:00:00Z"),
        ("20261130T091400Z-0001", "2026-11-30T09:14:07Z"),
    ] {
        latest = with_id(run(at, vec![line("m/a", "fresh", None)], None), id);
        put(&out.join("runs").join(id).join("run.json"), &latest);
    }
    put(&out.join("run.json"), &latest);
    write_site(&out).unwrap();
    let index = read_page(&out.join("index.html"));
    assert!(
        index.contains("data-run=\"20261130T010000Z-0001\""),
        "{index}"
    );
    assert!(
        index.contains("cost <strong>$0.2500</strong>"),
        "the night's cost"
    );
    assert!(
        index.contains("Then nothing to do in 2 runs, the last at 2026-11-30 09:14:07 UTC"),
        "{index}"
    );
    assert!(
        index.contains("data-tonight=\"failed\""),
        "the night's line: {index}"
    );
    assert!(index.contains("id=\"legend\""), "a strip has a legend");

    // The night that did something is pruned: the page says so, and leads with no run.
    fs_err::remove_dir_all(out.join("runs/20261130T010000Z-0001")).unwrap();
    write_site(&out).unwrap();
    let index = read_page(&out.join("index.html"));
    assert!(!index.contains("id=\"run-summary\""), "{index}");
    assert!(index.contains("no longer kept"), "{index}");
    assert!(index.contains("data-status=\"fresh\""), "{index}");
}

#[test]
fn cards_come_failures_first_and_the_strip_has_a_legend() {
    let (_dir, out) = tree();
    let mut lines = Vec::new();
    for (name, status) in [
        ("a", "succeeded"),
        ("b", "not_started"),
        ("c", "alert"),
        ("d", "interrupted"),
        ("e", "failed"),
        ("f", "fresh"),
    ] {
        put(
            &out.join("m").join(name).join("job.json"),
            &job_json("succeeded", &[], None),
        );
        let mut l = line(&format!("m/{name}"), status, None);
        if status == "alert" {
            l["status"] = json!("succeeded");
            l["alerts"] = json!([{"message": "rows fell"}]);
        }
        lines.push(l);
    }
    put(
        &out.join("run.json"),
        &run("2026-11-30T01:00:00Z", lines, None),
    );
    write_site(&out).unwrap();
    let index = read_page(&out.join("index.html"));
    let order: Vec<&str> = index
        .split("data-id=\"m/")
        .skip(1)
        .map(|rest| &rest[..1])
        .collect();
    assert_eq!(order, ["e", "c", "d", "b", "a", "f"]);
    let legend = &index[index.find("id=\"legend\"").unwrap()..];
    let legend = &legend[..legend.find("</div>").unwrap()];
    for status in ["failed", "interrupted", "not started", "succeeded", "fresh"] {
        assert!(
            legend.contains(&format!("</span></span> {status}</span>")),
            "{legend}"
        );
    }
}
