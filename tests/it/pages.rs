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

/// `OUT/index.html` with minijinja's `/` escape undone.
fn index(sb: &Sandbox) -> String {
    sb.read("out/index.html").replace("&#x2f;", "/")
}

/// The element that starts at the first `marker` and ends at the next `end`.
fn part<'a>(page: &'a str, marker: &str, end: &str) -> &'a str {
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {page}"));
    let len = page[start..]
        .find(end)
        .map_or(page.len() - start, |n| n + end.len());
    &page[start..start + len]
}

fn card<'a>(page: &'a str, id: &str) -> &'a str {
    part(page, &format!("data-id=\"{id}\""), "</article>")
}

/// A run.json timestamp as the page shows it, to the minute or the second.
fn shown(at: &serde_json::Value, format: &str) -> String {
    let t: jiff::Timestamp = at.as_str().unwrap().parse().unwrap();
    t.strftime(format).to_string()
}

#[test]
fn after_a_no_op_rerun_the_headline_is_still_the_night_that_did_work() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    prompt: Go.\n");
    sb.cmd_against(&fake, ["run", "-q", "m.yaml"])
        .assert()
        .success();
    let night = sb.read_json("out/run.json");
    assert!(night["cost"]["usd"].as_f64().unwrap() > 0.0, "{night}");
    let first = index(&sb);
    let headline = part(&first, "id=\"run-summary\"", "</div>").to_owned();
    assert!(
        headline.contains(&format!(
            "data-run=\"{}\"",
            night["run_id"].as_str().unwrap()
        )),
        "{headline}"
    );
    assert!(!first.contains("id=\"quiet\""), "{first}");

    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let noop = sb.read_json("out/run.json");
    assert_eq!(noop["counts"]["fresh"], 1, "{noop}");
    let second = index(&sb);
    assert_eq!(
        part(&second, "id=\"run-summary\"", "</div>"),
        headline,
        "the headline is the same night's"
    );
    let quiet = part(&second, "id=\"quiet\"", "</p>");
    assert!(
        quiet.contains(&format!(
            "nothing to do at {}",
            shown(&noop["started_at"], "%Y-%m-%d %H:%M:%S UTC")
        )),
        "{quiet}"
    );
    // The same story, but for the strip of past runs, which gains the rerun's square.
    let story = |page: &str| -> String {
        card(page, "m/ok")
            .lines()
            .filter(|l| !l.contains("class=\"strip\""))
            .collect()
    };
    assert_eq!(
        story(&first),
        story(&second),
        "the card tells the same story"
    );
}

#[test]
fn a_failed_card_labels_the_last_good_result_and_keeps_tonights_failure_apart() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: ok\n    inputs: [data/a.csv]\n    prompt: Go.\n");
    sb.file("data/a.csv", "k,v\n1,2\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let good = sb.read_json("out/m/ok/job.json");
    let label = format!(
        "last good result from {}",
        shown(&good["finished_at"], "%Y-%m-%d %H:%M UTC")
    );
    let good_cost = format!("${:.4}", good["cost"]["usd"].as_f64().unwrap());

    // The input changed, and tonight's request is refused.
    sb.file("data/a.csv", "k,v\n1,2\n3,4\n");
    for night in ["bad night", "the rerun"] {
        fake.push_faults(
            fake_anthropic::Endpoint::Messages,
            [fake_anthropic::Fault::status(400)],
        );
        sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
        let run = sb.read_json("out/run.json");
        let line = &run["jobs"][0];
        assert_eq!(line["status"], "failed", "{night}: {line}");
        let page = index(&sb);
        let card = card(&page, "m/ok");
        let tonight = part(card, "class=\"tonight", "</div>\n");
        let made = part(card, "class=\"made", "</div>");
        assert!(
            tonight.contains("data-tonight=\"failed\""),
            "{night}: {card}"
        );
        assert!(tonight.contains("tonight: failed"), "{night}: {tonight}");
        let error = &line["error"];
        for what in ["kind", "request_id"] {
            let value = error[what].as_str().unwrap();
            assert!(
                tonight.contains(value),
                "{night}: {what} {value} in {tonight}"
            );
        }
        assert!(
            tonight.contains(&format!("href=\"{}/", line["attempt"].as_str().unwrap())),
            "{night}: the link is to tonight's attempt: {tonight}"
        );
        assert!(made.contains(&label), "{night}: {made}");
        assert!(
            made.contains(&good_cost),
            "{night}: the result's cost: {made}"
        );
        assert!(!tonight.contains(&good_cost), "{night}: {tonight}");
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_force_run_shows_the_intact_results_with_a_tonight_note() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: a\n    prompt: go\n  - name: b\n    prompt: go\n  - name: c\n    prompt: go\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    fake.push_faults(
        fake_anthropic::Endpoint::Messages,
        [fake_anthropic::Fault::Hold],
    );
    let mut child = sb.spawn_against(&fake, &["run", "--force", "-j", "1", "m.yaml"]);
    assert!(fake.wait_until(std::time::Duration::from_secs(30), |s| s.held == 1));
    assert_eq!(
        crate::harness::signal_and_wait(&mut child, "-INT"),
        Some(130)
    );
    fake.release_held();
    let night = sb.read_json("out/run.json");
    let check = |page: &str, when: &str| {
        for line in night["jobs"].as_array().unwrap() {
            let id = line["dir"].as_str().unwrap();
            let status = line["status"].as_str().unwrap();
            assert!(["interrupted", "not_started"].contains(&status), "{line}");
            let card = card(page, id);
            let record = sb.read_json(&format!("out/{id}/job.json"));
            let label = format!(
                "last good result from {}",
                shown(&record["finished_at"], "%Y-%m-%d %H:%M UTC")
            );
            assert!(card.contains(&label), "{when}: {card}");
            let words = status.replace('_', " ");
            assert!(
                card.contains(&format!("tonight: {words}")),
                "{when}: {card}"
            );
            assert!(
                !card.contains("class=\"error"),
                "{when}: not shown as a failure: {card}"
            );
        }
    };
    check(&index(&sb), "after the interrupted run");
    // Every result is intact and fresh: the rerun has nothing to do.
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(sb.read_json("out/run.json")["counts"]["fresh"], 3);
    let page = index(&sb);
    assert!(
        part(&page, "id=\"run-summary\"", "</div>").contains(&format!(
            "data-run=\"{}\"",
            night["run_id"].as_str().unwrap()
        )),
        "{page}"
    );
    check(&page, "after the rerun");
}

#[test]
fn failed_and_alert_cards_come_first() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: alpha\n    prompt: Go.\n\
         \x20 - name: beta\n    inputs: [data/a.csv]\n    prompt: Count it.\n    metrics: metrics.json\n    alert: { files: \"<5\" }\n\
         \x20 - name: gamma\n    prompt: Go.\n\
         \x20 - name: zulu\n    prompt: |\n      No.\n      @fake fail 400 invalid_request_error\n",
    );
    sb.file("data/a.csv", "x,y\n1,2\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
    let run = sb.read_json("out/run.json");
    assert_eq!(run["counts"]["alert"], 1, "{run}");
    let page = index(&sb);
    let order: Vec<&str> = page
        .split("<article class=\"job")
        .skip(1)
        .map(|c| {
            let id = c.split("data-id=\"").nth(1).unwrap();
            &id[..id.find('"').unwrap()]
        })
        .collect();
    assert_eq!(order, ["m/zulu", "m/beta", "m/alpha", "m/gamma"]);
}
