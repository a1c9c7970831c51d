//! `runner init [DIR]`: a starter project to edit: a commented manifest, a prompt file, a
//! tiny CSV in `data/`, and the manifest's JSON Schema for editors. Never overwrites: if
//! any of the files exists, nothing is written.

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::{Error, Exit};
use crate::manifest::json_schema;
use crate::ui;

const MANIFEST: &str = "analysis.yaml";

const MANIFEST_TEXT: &str = r#"# yaml-language-server: $schema=manifest.schema.json
# A runner manifest: the jobs to run, each a Claude conversation with code execution.
# Reference: `runner --help` and docs/manifest.md. Check it with
# `runner validate analysis.yaml`; see what a run would do with `runner plan analysis.yaml`.
version: 1
defaults:                           # settings for every job; a job's own value wins
  model: claude-sonnet-5-5
  max_tokens: 16000
  system: You are a careful data analyst. State your assumptions and show your numbers.
jobs:
  - name: sales-overview            # the output folder: OUT/analysis/sales-overview/
    inputs: [data/sales.csv]        # paths and globs, relative to this file
    prompt_file: prompts/overview.md
    follow_up:                      # further turns in the same conversation
      - Now write a one-paragraph summary of the findings as summary.md.
  # One job per file: `for_each` expands a glob; {{ path }}, {{ name }}, {{ stem }} fill in.
  # - name: "profile-{{ stem }}"
  #   for_each: "data/*.csv"
  #   inputs: ["{{ path }}"]
  #   prompt: "Profile {{ name }}: column types, missing values, ranges."
"#;

const PROMPT_TEXT: &str = "\
Which region and product sell best, and how do sales change from month to month?
Include one clear plot saved as sales.png.
";

const DATA_TEXT: &str = "\
month,region,product,units,revenue
2026-01,north,tea,120,480.00
2026-01,south,tea,95,380.00
2026-01,north,coffee,210,1050.00
2026-01,south,coffee,180,900.00
2026-02,north,tea,130,520.00
2026-02,south,tea,88,352.00
2026-02,north,coffee,225,1125.00
2026-02,south,coffee,199,995.00
";

pub(super) fn init(dir: &Utf8Path) -> Result<Exit, Error> {
    let schema = json_schema::manifest_schema_text();
    let files: [(Utf8PathBuf, &str); 4] = [
        (dir.join(MANIFEST), MANIFEST_TEXT),
        (dir.join("prompts/overview.md"), PROMPT_TEXT),
        (dir.join("data/sales.csv"), DATA_TEXT),
        (dir.join("manifest.schema.json"), &schema),
    ];
    // Check them all first, so a refusal leaves no half-made project behind.
    if let Some((path, _)) = files
        .iter()
        .find(|(path, _)| path.symlink_metadata().is_ok())
    {
        return Err(Error::InitExists(path.clone()));
    }
    for (path, text) in &files {
        crate::atomic::write_new(path, text.as_bytes()).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::InitExists(path.clone())
            } else {
                Error::Init {
                    path: path.clone(),
                    source,
                }
            }
        })?;
    }
    let manifest = dir.join(MANIFEST);
    ui::note(&format!(
        "wrote {manifest}, its prompt, data and JSON Schema. Try it:"
    ));
    ui::note(&format!("  runner plan {manifest}"));
    ui::note(&format!("  runner run {manifest} -o {}", dir.join("out")));
    Ok(Exit::Success)
}
