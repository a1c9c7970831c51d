//! Deliverables, judged: which generated files satisfy which `expect` entry, what is
//! missing, and the words the model reads about them (the system prompt's list and the
//! repair turn). Pure, so the engine's check after the last turn (on file metadata) and the
//! records in `job.json` (on the saved files) judge the same way (docs/output.md §2.10).

use crate::manifest::{Deliverables, Expectation};
use crate::units::bytes;

/// A generated file as the check sees it: the name the API gave it, and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Produced<'a> {
    pub name: &'a str,
    pub size: u64,
}

/// How one `expect` entry fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryStatus {
    pub satisfied: bool,
    /// Indices of the files that count for the entry: matching name, big enough.
    pub files: Vec<usize>,
    /// Indices of files with a matching name but under `min_size`.
    pub too_small: Vec<usize>,
}

/// Judges `files` against every entry. A file may count for several entries.
pub(crate) fn evaluate(expect: &[Expectation], files: &[Produced<'_>]) -> Vec<EntryStatus> {
    expect
        .iter()
        .map(|e| {
            let matcher = e.matcher();
            let (mut ok, mut small) = (Vec::new(), Vec::new());
            for (i, f) in files.iter().enumerate() {
                if !e.matches(matcher.as_ref(), base_name(f.name)) {
                    continue;
                }
                if e.min_size.is_some_and(|min| f.size < min) {
                    small.push(i);
                } else {
                    ok.push(i);
                }
            }
            EntryStatus {
                satisfied: ok.len() >= e.min as usize,
                files: ok,
                too_small: small,
            }
        })
        .collect()
}

/// The entries file `index` counts for, by their `name`.
pub(crate) fn satisfied_by<'a>(
    expect: &'a [Expectation],
    statuses: &[EntryStatus],
    index: usize,
) -> Vec<&'a str> {
    expect
        .iter()
        .zip(statuses)
        .filter(|(_, s)| s.files.contains(&index))
        .map(|(e, _)| e.name.as_str())
        .collect()
}

/// Each unsatisfied entry in words, e.g. "`summary.md` (not produced)".
pub(crate) fn missing(expect: &[Expectation], statuses: &[EntryStatus]) -> Vec<String> {
    expect
        .iter()
        .zip(statuses)
        .filter(|(_, s)| !s.satisfied)
        .map(|(e, s)| describe_missing(e, s))
        .collect()
}

fn describe_missing(e: &Expectation, s: &EntryStatus) -> String {
    let small = match (e.min_size, s.too_small.len()) {
        (Some(min), n) if n > 0 => format!(", {n} under the minimum size of {}", bytes(min)),
        _ => String::new(),
    };
    if e.is_glob() {
        format!(
            "`{}` (at least {} matching file{} needed, {} produced{small})",
            e.name,
            e.min,
            crate::units::plural(e.min as usize),
            s.files.len()
        )
    } else if small.is_empty() {
        format!("`{}` (not produced)", e.name)
    } else {
        format!(
            "`{}` (produced, but under the minimum size of {})",
            e.name,
            bytes(e.min_size.unwrap_or_default())
        )
    }
}

/// The system prompt's list of deliverables, so the model knows them from the start.
pub(crate) fn prompt_addition(d: &Deliverables) -> String {
    let mut s = String::from(
        "\n\nThe user expects these deliverables, saved at the top level of $OUTPUT_DIR:\n",
    );
    for e in &d.expect {
        let size = e
            .min_size
            .map(|m| format!(", at least {}", bytes(m)))
            .unwrap_or_default();
        if e.is_glob() {
            let size = size.replacen(", at least", ", each at least", 1);
            s.push_str(&format!(
                "- at least {} file{} matching `{}`{size}\n",
                e.min,
                crate::units::plural(e.min as usize),
                e.name
            ));
        } else if d.metrics.as_deref() == Some(e.name.as_str()) {
            s.push_str(&format!("- `{}`: {METRICS_WORDS}\n", e.name));
        } else {
            s.push_str(&format!("- `{}`{size}\n", e.name));
        }
    }
    s
}

/// How the system prompt describes the `metrics:` file (the bundled fake's scripted model
/// writes one when it reads these words).
pub(crate) const METRICS_WORDS: &str = "a flat JSON object of the analysis's key numbers \
     (metric name → number, e.g. {\"rows\": 1234, \"mean_price\": 5.6}), the same names \
     every run";

/// The user turn that asks for what is still missing, in the same conversation.
pub(crate) fn repair_prompt(missing: &[String]) -> String {
    format!(
        "These deliverables are missing: {}. Save them at the top level of $OUTPUT_DIR from a \
         bash command (e.g. `cp summary.md \"$OUTPUT_DIR/\"`): only files there are returned.",
        missing.join("; ")
    )
}

/// The API's file name may carry a folder; deliverables are judged by the last component.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, min: u32, min_size: Option<u64>) -> Expectation {
        Expectation {
            name: name.into(),
            min,
            min_size,
        }
    }

    fn file(name: &str, size: u64) -> Produced<'_> {
        Produced { name, size }
    }

    #[test]
    fn names_globs_counts_and_sizes_are_judged() {
        let expect = [
            entry("summary.md", 1, None),
            entry("*.png", 2, Some(1024)),
            entry("report.pdf", 1, Some(10)),
        ];
        let files = [
            file("a.png", 2048),
            file("summary.md", 5),
            file("b.png", 100),
            file("report.pdf", 3),
        ];
        let s = evaluate(&expect, &files);
        assert!(s[0].satisfied);
        assert_eq!(s[0].files, [1]);
        assert!(!s[1].satisfied, "b.png is under min_size");
        assert_eq!(
            (s[1].files.clone(), s[1].too_small.clone()),
            (vec![0], vec![2])
        );
        assert!(!s[2].satisfied);
        assert_eq!(satisfied_by(&expect, &s, 0), ["*.png"]);
        assert_eq!(satisfied_by(&expect, &s, 2), Vec::<&str>::new());
        assert_eq!(
            missing(&expect, &s),
            [
                "`*.png` (at least 2 matching files needed, 1 produced, 1 under the minimum size of 1.0 KiB)",
                "`report.pdf` (produced, but under the minimum size of 10 B)",
            ]
        );
    }

    #[test]
    fn a_star_does_not_match_a_folder_and_names_are_exact() {
        let expect = [entry("*.png", 1, None), entry("Summary.md", 1, None)];
        let s = evaluate(&expect, &[file("out/plot.png", 1), file("summary.md", 1)]);
        assert!(s[0].satisfied, "judged by the last component");
        assert!(!s[1].satisfied, "plain names are compared exactly");
        assert_eq!(missing(&expect, &s), ["`Summary.md` (not produced)"]);
    }

    #[test]
    fn the_prompt_names_every_deliverable() {
        let d = Deliverables {
            expect: vec![entry("summary.md", 1, None), entry("*.png", 2, Some(1024))],
            repair_turns: 1,
            metrics: None,
        };
        assert_eq!(
            prompt_addition(&d),
            "\n\nThe user expects these deliverables, saved at the top level of $OUTPUT_DIR:\n\
             - `summary.md`\n- at least 2 files matching `*.png`, each at least 1.0 KiB\n"
        );
    }

    #[test]
    fn the_prompt_describes_the_metrics_file() {
        let d = Deliverables {
            expect: vec![entry("metrics.json", 1, None)],
            repair_turns: 1,
            metrics: Some("metrics.json".into()),
        };
        assert!(
            prompt_addition(&d).contains(&format!("- `metrics.json`: {METRICS_WORDS}\n")),
            "{}",
            prompt_addition(&d)
        );
    }
}
