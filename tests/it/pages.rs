//! The pages a run writes (`index.html`, each `report.html`) and `runner report`, against
//! the fake API; the browser test (`browser.rs`) checks them in Chromium.

use fake_anthropic::FakeServer;

use crate::harness::Sandbox;

fn two_jobs() -> Sandbox {
    let sb = Sandbox::with_manifest(
        "  - name: ok\n    inputs: [data/a.csv]\n    prompt: Go.\n    follow_up: [Again.]\n\
             \x20 - name: bad\n    inputs: [data/a.csv]\n    prompt: |\n      No.\n      @fake stop max_tokens\n",
    );
    sb.file("data/a.csv", "k,v\n1,2\n");
    sb
}

#[test]
fn a_run_whose_jobs_failed_still_writes_the_index_and_job_pages() {
    let fake = FakeServer::start();
    let sb = two_jobs();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
    // minijinja escapes `/` in HTML as `&#x2f;`.
    let index = std::fs::read_to_string(sb.root.join("out/index.html"))
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(index.contains("data-id=\"m/bad\""), "{index}");
    assert!(index.contains("data-status=\"failed\""), "{index}");
    assert!(index.contains("max_tokens"), "the error kind is shown");
    for job in ["ok", "bad"] {
        let page =
            std::fs::read_to_string(sb.root.join(format!("out/m/{job}/report.html"))).unwrap();
        assert!(
            page.contains("req_"),
            "{job}: request ids in the provenance"
        );
    }
}

#[test]
fn the_newest_file_of_a_name_keeps_it_and_the_report_says_which_turn_made_it() {
    let fake = FakeServer::start();
    let sb = two_jobs();
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "ok"])
        .assert()
        .success();
    let job = sb.read_json("out/m/ok/job.json");
    let outputs = job["outputs"].as_array().unwrap();
    let by_name = |name: &str| {
        outputs
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {outputs:?}"))
    };
    assert_eq!(
        by_name("plot.png")["turn"],
        1,
        "turn 2's plot has the plain name"
    );
    assert_eq!(
        by_name("plot-2.png")["turn"],
        0,
        "turn 1's plot is numbered"
    );
    let report = sb.read("out/m/ok/report.md");
    assert!(report.contains("*plot.png, from turn 2*"), "{report}");
    assert!(report.contains("*plot-2.png, from turn 1*"), "{report}");
    assert!(report.contains("**Inputs:** a.csv (8 B, `"), "{report}");
    let run = sb.read_json("out/run.json");
    let line = &run["jobs"][0];
    assert!(line["duration_secs"].as_f64().unwrap() >= 0.0, "{line}");
    assert!(
        line["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{line}"
    );
    assert_eq!(
        line["outputs"].as_array().unwrap().len(),
        4,
        "the line names the saved files, both turns' plots and inventories: {line}"
    );
}

#[test]
fn report_rewrites_every_page_from_disk_without_the_network() {
    let fake = FakeServer::start();
    let sb = two_jobs();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
    let before = fake.stats().requests_total;
    for page in [
        "out/index.html",
        "out/m/ok/report.html",
        "out/m/bad/report.html",
    ] {
        std::fs::remove_file(sb.root.join(page)).unwrap();
    }
    // `cmd` points the API at a closed port: nothing may be needed from it.
    let done = sb.cmd(["report", "-o", "out"]).assert().success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    assert!(stderr.contains("2 job pages written"), "{stderr}");
    for page in [
        "out/index.html",
        "out/m/ok/report.html",
        "out/m/bad/report.html",
    ] {
        assert!(sb.root.join(page).is_file(), "{page}");
    }
    assert_eq!(fake.stats().requests_total, before);
    let empty = Sandbox::new();
    let failed = empty.cmd(["report", "-o", "nowhere"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(stderr.contains("runner run -o nowhere"), "{stderr}");
}

/// Every file under `dir` with its inode and modification time: what a rewrite changes
/// even when it writes the same bytes.
#[cfg(unix)]
fn stamps(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let mut stamps: Vec<_> = crate::harness::files_under(dir)
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).unwrap();
            (path, meta.ino(), meta.modified().unwrap())
        })
        .collect();
    stamps.sort();
    stamps
}

#[cfg(unix)]
#[test]
fn a_failed_night_leaves_the_last_good_folder_untouched_and_its_page_lands_with_it() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    prompt: Go.\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let folder = sb.root.join("out/m/ok");
    assert!(folder.join("report.html").is_file());
    let before = stamps(&folder);

    fake.push_faults(
        fake_anthropic::Endpoint::Messages,
        [fake_anthropic::Fault::status(400)],
    );
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .assert()
        .code(1);
    assert_eq!(stamps(&folder), before, "the last good folder was modified");
    // The failed attempt went to the run's history folder, whole, page included, and
    // its page links back to the index.
    let run = sb.read_json("out/run.json");
    let attempt = run["jobs"][0]["attempt"].as_str().unwrap().to_owned();
    let page = sb
        .read(&format!("out/{attempt}/report.html"))
        .replace("&#x2f;", "/");
    assert!(page.contains("href=\"../../../../index.html\""), "{page}");
}

#[test]
fn a_percent_encoded_image_path_out_of_the_job_folder_is_not_loaded() {
    let fake = FakeServer::start();
    // The fake's model quotes the prompt's first line in its answer: the report carries it.
    let sb = Sandbox::with_manifest(
        "  - name: j\n    prompt: \"![x](%2e%2e/%2e%2e/secret.png) ![y](files/plot.png)\"\n",
    );
    sb.file("secret.png", "not for the page");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let page = sb.read("out/m/j/report.html");
    assert!(!page.contains("src=\"%2e%2e"), "{page}");
    assert!(page.contains("src=\"files/plot.png\""), "{page}");
}

#[test]
fn office_files_are_previewed_on_the_index_and_the_job_page_as_text() {
    use fake_anthropic::office;
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    prompt: Go.\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let cells = vec![
        vec!["region".to_owned(), "sales".to_owned()],
        vec!["<script>alert(1)</script>".to_owned(), "12.5".to_owned()],
    ];
    sb.add_outputs(
        "out/m/ok",
        &[
            ("book.xlsx", office::workbook(&[("Totals", cells)])),
            ("deck.pptx", office::deck(&["Quarter <b>3</b>", "Next"])),
            ("notes.docx", office::document("Findings", &["It went up."])),
            ("paper.pdf", office::pdf(4)),
            ("corrupt.pptx", b"PK\x03\x04 cut short".to_vec()),
        ],
    );
    sb.cmd(["report", "-o", "out"]).assert().success();
    let index = sb.read("out/index.html").replace("&#x2f;", "/");
    let page = sb.read("out/m/ok/report.html").replace("&#x2f;", "/");
    for (what, html) in [("index", &index), ("report.html", &page)] {
        assert!(
            html.contains("<span class=\"name\">Totals</span>"),
            "{what}: {html}"
        );
        assert!(
            html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>12.5</td>"),
            "{what}: the cell, escaped"
        );
        assert!(!html.contains("<script>alert"), "{what}");
        assert!(
            html.contains("<li>Quarter &lt;b&gt;3&lt;/b&gt;</li>"),
            "{what}: a slide title"
        );
    }
    assert!(
        page.contains("<p class=\"h h1\">Findings</p><p>It went up.</p>"),
        "{page}"
    );
    assert!(page.contains("4 pages"), "{page}");
    assert!(
        page.contains("<a href=\"files/corrupt.pptx\">corrupt.pptx</a>"),
        "a plain link"
    );
    assert_eq!(
        page.matches("class=\"preview-row\"").count(),
        5,
        "all but the corrupt one, and the run's own inventory.csv"
    );
}

#[test]
fn a_success_whose_code_hit_a_tool_error_carries_a_warning_everywhere_it_is_read() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: slow\n    prompt: \"Go.\\n@fake tool-error bash execution_time_exceeded\"\n\
         \x20 - name: clean\n    prompt: Go.\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let job = sb.read_json("out/m/slow/job.json");
    assert_eq!(job["status"], "succeeded");
    let errors = job["tool_errors"].as_array().expect("job.json tool_errors");
    assert_eq!(errors.len(), 1, "{job}");
    assert_eq!(errors[0]["tool"], "bash_code_execution");
    assert_eq!(errors[0]["error_code"], "execution_time_exceeded");
    assert_eq!(errors[0]["turn"], 0);
    assert!(errors[0]["tool_use_id"].is_string());
    assert!(
        sb.read_json("out/m/clean/job.json")
            .get("tool_errors")
            .is_none()
    );

    let run = sb.read_json("out/run.json");
    assert_eq!(run["counts"]["tool_errors"], 1, "{run}");
    assert_eq!(run["counts"]["succeeded"], 2);
    let line = |dir: &str| {
        run["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["dir"] == dir)
            .unwrap()
            .clone()
    };
    assert_eq!(line("m/slow")["tool_errors"], 1);
    assert!(line("m/clean").get("tool_errors").is_none());

    let warning = "1 tool error: execution_time_exceeded (bash_code_execution); see the transcript";
    let report = sb.read("out/m/slow/report.md");
    assert!(
        report.contains(&format!(
            "**Status:** succeeded  \n**Warning:** {warning}  \n"
        )),
        "{report}"
    );
    let page = sb.read("out/m/slow/report.html");
    assert!(
        page.contains(&format!(
            "<div class=\"warning\" id=\"tool-errors\"><strong>warning</strong>: {warning}</div>"
        )),
        "{page}"
    );
    let index = sb.read("out/index.html");
    let card = |id: &str| {
        let at = index.find(&format!("data-id=\"{id}\"")).unwrap();
        let end = index[at..].find("</article>").unwrap();
        index[at..at + end].to_owned()
    };
    assert!(
        card("m&#x2f;slow").contains(&format!(
            "<div class=\"warning\"><strong>warning</strong>: {warning}</div>"
        )),
        "{index}"
    );
    assert!(!card("m&#x2f;clean").contains("class=\"warning\""));
    assert!(!sb.read("out/m/clean/report.md").contains("**Warning:**"));
}

#[test]
fn a_failed_attempt_links_its_own_page_which_runner_report_writes_again() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    prompt: Go.\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    fake.push_faults(
        fake_anthropic::Endpoint::Messages,
        [fake_anthropic::Fault::status(400)],
    );
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .assert()
        .code(1);
    let attempt = sb.read_json("out/run.json")["jobs"][0]["attempt"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = format!("href=\"{attempt}/report.html\">failed attempt");
    let index = sb.read("out/index.html").replace("&#x2f;", "/");
    assert!(index.contains(&link), "{index}");

    let page = sb.root.join("out").join(&attempt).join("report.html");
    std::fs::remove_file(&page).unwrap();
    let output = sb.cmd(["report", "-o", "out"]).assert().success();
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(stderr.contains("2 job pages written"), "{stderr}");
    let html = std::fs::read_to_string(&page).expect("runner report wrote the attempt's page");
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("href=\"../../../../index.html\""), "{html}");
    assert!(
        html.contains("<span class=\"badge failed\">failed</span>"),
        "{html}"
    );
    let index = sb.read("out/index.html").replace("&#x2f;", "/");
    assert!(index.contains(&link), "{index}");
}

#[test]
fn a_csv_file_is_previewed_on_its_page_as_escaped_text_and_a_broken_one_is_a_link() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    prompt: Go.\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let wide: String = (0..50)
        .map(|r| {
            let cells: Vec<String> = (0..30).map(|c| format!("r{r}c{c}")).collect();
            cells.join(",") + "\n"
        })
        .collect();
    sb.add_outputs(
        "out/m/ok",
        &[
            (
                "sales.csv",
                b"region,sales\n<script>alert(1)</script>,12.5\n".to_vec(),
            ),
            ("wide.csv", wide.into_bytes()),
            ("latin1.csv", b"caf\xe9,1\n".to_vec()),
        ],
    );
    sb.cmd(["report", "-o", "out"]).assert().success();
    let page = sb.read("out/m/ok/report.html").replace("&#x2f;", "/");
    assert!(
        page.contains(
            "<tr><td>region</td><td>sales</td></tr><tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>12.5</td></tr>"
        ),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("<td>r9c7</td></tr>"),
        "10 rows of 8 columns: {page}"
    );
    assert!(!page.contains("r10c0") && !page.contains("r0c8"), "{page}");
    assert_eq!(page.matches("first rows and columns").count(), 1);
    assert!(
        page.contains("<tr><td>name</td><td>size</td><td>blake3</td></tr>"),
        "{page}"
    );
    assert_eq!(
        page.matches("class=\"preview table\"").count(),
        3,
        "the run's inventory.csv and the two readable ones"
    );
    assert!(
        page.contains("<a href=\"files/latin1.csv\">latin1.csv</a>"),
        "a plain link"
    );
    let index = sb.read("out/index.html");
    assert!(
        !index.contains("class=\"preview table\""),
        "a card links CSV files only"
    );
}
