//! What the scripted model makes of the skills loaded in its container (docs/api.md
//! §8.16): one office file per Anthropic skill, from `crate::office`, and a line of the
//! final text naming every custom skill applied.

use bytes::Bytes;

use crate::skills::Loaded;

/// The file an Anthropic skill makes, named as docs/api.md §8.16 says.
fn office_file(skill: &str, files: &[(String, u64, String)]) -> Option<(String, Vec<u8>)> {
    let total: u64 = files.iter().map(|f| f.1).sum();
    Some(match skill {
        "xlsx" => {
            let rows = vec![
                vec!["metric".to_owned(), "value".to_owned()],
                vec!["input files".to_owned(), files.len().to_string()],
                vec!["input bytes".to_owned(), total.to_string()],
                vec![
                    "largest file".to_owned(),
                    files
                        .iter()
                        .max_by_key(|f| f.1)
                        .map_or_else(|| "(none)".to_owned(), |f| f.0.clone()),
                ],
            ];
            (
                "workbook.xlsx".to_owned(),
                crate::office::workbook(&[("Summary", rows)]),
            )
        }
        "pptx" => (
            "deck.pptx".to_owned(),
            crate::office::deck(&["Overview", "Findings", "Next steps"]),
        ),
        "docx" => (
            "report.docx".to_owned(),
            crate::office::document(
                "Report",
                &[
                    "This report summarises the files in the container.",
                    "Every figure comes from the inventory of the inputs.",
                ],
            ),
        ),
        "pdf" => ("report.pdf".to_owned(), crate::office::pdf(2)),
        _ => return None,
    })
}

/// (name, bytes) of the office files the loaded Anthropic skills make.
pub(crate) fn office_files(
    loaded: &[Loaded],
    files: &[(String, u64, String)],
) -> Vec<(String, Bytes)> {
    loaded
        .iter()
        .filter(|s| s.anthropic)
        .filter_map(|s| office_file(&s.name, files))
        .map(|(name, bytes)| (name, Bytes::from(bytes)))
        .collect()
}

/// "Applied skill house-style." for the custom skills, if any.
pub(crate) fn mention(loaded: &[Loaded]) -> Option<String> {
    let custom: Vec<&str> = loaded
        .iter()
        .filter(|s| !s.anthropic)
        .map(|s| s.name.as_str())
        .collect();
    match custom.as_slice() {
        [] => None,
        [one] => Some(format!("Applied skill {one}.")),
        many => Some(format!("Applied skills {}.", many.join(", "))),
    }
}
