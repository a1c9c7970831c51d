//! The morning page (docs/output.md §14): `OUT/index.html`, the latest run and one card per
//! job, and `report.html` in every job folder, rendered from what is on disk (`run.json`,
//! each `job.json`, `report.md`, `transcript.md`, and the run history under `OUT/runs/`
//! when there is one), so `runner report` and `runner run` produce the same pages. A run
//! writes each job's page into its staging folder and only the index at its end.
//!
//! Everything on those pages came from a server or the model, so it is untrusted: the
//! pages are built with minijinja templates (`templates/`, HTML auto-escaped), Markdown goes
//! through `markdown.rs` (raw HTML shown as text, unsafe links and remote images dropped),
//! hrefs are percent-encoded per path segment, and a Content-Security-Policy forbids any
//! fetch from the network and any script but the index's own filter. Pages are
//! self-contained (styles inline) and written with `atomic.rs`.

mod disk;
mod headline;
mod index;
mod job_page;
mod loose;
pub(crate) mod markdown;
#[cfg(test)]
mod tests;
mod tonight;
mod trend;

use std::sync::OnceLock;

use camino::{Utf8Path, Utf8PathBuf};
use minijinja::Environment;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

/// What a page could not do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SiteError {
    #[error("cannot render {page}: {source}")]
    Render {
        page: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What [`write_site`] wrote.
#[derive(Debug, Default)]
pub(crate) struct Site {
    pub index: Utf8PathBuf,
    pub job_pages: usize,
    /// Job folders whose page could not be written, with why; the index still links them.
    pub failed: Vec<SiteError>,
}

/// The index relative to a job folder in `OUT/<stem>/<job>`.
pub(crate) const INDEX_FROM_JOB: &str = "../../index.html";
/// The index relative to a failed attempt's folder, `OUT/runs/<run-id>/<stem>/<job>`.
pub(crate) const INDEX_FROM_ATTEMPT: &str = "../../../../index.html";

/// Writes every job folder's `report.html` and every kept failed attempt's, then
/// `OUT/index.html` (`runner report`). A job page that fails is recorded in
/// [`Site::failed`] and the rest go on; only the index failing is an error.
pub(crate) fn write_site(out: &Utf8Path) -> Result<Site, SiteError> {
    write_pages(out, true)
}

/// Writes `OUT/index.html` only (the end of `runner run`): each job's `report.html` landed
/// with its folder ([`write_job_page`]), so a run never touches a folder it did not write.
pub(crate) fn write_index(out: &Utf8Path) -> Result<Site, SiteError> {
    write_pages(out, false)
}

fn write_pages(out: &Utf8Path, job_pages: bool) -> Result<Site, SiteError> {
    let mut snapshot = disk::read(out);
    let generated_at = jiff::Timestamp::now();
    let mut site = Site {
        index: out.join("index.html"),
        ..Site::default()
    };
    for job in &mut snapshot.jobs {
        job.record = disk::read_record(&job.folder.join("job.json"));
        if job.record.is_none() {
            continue;
        }
        if job_pages {
            let page = job_page::view(job, generated_at, INDEX_FROM_JOB.to_owned());
            let path = out.join(&job.dir).join("report.html");
            match render("job.html", &page).and_then(|html| write(&path, &html)) {
                Ok(()) => site.job_pages += 1,
                Err(e) => site.failed.push(e),
            }
        }
        job.record = job.record.take().map(disk::for_index);
    }
    if job_pages {
        write_attempt_pages(out, &mut snapshot, &mut site);
    }
    let index = index::view(&snapshot, generated_at, &nonce(out, generated_at));
    let html = render("index.html", &index)?;
    write(&site.index, &html)?;
    Ok(site)
}

/// The page of each failed attempt the history keeps (`OUT/runs/<run-id>/<stem>/<job>/`
/// with a `job.json`), so its card links a page, not raw Markdown.
fn write_attempt_pages(out: &Utf8Path, snapshot: &mut disk::Snapshot, site: &mut Site) {
    for run in &mut snapshot.history {
        for (dir, file) in &mut run.attempts {
            let folder = out.join("runs").join(&run.id).join(dir.as_str());
            if !folder.join("job.json").is_file() {
                continue;
            }
            match write_job_page(&folder, dir, INDEX_FROM_ATTEMPT) {
                Ok(()) => {
                    site.job_pages += 1;
                    *file = "report.html";
                }
                Err(e) => site.failed.push(e),
            }
        }
    }
}

/// Writes `report.html` into a job folder from that folder's own `job.json`, `report.md`
/// and `transcript.md`: called on the staging folder, so the page lands with the rest
/// (docs/output.md §10, §14). `dir` is `<stem>/<job>`; `index_href` the index from where
/// the folder will land.
pub(crate) fn write_job_page(
    folder: &Utf8Path,
    dir: &str,
    index_href: &str,
) -> Result<(), SiteError> {
    let job = disk::JobOnDisk {
        dir: dir.to_owned(),
        stem: dir.split('/').next().unwrap_or_default().to_owned(),
        line: None,
        record: disk::read_json(&folder.join("job.json")),
        folder: folder.to_owned(),
    };
    let page = job_page::view(&job, jiff::Timestamp::now(), index_href.to_owned());
    write(&folder.join("report.html"), &render("job.html", &page)?)
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates are auto-escaped (minijinja's default for that extension);
        // the style and script are ours and are included verbatim.
        for (name, source) in [
            ("index.html", include_str!("templates/index.html")),
            ("job.html", include_str!("templates/job.html")),
            ("style.css", include_str!("templates/style.css")),
            ("filter.js", include_str!("templates/filter.js")),
            ("preview.html", include_str!("templates/preview.html")),
        ] {
            // The templates are part of the binary and checked by the tests; a broken one
            // shows up as a render error naming the page.
            let _ = env.add_template(name, source);
        }
        env
    })
}

fn render(name: &str, view: &impl Serialize) -> Result<String, SiteError> {
    let page = |source| SiteError::Render {
        page: name.to_owned(),
        source,
    };
    templates()
        .get_template(name)
        .and_then(|t| t.render(view))
        .map_err(page)
}

fn write(path: &Utf8Path, html: &str) -> Result<(), SiteError> {
    crate::atomic::write(path, html.as_bytes()).map_err(|source| SiteError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The index's script nonce: unpredictable to whatever wrote the content of the page, so
/// even an injected `<script>` that slipped past escaping would not run.
fn nonce(out: &Utf8Path, at: jiff::Timestamp) -> String {
    let mut h = blake3::Hasher::new();
    h.update(out.as_str().as_bytes());
    h.update(&at.as_nanosecond().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&(std::ptr::from_ref(&h) as usize).to_le_bytes());
    h.finalize().to_hex()[..32].to_owned()
}

/// Characters left as they are in a path segment of an href; everything else is
/// percent-encoded (`#`, `?`, `%`, quotes, spaces, non-ASCII).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A relative href from `/`-separated path segments, each percent-encoded.
pub(super) fn href<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    segments
        .into_iter()
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// "—" for what is not known (cost before it is recorded, a missing field).
pub(super) const NONE: &str = "—";

pub(super) fn usd(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v >= 0.0 => format!("${v:.4}"),
        _ => NONE.to_owned(),
    }
}

pub(super) fn duration(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => {
            let whole = s.round() as u64;
            if s < 60.0 {
                format!("{s:.1}s")
            } else if whole < 3600 {
                format!("{}m {:02}s", whole / 60, whole % 60)
            } else {
                format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60)
            }
        }
        _ => NONE.to_owned(),
    }
}
