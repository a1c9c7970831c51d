//! The morning page in a real browser (Debian's `chromium`, headless, driven over the
//! DevTools protocol by chromiumoxide) on an output tree from real runs against the fake
//! API: a failed job, a fresh job, a succeeded job with hostile content (a generated file
//! named `"><img src=x onerror=alert(1)>.png`, `<script>` and `javascript:` links in the
//! text the model wrote). Screenshots go to `target/browser-artifacts/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::{
    MediaFeature, SetDeviceMetricsOverrideParams, SetEmulatedMediaParams,
};
use chromiumoxide::cdp::browser_protocol::log::{EnableParams as LogEnable, EventEntryAdded};
use chromiumoxide::cdp::browser_protocol::page::{
    EventJavascriptDialogOpening, HandleJavaScriptDialogParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::{Page, ScreenshotParams};
use fake_anthropic::FakeServer;
use futures_util::StreamExt;
use serde_json::Value;

use crate::harness::{Sandbox, manifest};

const HOSTILE_PNG: &str = "\"><img src=x onerror=alert(1)>.png";
const HOSTILE_CELL: &str = "<script>alert(3)</script>";

/// The text of the first element `selector` matches, if it is shown (laid out).
async fn visible_text(page: &Page, selector: &str) -> Value {
    let js = format!(
        "(() => {{ const e = document.querySelector({}); \
         return e && e.offsetParent !== null ? e.textContent : null; }})()",
        serde_json::to_string(selector).unwrap()
    );
    eval(page, &js).await
}

fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
    found.unwrap_or_else(|| {
        panic!(
            "the browser test needs Chromium: install Debian's `chromium` \
             (`apt-get install -y chromium`; .ci/run does this) and run again"
        )
    })
}

/// Three jobs: `nightly/fresh-one` ran in the first run and is fresh in the second;
/// `nightly/hostile` succeeds with hostile content and a follow-up that saves `plot.png`
/// again; `nightly/broken` fails with a 400.
fn night() -> Sandbox {
    let sb = Sandbox::new();
    let hostile_name = serde_json::to_string(HOSTILE_PNG).unwrap();
    // YAML block scalars keep the text as written; the fake quotes the first line.
    let jobs = format!(
        "  - name: fresh-one\n    inputs: [data/a.csv]\n    prompt: Summarise the file.\n\
         \x20 - name: hostile\n    inputs: [data/a.csv]\n    prompt: |\n      \
         <script>alert('x')</script> see [click me](javascript:alert(1)) <img src=x onerror=alert(2)>\n      \
         @fake image {hostile_name}\n      @fake tool-error bash execution_time_exceeded\n    follow_up:\n      - Plot it again.\n\
         \x20 - name: broken\n    inputs: [data/a.csv]\n    prompt: |\n      Fail please.\n      \
         @fake fail 400 invalid_request_error\n"
    );
    sb.file("data/a.csv", "k,v\n1,2\n3,4\n")
        .file("nightly.yaml", manifest(&jobs));
    sb
}

/// What the page reported while it was open.
#[derive(Default)]
struct Seen {
    console_errors: Vec<String>,
    dialogs: Vec<String>,
}

async fn watch(page: &Page, seen: &Arc<Mutex<Seen>>) {
    page.execute(LogEnable::default()).await.unwrap();
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let mut thrown = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let mut logs = page.event_listener::<EventEntryAdded>().await.unwrap();
    let mut dialogs = page
        .event_listener::<EventJavascriptDialogOpening>()
        .await
        .unwrap();
    let s = Arc::clone(seen);
    tokio::spawn(async move {
        while let Some(e) = console.next().await {
            if matches!(
                e.r#type,
                ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
            ) {
                s.lock()
                    .unwrap()
                    .console_errors
                    .push(format!("console: {:?}", e.args));
            }
        }
    });
    let s = Arc::clone(seen);
    tokio::spawn(async move {
        while let Some(e) = thrown.next().await {
            s.lock()
                .unwrap()
                .console_errors
                .push(format!("exception: {:?}", e.exception_details));
        }
    });
    let s = Arc::clone(seen);
    tokio::spawn(async move {
        while let Some(e) = logs.next().await {
            let level = format!("{:?}", e.entry.level);
            if level.eq_ignore_ascii_case("error") {
                s.lock()
                    .unwrap()
                    .console_errors
                    .push(format!("log: {}", e.entry.text));
            }
        }
    });
    let s = Arc::clone(seen);
    let p = page.clone();
    tokio::spawn(async move {
        while let Some(e) = dialogs.next().await {
            s.lock().unwrap().dialogs.push(e.message.clone());
            let _ = p.execute(HandleJavaScriptDialogParams::new(false)).await;
        }
    });
}

/// Where the screenshots go.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// JavaScript that picks `value` in the `<select>` with this id, as a click would.
fn choose(select: &str, value: &str) -> String {
    format!(
        "{{ const s = document.getElementById('{select}'); s.value = '{value}'; \
         s.dispatchEvent(new Event('change')); }}"
    )
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

async fn eval(page: &Page, js: &str) -> Value {
    page.evaluate(js).await.unwrap().into_value().unwrap()
}

/// Every `href` and `src` on the page, resolved, must name a file that exists.
async fn assert_links_resolve(page: &Page, what: &str) {
    let urls = eval(
        page,
        "[...document.querySelectorAll('a[href]')].map(a => a.href)\
         .concat([...document.images].map(i => i.src))",
    )
    .await;
    let urls = urls.as_array().unwrap();
    assert!(!urls.is_empty(), "{what}: no links at all");
    for url in urls {
        let url = url.as_str().unwrap();
        let path = url
            .strip_prefix("file://")
            .unwrap_or_else(|| panic!("{what}: {url} leaves the output tree"));
        let path = path.split(['#', '?']).next().unwrap();
        let decoded = percent_decode(path);
        assert!(
            Path::new(&decoded).is_file(),
            "{what}: {url} → {decoded} does not exist"
        );
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Nothing the model wrote became markup: no element with an event handler, no `<img>`
/// without a real source, and only the page's own scripts.
async fn assert_inert(page: &Page, what: &str, own_scripts: u64) {
    let found = eval(
        page,
        "({scripts: document.scripts.length,\
           handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).map(e => e.outerHTML.slice(0, 80)),\
           js_links: [...document.querySelectorAll('a[href]')].filter(a => a.href.startsWith('javascript:')).length,\
           pwned: typeof window.__pwned})",
    )
    .await;
    assert_eq!(found["scripts"], own_scripts, "{what}: {found}");
    assert_eq!(found["handlers"], serde_json::json!([]), "{what}: {found}");
    assert_eq!(found["js_links"], 0, "{what}: {found}");
}

async fn assert_images_decode(page: &Page, what: &str, at_least: usize) {
    // Loading finished with the load event; decode() settles each image either way.
    let images = eval(
        page,
        "Promise.all([...document.images].map(i => i.decode().catch(() => null)))\
         .then(() => [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]))",
    )
    .await;
    let images = images.as_array().unwrap();
    assert!(images.len() >= at_least, "{what}: {images:?}");
    for image in images {
        assert!(
            image[1].as_u64().unwrap() > 0,
            "{what}: {image} did not decode"
        );
    }
}

#[test]
fn the_morning_page_works_in_a_real_browser() {
    let chromium = chromium();
    let fake = FakeServer::start();
    let sb = night();
    sb.cmd_against(&fake, ["run", "nightly.yaml", "--only", "fresh-one"])
        .assert()
        .success();
    sb.cmd_against(&fake, ["run", "nightly.yaml"])
        .assert()
        .code(1);
    let out = sb.root.join("out");
    let run = sb.read_json("out/run.json");
    let statuses: Vec<(String, String)> = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["dir"].as_str().unwrap().to_owned(),
                l["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("nightly/broken", "failed"),
        ("nightly/fresh-one", "fresh"),
        ("nightly/hostile", "succeeded"),
    ]
    .map(|(d, s)| (d.to_owned(), s.to_owned()));
    assert_eq!(statuses, expected);
    // An office file as an Agent Skill writes it (the fake's model does not yet), with a
    // hostile cell; the pages are rebuilt from disk with its preview.
    let cells = vec![vec![HOSTILE_CELL.to_owned(), "7".to_owned()]];
    let book = fake_anthropic::office::workbook(&[("Totals", cells)]);
    let csv = format!("k,v\n\"{HOSTILE_CELL}\",7\n").into_bytes();
    sb.add_outputs(
        "out/nightly/hostile",
        &[("book.xlsx", book), ("t.csv", csv)],
    );
    sb.cmd(["report", "-o", "out"]).assert().success();
    // The newest plot.png (turn 2) has the plain name.
    let job = sb.read_json("out/nightly/hostile/job.json");
    let plot = job["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "plot.png")
        .unwrap();
    assert_eq!(plot["turn"], 1, "{job}");

    let artifacts = artifacts();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut browser, driver) = launch(&chromium, profile.path()).await;

        let seen = Arc::new(Mutex::new(Seen::default()));
        let page = browser.new_page("about:blank").await.unwrap();
        watch(&page, &seen).await;
        page.goto(file_url(&out.join("index.html"))).await.unwrap();
        page.wait_for_navigation().await.unwrap();

        let cards = eval(
            &page,
            "[...document.querySelectorAll('.job')].map(c => [c.dataset.id, c.dataset.status])",
        )
        .await;
        let cards: Vec<(String, String)> = serde_json::from_value(cards).unwrap();
        assert_eq!(cards, expected, "every job listed with its status");
        assert_links_resolve(&page, "index").await;
        assert_images_decode(&page, "index", 2).await;
        assert_inert(&page, "index", 1).await;
        let cell = ".job[data-id=\"nightly/hostile\"] .preview.workbook td";
        assert_eq!(
            visible_text(&page, cell).await,
            HOSTILE_CELL,
            "the workbook's preview is on its card, as text"
        );
        let warning = visible_text(&page, ".job[data-id=\"nightly/hostile\"] .warning").await;
        assert!(
            warning.as_str().is_some_and(|w| w.contains("execution_time_exceeded")),
            "the tool error is a warning on its card: {warning}"
        );

        // Filters: by status, by manifest, and back to all.
        let shown = |status: &'static str, manifest: &'static str| {
            let page = page.clone();
            async move {
                let js = format!(
                    "(() => {{ {} {} \
                     return [...document.querySelectorAll('.job')].filter(c => c.offsetParent !== null).map(c => c.dataset.id); }})()",
                    choose("filter-status", status),
                    choose("filter-manifest", manifest),
                );
                eval(&page, &js).await
            }
        };
        assert_eq!(shown("failed", "").await, serde_json::json!(["nightly/broken"]));
        assert_eq!(shown("fresh", "nightly").await, serde_json::json!(["nightly/fresh-one"]));
        assert_eq!(shown("", "nightly").await.as_array().unwrap().len(), 3);
        assert_eq!(shown("succeeded", "").await, serde_json::json!(["nightly/hostile"]));
        shown("", "").await;
        let shot = page
            .screenshot(ScreenshotParams::builder().full_page(true).build())
            .await
            .unwrap();
        std::fs::write(artifacts.join("index.png"), shot).unwrap();

        for job in ["hostile", "broken", "fresh-one"] {
            let what = format!("nightly/{job}/report.html");
            page.goto(file_url(&out.join(&what))).await.unwrap();
            page.wait_for_navigation().await.unwrap();
            assert_links_resolve(&page, &what).await;
            assert_images_decode(&page, &what, if job == "broken" { 0 } else { 1 }).await;
            assert_inert(&page, &what, 0).await;
            let text = eval(&page, "document.body.innerText").await;
            let text = text.as_str().unwrap();
            if job == "hostile" {
                assert_eq!(
                    visible_text(&page, "tr.preview-row .preview.workbook td").await,
                    HOSTILE_CELL,
                    "the workbook's preview is under its row, as text"
                );
                let csv_cell = format!(
                    "[...document.querySelectorAll('tr.preview-row .preview.table td')]\
                     .some(td => td.offsetParent !== null && td.textContent === {})",
                    serde_json::to_string(HOSTILE_CELL).unwrap()
                );
                assert_eq!(eval(&page, &csv_cell).await, true, "a CSV's preview, as text");
                assert!(visible_text(&page, "#tool-errors").await.is_string());
                assert!(text.contains("<script>alert('x')</script>"), "shown as text");
                assert!(text.contains(HOSTILE_PNG), "the API's name, shown as text");
                let shot = page
                    .screenshot(ScreenshotParams::builder().full_page(true).build())
                    .await
                    .unwrap();
                std::fs::write(artifacts.join("job.png"), shot).unwrap();
            }
        }
        // On a phone, in dark mode: the colours follow the system and nothing is wider
        // than the screen.
        page.goto(file_url(&out.join("index.html"))).await.unwrap();
        page.wait_for_navigation().await.unwrap();
        let background = "getComputedStyle(document.body).backgroundColor";
        let light = eval(&page, background).await;
        page.execute(SetEmulatedMediaParams {
            media: None,
            features: Some(vec![MediaFeature {
                name: "prefers-color-scheme".into(),
                value: "dark".into(),
            }]),
        })
        .await
        .unwrap();
        page.execute(SetDeviceMetricsOverrideParams::new(390, 844, 2.0, true))
            .await
            .unwrap();
        assert_ne!(eval(&page, background).await, light, "dark mode");
        for what in ["index.html", "nightly/hostile/report.html"] {
            page.goto(file_url(&out.join(what))).await.unwrap();
            page.wait_for_navigation().await.unwrap();
            let overflow = eval(
                &page,
                "document.documentElement.scrollWidth - document.documentElement.clientWidth",
            )
            .await;
            assert!(overflow.as_i64().unwrap() <= 0, "{what} is wider than a phone: {overflow}");
            if what == "index.html" {
                let shot = page
                    .screenshot(ScreenshotParams::builder().full_page(true).build())
                    .await
                    .unwrap();
                std::fs::write(artifacts.join("index-phone-dark.png"), shot).unwrap();
            }
        }

        let (dialogs, console_errors) = {
            let seen = seen.lock().unwrap();
            (seen.dialogs.clone(), seen.console_errors.clone())
        };
        assert_eq!(dialogs, Vec::<String>::new(), "no dialog opened");
        assert_eq!(console_errors, Vec::<String>::new(), "the console has no errors");
        browser.close().await.unwrap();
        let _ = browser.wait().await;
        driver.abort();
    });
}

/// Headless Chromium with its own profile, and the task that drives it.
async fn launch(chromium: &Path, profile: &Path) -> (Browser, tokio::task::JoinHandle<()>) {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile)
        .window_size(1100, 900)
        .arg("--allow-file-access-from-files")
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config).await.unwrap();
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
    (browser, driver)
}

/// The manifest of the three nights below; `flaky` is what `c-flaky`'s prompt adds.
fn three_jobs(flaky: &str) -> String {
    manifest(&format!(
        "  - name: a-good\n    prompt: Go.\n\
         \x20 - name: b-alert\n    inputs: [data/b.csv]\n    prompt: Count it.\n    metrics: metrics.json\n    alert: {{ bytes: \"±10%\" }}\n\
         \x20 - name: c-flaky\n    prompt: |\n      Go.\n{flaky}"
    ))
}

/// What a reader takes from the page: the headline, each card in order with what it says
/// of tonight and of the result it shows.
const STORY: &str = "({run: document.getElementById('run-summary').dataset.run,\
    headline: document.getElementById('run-summary').innerText,\
    cards: [...document.querySelectorAll('.job')].map(c => [c.dataset.id,\
      c.querySelector('.tonight') && c.querySelector('.tonight').innerText,\
      c.querySelector('.made') && c.querySelector('.made').innerText])})";

/// Each status of the legend with its swatch's colour, and the colours of `id`'s strip.
fn colours(id: &str) -> String {
    format!(
        "({{legend: [...document.querySelectorAll('#legend .key')].filter(k => k.offsetParent !== null)\
           .map(k => [k.innerText.trim(), getComputedStyle(k.querySelector('.strip span')).backgroundColor]),\
          strip: [...document.querySelectorAll('.job[data-id=\"{id}\"] .strip span')]\
           .map(s => [s.className, getComputedStyle(s).backgroundColor])}})"
    )
}

/// Three nights: a clean one; a bad one (`c-flaky`'s prompt now makes the API refuse it,
/// `b-alert`'s input grew past its alert, `a-good` is fresh); then the prompt is put back
/// and the rerun finds every job fresh. After the bad night and after the rerun, the page
/// reads the same: that night, failures first, tonight's failure beside the last good
/// result and when it was made, and a legend for the strip.
#[test]
fn after_a_bad_night_and_a_rerun_the_page_tells_the_same_story() {
    let chromium = chromium();
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/b.csv", "x\n1\n")
        .file("m.yaml", three_jobs(""));
    sb.cmd_against(&fake, ["run", "-q", "m.yaml"])
        .assert()
        .success();
    let good: jiff::Timestamp = sb.read_json("out/m/c-flaky/job.json")["finished_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let label = format!(
        "last good result from {}",
        good.strftime("%Y-%m-%d %H:%M UTC")
    );
    sb.file("data/b.csv", "x\n1\n2\n3\n4\n").file(
        "m.yaml",
        three_jobs("      @fake fail 400 invalid_request_error\n"),
    );
    sb.cmd_against(&fake, ["run", "-q", "m.yaml"])
        .assert()
        .code(1);
    let bad = sb.read_json("out/run.json");
    assert_eq!(bad["counts"]["alert"], 1, "{bad}");
    let index = sb.root.join("out/index.html");
    let artifacts = artifacts();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut browser, driver) = launch(&chromium, profile.path()).await;
        let page = browser.new_page("about:blank").await.unwrap();
        page.goto(file_url(&index)).await.unwrap();
        page.wait_for_navigation().await.unwrap();
        let story = eval(&page, STORY).await;
        assert_eq!(story["run"], bad["run_id"], "{story}");
        let ids: Vec<&str> = story["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[0].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["m/c-flaky", "m/b-alert", "m/a-good"],
            "failures first"
        );
        let flaky = &story["cards"][0];
        let tonight = flaky[1].as_str().unwrap();
        assert!(tonight.starts_with("tonight: failed"), "{tonight}");
        assert!(tonight.contains("invalid_request_error"), "why: {tonight}");
        assert!(flaky[2].as_str().unwrap().contains(&label), "{flaky}");
        assert_eq!(
            story["cards"][2][1],
            Value::Null,
            "a fresh card has no attempt"
        );

        // The legend: five statuses, five colours, the strip's squares in them.
        let seen = eval(&page, &colours("m/c-flaky")).await;
        let legend: Vec<(String, String)> = serde_json::from_value(seen["legend"].clone()).unwrap();
        let words: Vec<&str> = legend.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(
            words,
            ["failed", "interrupted", "not started", "succeeded", "fresh"]
        );
        let mut distinct: Vec<&str> = legend.iter().map(|(_, c)| c.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 5, "one colour each: {legend:?}");
        let strip: Vec<(String, String)> = serde_json::from_value(seen["strip"].clone()).unwrap();
        assert_eq!(strip.len(), 2, "{strip:?}");
        for (status, colour) in &strip {
            let key = status.replace('_', " ");
            assert!(
                legend.contains(&(key, colour.clone())),
                "{status} {colour} in {legend:?}"
            );
        }

        // "by id", and back.
        let order = |value: &'static str| {
            let page = page.clone();
            async move {
                let js = format!(
                    "(() => {{ {} return [...document.querySelectorAll('.job')].map(c => c.dataset.id); }})()",
                    choose("order", value)
                );
                eval(&page, &js).await
            }
        };
        assert_eq!(
            order("id").await,
            serde_json::json!(["m/a-good", "m/b-alert", "m/c-flaky"])
        );
        assert_eq!(
            order("").await,
            serde_json::json!(["m/c-flaky", "m/b-alert", "m/a-good"])
        );

        // The prompt is put back: every job is fresh and the rerun has nothing to do.
        sb.file("m.yaml", three_jobs(""));
        sb.cmd_against(&fake, ["run", "-q", "m.yaml"])
            .assert()
            .success();
        let rerun = sb.read_json("out/run.json");
        assert_eq!(rerun["counts"]["fresh"], 3, "{rerun}");
        page.goto(file_url(&index)).await.unwrap();
        page.wait_for_navigation().await.unwrap();
        assert_eq!(eval(&page, STORY).await, story, "the same story");
        let quiet = visible_text(&page, "#quiet").await;
        assert!(
            quiet.as_str().unwrap().contains("nothing to do at"),
            "{quiet}"
        );
        let shot = page
            .screenshot(ScreenshotParams::builder().full_page(true).build())
            .await
            .unwrap();
        std::fs::write(artifacts.join("index-after-rerun.png"), shot).unwrap();
        browser.close().await.unwrap();
        let _ = browser.wait().await;
        driver.abort();
    });
}
