//! Which file ids and skill versions the `job.json` files of an output tree reference
//! (inputs, generated files, `skills[]`), for `runner files` and `runner skills`: what a
//! job's record names is what a user may still want.

use std::collections::BTreeMap;
use std::io;

use camino::Utf8Path;

use super::records::{JobRecord, parse_job_json};

/// File id → the job folders (`OUT/<stem>/<job>`) whose `job.json` names it. A missing
/// tree is an error: `files prune` must not read "no references" from a mistyped path.
pub(crate) fn file_references(out: &Utf8Path) -> io::Result<BTreeMap<String, Vec<String>>> {
    references(out, |record| {
        ids_in(record).map(str::to_owned).collect::<Vec<String>>()
    })
}

/// Generated file id → the job folders whose `job.json` `outputs[]` names it: files the
/// runner downloaded, checked against the size the API announced, and saved
/// (docs/output.md §2.6). Also the failed attempts under `OUT/runs/` (§1.1), which keep
/// their files too. For `files prune --generated`; a missing tree is an error.
pub(crate) fn generated_references(out: &Utf8Path) -> io::Result<BTreeMap<String, Vec<String>>> {
    with_attempts(out, |record| {
        output_ids(record).map(str::to_owned).collect()
    })
}

/// Input file id → the job folders, failed attempts included, whose `job.json` names it as
/// an input: what `files prune --generated` never deletes, whoever made the file.
pub(crate) fn input_references(out: &Utf8Path) -> io::Result<BTreeMap<String, Vec<String>>> {
    with_attempts(out, |record| input_ids(record).map(str::to_owned).collect())
}

/// [`references`] of the job folders and of each run folder's failed attempts.
fn with_attempts(
    out: &Utf8Path,
    keys_of: impl Fn(&JobRecord<'_>) -> Vec<String>,
) -> io::Result<BTreeMap<String, Vec<String>>> {
    let mut refs = references(out, &keys_of)?;
    let runs = out.join(super::history::RUNS);
    if !runs.is_dir() {
        return Ok(refs);
    }
    for run in fs_err::read_dir(&runs)? {
        let run = run?;
        let Ok(dir) = camino::Utf8PathBuf::try_from(run.path()) else {
            continue;
        };
        if !run.file_type()?.is_dir() {
            continue;
        }
        for (key, users) in references(&dir, &keys_of)? {
            refs.entry(key).or_default().extend(users);
        }
    }
    Ok(refs)
}

/// `"{skill_id}/{version}"` → the job folders whose `job.json` `skills[]` names it: for
/// each skill, the version as requested (`latest`, a date, a `skver_…` id) and, when the
/// API named it, the resolved one (docs/output.md §2.11). A missing tree is an error, as
/// for [`file_references`] (`skills prune`).
pub(crate) fn skill_references(out: &Utf8Path) -> io::Result<BTreeMap<String, Vec<String>>> {
    references(out, |record| {
        record
            .skills
            .iter()
            .flat_map(super::skill_records::SkillRecord::reference_keys)
            .collect::<Vec<String>>()
    })
}

/// Each key `keys_of` finds in a job folder's `job.json`, with the folders naming it.
/// Staging folders (`.…`) and records that do not parse keep nothing.
fn references(
    out: &Utf8Path,
    keys_of: impl Fn(&JobRecord<'_>) -> Vec<String>,
) -> io::Result<BTreeMap<String, Vec<String>>> {
    let mut refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for manifest in fs_err::read_dir(out)? {
        let manifest = manifest?;
        if !manifest.file_type()?.is_dir() {
            continue;
        }
        for job in fs_err::read_dir(manifest.path())? {
            let job = job?;
            let Ok(dir) = camino::Utf8PathBuf::try_from(job.path()) else {
                continue;
            };
            if !job.file_type()?.is_dir() || dir.file_name().is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            let record = match fs_err::read(dir.join("job.json")) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            // A record that does not parse references nothing we can read; it keeps nothing.
            let Ok(record) = parse_job_json(&record) else {
                continue;
            };
            for key in keys_of(&record) {
                let users = refs.entry(key).or_default();
                if !users.contains(&dir.to_string()) {
                    users.push(dir.to_string());
                }
            }
        }
    }
    Ok(refs)
}

fn ids_in<'r>(record: &'r JobRecord<'_>) -> impl Iterator<Item = &'r str> {
    input_ids(record).chain(output_ids(record))
}

fn input_ids<'r>(record: &'r JobRecord<'_>) -> impl Iterator<Item = &'r str> {
    let inputs = record.inputs.iter().flatten();
    inputs.filter_map(|i| i.file_id.as_deref())
}

fn output_ids<'r>(record: &'r JobRecord<'_>) -> impl Iterator<Item = &'r str> {
    let outputs = record.outputs.iter().flatten();
    outputs.filter_map(|o| o.file_id.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_input_and_output_ids_and_skips_staging_folders() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let record = r#"{"inputs":[{"file_id":"file_in"}],"outputs":[{"file_id":"file_out"}]}"#;
        crate::atomic::write(&out.join("m/a/job.json"), record.as_bytes()).unwrap();
        crate::atomic::write(
            &out.join("m/.a.staging-x/job.json"),
            b"{\"inputs\":[{\"file_id\":\"file_s\"}]}",
        )
        .unwrap();
        crate::atomic::write(&out.join("run.json"), b"{}").unwrap();
        let refs = file_references(out).unwrap();
        assert_eq!(refs.keys().collect::<Vec<_>>(), ["file_in", "file_out"]);
        assert_eq!(refs["file_in"], [out.join("m/a").to_string()]);
        assert!(file_references(&out.join("missing")).is_err());
    }

    #[test]
    fn generated_files_are_the_outputs_of_job_folders_and_failed_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let record = r#"{"inputs":[{"file_id":"file_in"}],"outputs":[{"file_id":"file_out"}]}"#;
        crate::atomic::write(&out.join("m/a/job.json"), record.as_bytes()).unwrap();
        let attempt = r#"{"inputs":[{"file_id":"file_in2"}],"outputs":[{"file_id":"file_tried"}]}"#;
        let run = "runs/20261130T020000Z-3e8a";
        crate::atomic::write(&out.join(run).join("m/a/job.json"), attempt.as_bytes()).unwrap();
        crate::atomic::write(&out.join(run).join("run.json"), b"{}").unwrap();
        let generated = generated_references(out).unwrap();
        assert_eq!(
            generated.keys().collect::<Vec<_>>(),
            ["file_out", "file_tried"]
        );
        assert_eq!(
            generated["file_tried"],
            [out.join(run).join("m/a").to_string()]
        );
        let inputs = input_references(out).unwrap();
        assert_eq!(inputs.keys().collect::<Vec<_>>(), ["file_in", "file_in2"]);
        assert!(generated_references(&out.join("missing")).is_err());
    }

    #[test]
    fn finds_requested_and_resolved_skill_versions() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let a = r#"{"skills":[
            {"source":"anthropic","skill_id":"xlsx","version":"latest","resolved_version":"20251013"},
            {"source":"folder","skill_id":"skill_01","version":"skver_02","resolved_version":"skver_02",
             "name":"house-style","folder":"skills/house-style","blake3":"ab"}]}"#;
        let b = r#"{"skills":[{"source":"custom","skill_id":"skill_01","version":"latest"}]}"#;
        crate::atomic::write(&out.join("m/a/job.json"), a.as_bytes()).unwrap();
        crate::atomic::write(&out.join("m/b/job.json"), b.as_bytes()).unwrap();
        crate::atomic::write(&out.join("m/c/job.json"), b"{\"inputs\":[]}").unwrap();
        crate::atomic::write(&out.join("m/.b.staging-x/job.json"), a.as_bytes()).unwrap();
        let refs = skill_references(out).unwrap();
        assert_eq!(
            refs.keys().collect::<Vec<_>>(),
            [
                "skill_01/latest",
                "skill_01/skver_02",
                "xlsx/20251013",
                "xlsx/latest"
            ]
        );
        assert_eq!(refs["skill_01/skver_02"], [out.join("m/a").to_string()]);
        assert_eq!(refs["skill_01/latest"], [out.join("m/b").to_string()]);
        assert!(file_references(out).unwrap().is_empty());
        assert!(skill_references(&out.join("missing")).is_err());
    }
}
