//! Markdown → HTML for the job pages, with everything the model wrote kept inert: raw HTML
//! in the Markdown is shown as text, never passed through; a link keeps its target only
//! when it is relative or `http`, `https` or `mailto`; an image loads only from a relative
//! path inside the job folder (the pages never fetch anything from the network).
//! pulldown-cmark escapes text and attribute values.

use pulldown_cmark::{BlockQuoteKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

use crate::output::markdown::NOTES_LABEL;

/// Renders untrusted Markdown to HTML that holds no script, event handler or remote
/// resource.
pub(crate) fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML becomes text: `<script>` is shown, not run.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_link(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_image(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut events: Vec<Event<'_>> = events.collect();
    mark_working_notes(&mut events);
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

/// Gives the block quotes that hold Claude's working notes (they open with the italic
/// label, `output/markdown.rs`) a class of their own, so the page sets them apart from
/// the answer and the prompt. Model text that imitates the label only gets the style.
fn mark_working_notes(events: &mut [Event<'_>]) {
    for i in 0..events.len() {
        let labelled = matches!(
            &events[i..],
            [
                Event::Start(Tag::BlockQuote(None)),
                Event::Start(Tag::Paragraph),
                Event::Start(Tag::Emphasis),
                Event::Text(label),
                Event::End(TagEnd::Emphasis),
                Event::End(TagEnd::Paragraph),
                ..
            ] if label.as_ref() == NOTES_LABEL
        );
        if labelled {
            events[i] = Event::Start(Tag::BlockQuote(Some(BlockQuoteKind::Note)));
        }
    }
}

/// The scheme of a URL, lower-cased, if it has one (`javascript:`, `JaVaScRiPt:`, and
/// with tabs or newlines inside, which browsers ignore).
fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c.is_whitespace() || c.is_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let colon = cleaned.find(':')?;
    let candidate = &cleaned[..colon];
    // A `:` after a `/`, `?` or `#` is part of a relative path, not a scheme.
    if candidate.is_empty() || candidate.contains(['/', '?', '#']) {
        return None;
    }
    Some(candidate.to_ascii_lowercase())
}

/// A relative target, or one with a scheme that cannot run code; anything else becomes
/// `#`.
fn safe_link(url: CowStr<'_>) -> CowStr<'_> {
    match scheme(&url).as_deref() {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

/// Only a relative path inside the job folder: no scheme (so no `http:`, `data:` or
/// `file:`), not absolute, no `..`. Judged as the browser will read it: tabs and newlines
/// removed, `\` as `/`, and percent-decoded (until nothing changes), so `%2e%2e/` and
/// `%5c` are seen for what they are.
fn safe_image(url: CowStr<'_>) -> CowStr<'_> {
    let mut path: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    // Each round shortens a path that still decodes; a few are more than a browser does.
    for _ in 0..4 {
        let decoded = percent_encoding::percent_decode_str(&path)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == path {
            break;
        }
        path = decoded;
    }
    let path = path.replace('\\', "/");
    let relative = scheme(&path).is_none()
        && !path.starts_with('/')
        && !path.split('/').any(|part| part.trim() == "..");
    if relative { url } else { CowStr::Borrowed("") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = to_html("Hi <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn only_safe_link_schemes_survive() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "jav&#x09;ascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
        ] {
            let html = to_html(&format!("[x]({bad})"));
            assert!(html.contains("href=\"#\""), "{bad}: {html}");
        }
        for good in [
            "https://example.com/a",
            "files/plot.png",
            "#top",
            "mailto:a@b.c",
        ] {
            let html = to_html(&format!("[x](<{good}>)"));
            assert!(
                !html.contains("href=\"#\"") || good == "#top",
                "{good}: {html}"
            );
        }
        assert!(to_html("[x](a/b:c)").contains("href=\"a/b:c\""));
    }

    #[test]
    fn images_load_only_from_inside_the_job_folder() {
        assert!(to_html("![p](files/plot.png)").contains("src=\"files/plot.png\""));
        assert!(to_html("![p](files/my%20plot.png)").contains("src=\"files/my%20plot.png\""));
        for bad in [
            "https://example.com/t.png",
            "file:///etc/passwd",
            "/etc/x.png",
            "../other/x.png",
            "data:image/png;base64,AAAA",
            "%2e%2e/%2e%2e/etc/x.png",
            "%2E%2E/x.png",
            ".%2e/x.png",
            "files/%2e%2e/%2e%2e/x.png",
            "%252e%252e/x.png",
            "..%5cx.png",
            "%2fetc/x.png",
            "<.\t./x.png>",
        ] {
            let html = to_html(&format!("![p]({bad})"));
            assert!(html.contains("src=\"\""), "{bad}: {html}");
        }
    }

    #[test]
    fn attribute_values_are_escaped() {
        let html = to_html("[x](<files/a\"onmouseover=alert(1).png> \"t\\\"itle\")");
        assert!(!html.contains("\"onmouseover"), "{html}");
        assert!(html.contains("tables") || !html.contains("<script"));
    }

    #[test]
    fn working_notes_get_their_own_class_and_stay_inert() {
        let notes = crate::output::markdown::working_notes("Check <b>x</b>\n\n> nested");
        let html = to_html(&format!("> prompt\n\n{notes}\nanswer\n"));
        assert_eq!(
            html.matches("<blockquote class=\"markdown-alert-note\">")
                .count(),
            1,
            "{html}"
        );
        assert_eq!(
            html.matches("<blockquote>").count(),
            2,
            "the prompt, the nested quote: {html}"
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
        assert!(
            html.ends_with("<p>answer</p>\n"),
            "the notes end where they should: {html}"
        );
    }

    #[test]
    fn tables_and_code_blocks_render() {
        let html = to_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<b>')\n```\n");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<code class=\"language-python\">"), "{html}");
        assert!(html.contains("&lt;b&gt;"), "{html}");
    }
}
