//! Which file ids the `job.json` files of an output tree reference (inputs and generated
//! files), for `runner files`: a file a job's record names is one a user may still want.

use std::collections::BTreeMap;
use std::io;

use camino::Utf8Path;

use super::records::{JobRecord, parse_job_json};

/// File id → the job folders (`OUT/<stem>/<job>`) whose `job.json` names it. A missing
/// tree is an error: `files prune` must not read "no references" from a mistyped path.
pub fn file_references(out: &Utf8Path) -> io::Result<BTreeMap<String, Vec<String>>> {
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
            for id in ids_in(&record) {
                let users = refs.entry(id.to_owned()).or_default();
                if !users.contains(&dir.to_string()) {
                    users.push(dir.to_string());
                }
            }
        }
    }
    Ok(refs)
}

fn ids_in<'r>(record: &'r JobRecord<'_>) -> impl Iterator<Item = &'r str> {
    let inputs = record.inputs.iter().flatten().map(|i| i.file_id.as_deref());
    let outputs = record
        .outputs
        .iter()
        .flatten()
        .map(|o| o.file_id.as_deref());
    inputs.chain(outputs).flatten()
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
}
