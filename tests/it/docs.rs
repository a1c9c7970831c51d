//! Every relative link in README.md and docs/*.md resolves: the file (or folder) exists, and
//! a `#anchor` names a heading of the file it points into, by GitHub's slug rules. Links
//! with a scheme (`https:`, `mailto:`) are not checked. The checker is tested on its own
//! text first, so a checker that passes everything fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every `docs/*.md`, sorted.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(
        text,
        Options::ENABLE_TABLES | Options::ENABLE_HEADING_ATTRIBUTES,
    )
}

/// GitHub's anchor for a heading's text: lowercase; letters, digits, `-` and `_` kept;
/// spaces become `-`; every other character dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a document's headings; a repeated slug gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in parser(text) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let mut candidate = base.clone();
                let mut n = 0;
                while anchors.contains(&candidate) {
                    n += 1;
                    candidate = format!("{base}-{n}");
                }
                anchors.insert(candidate);
            }
            _ => {}
        }
    }
    anchors
}

/// Every link and image target of a document.
fn links(text: &str) -> Vec<String> {
    parser(text)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.to_string())
            }
            _ => None,
        })
        .collect()
}

/// `scheme:` as in `https:` or `mailto:` (not a Windows drive: none is used here).
fn has_scheme(target: &str) -> bool {
    target.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// The broken links of `doc` (whose text is `text`), each as `doc: target: why`.
fn broken_links(doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap();
    let mut broken = Vec::new();
    for target in links(text) {
        if has_scheme(&target) {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            doc.to_path_buf()
        } else {
            dir.join(path)
        };
        let why = if !file.exists() {
            Some("no such file".to_string())
        } else {
            match anchor {
                Some(anchor) if file.extension().is_some_and(|ext| ext == "md") => {
                    let target_text = std::fs::read_to_string(&file).unwrap();
                    (!anchors(&target_text).contains(anchor))
                        .then(|| format!("no heading with the anchor #{anchor}"))
                }
                _ => None,
            }
        };
        if let Some(why) = why {
            broken.push(format!("{}: {target}: {why}", doc.display()));
        }
    }
    broken
}

#[test]
fn the_checker_knows_github_slugs_and_finds_broken_links() {
    assert_eq!(
        slug("6.4 --budget-usd"),
        "64---budget-usd",
        "dots dropped, spaces become dashes"
    );
    assert_eq!(slug("11.2 The price file"), "112-the-price-file");
    assert_eq!(
        slug("15. Batch mode: OUT/.batches/"),
        "15-batch-mode-outbatches"
    );
    let text = "# A\n## A\n## Why did `this` job run?\n";
    let found = anchors(text);
    assert!(found.contains("a") && found.contains("a-1"), "{found:?}");
    assert!(found.contains("why-did-this-job-run"), "{found:?}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.md"), "# Other heading\n").unwrap();
    let doc = dir.path().join("doc.md");
    let text = "# Here\n\
        [ok](other.md) [ok](other.md#other-heading) [ok](#here) [web](https://example.com/x)\n\
        [gone](missing.md) [bad anchor](other.md#nope) [bad here](#there)\n";
    std::fs::write(&doc, text).unwrap();
    let broken = broken_links(&doc, text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(
        broken[0].contains("missing.md: no such file"),
        "{broken:#?}"
    );
    assert!(broken[1].contains("other.md#nope"), "{broken:#?}");
    assert!(broken[2].contains("#there"), "{broken:#?}");
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        broken.extend(broken_links(&doc, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
