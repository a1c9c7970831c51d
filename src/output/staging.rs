//! A job's output folder, replaced as a whole. Everything for `OUT/<stem>/<job>` is
//! written into a fresh staging folder beside it, and [`Staging::commit`] swaps the two
//! with renames, so a killed run leaves either the previous folder or the new one complete,
//! never a mix, plus at most a stray `.<job>.staging-…` or `.<job>.old-…` folder that
//! [`clean_stale`] removes on the next run. This module owns those names and renames; what
//! goes inside the folder is the business of `write_job` (`output/mod.rs`) and of the
//! engine's downloads.

use std::io;

use camino::{Utf8Path, Utf8PathBuf};

const STAGING: &str = ".staging-";
const OLD: &str = ".old-";
/// The prefix `atomic::write` gives its temporary files; one left in `OUT/` by a killed
/// run (e.g. a half-written `run.json`) is stale too.
const ATOMIC_TMP: &str = ".runner-tmp-";

/// A job folder being written. Dropped without [`Staging::commit`], it is deleted and the
/// previous output stays as it was.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    root: Utf8PathBuf,
    files: Utf8PathBuf,
    /// `OUT/<stem>`.
    parent: Utf8PathBuf,
    /// The job's folder name inside `parent`.
    job: String,
}

impl Staging {
    /// Starts a job folder for `job_id` (`<stem>/<job>`) under `out_root`.
    pub(crate) fn new(out_root: &Utf8Path, job_id: &str) -> io::Result<Staging> {
        let (stem, job) = split_job_id(job_id)?;
        let parent = out_root.join(stem);
        ensure_real_dir(&parent)?;
        // Created with the umask's mode, not tempfile's 0700: it becomes the job folder.
        let dir = crate::atomic::temp_dir_in(&parent, &format!(".{job}{STAGING}"))
            .map_err(|e| annotate(e, &format!("cannot create a staging folder in {parent}")))?;
        let root = Utf8PathBuf::try_from(dir.path().to_path_buf()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("non-UTF-8 path: {e}"))
        })?;
        let files = root.join("files");
        fs_err::create_dir(&files)?;
        Ok(Staging {
            dir,
            root,
            files,
            parent,
            job: job.to_owned(),
        })
    }

    /// The `files/` folder, where generated files are downloaded to.
    pub(crate) fn files_dir(&self) -> &Utf8Path {
        &self.files
    }

    /// The path of `rel` inside the staging folder.
    pub(crate) fn path(&self, rel: &str) -> Utf8PathBuf {
        self.root.join(rel)
    }

    /// Where the folder ends up after [`Staging::commit`].
    pub(crate) fn final_path(&self) -> Utf8PathBuf {
        self.parent.join(&self.job)
    }

    /// Puts the staging folder in place of `OUT/<stem>/<job>` and removes what was there.
    pub(crate) fn commit(self) -> io::Result<Utf8PathBuf> {
        let target = self.final_path();
        // Checked again: the folder may have been swapped for a link since `new`.
        ensure_real_dir(&self.parent)?;
        let old = self.set_aside(&target)?;
        if let Err(e) = fs_err::rename(&self.root, &target) {
            if let Some(old) = &old {
                // Put the previous output back so the job folder does not vanish.
                let _ = fs_err::rename(old.path().join(&self.job), &target);
            }
            return Err(e);
        }
        // The folder has moved: nothing is left for the guard to delete.
        let _ = self.dir.keep();
        sync_dir(&self.parent);
        if let Some(old) = old {
            let path = old.path().display().to_string();
            if let Err(e) = old.close() {
                tracing::warn!("could not remove the previous output {path}: {e}");
            }
        }
        Ok(target)
    }

    /// Puts the staging folder at `root/<stem>/<job>` instead of the job's folder (a failed
    /// attempt kept beside an earlier success, docs/output.md "Run history"); the job's
    /// folder is left as it is. `root` must be on the output root's filesystem.
    pub(crate) fn commit_under(mut self, root: &Utf8Path) -> io::Result<Utf8PathBuf> {
        let stem = self.parent.file_name().unwrap_or_default().to_owned();
        ensure_real_dir(root)?;
        let parent = root.join(stem);
        ensure_real_dir(&parent)?;
        self.parent = parent;
        self.commit()
    }

    /// Moves whatever is at `target` (a folder, file, or symlink, never followed) into a
    /// fresh `.<job>.old-…` folder. Moving it *into* a new folder, rather than renaming it
    /// to a guessed name, cannot collide with anything.
    fn set_aside(&self, target: &Utf8Path) -> io::Result<Option<tempfile::TempDir>> {
        match fs_err::symlink_metadata(target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let old = tempfile::Builder::new()
            .prefix(&format!(".{}{OLD}", self.job))
            .tempdir_in(&self.parent)
            .map_err(|e| annotate(e, &format!("cannot create a folder in {}", self.parent)))?;
        fs_err::rename(target, old.path().join(&self.job))?;
        Ok(Some(old))
    }
}

/// Removes staging and old folders left by a killed run under `OUT/*/`, and temporary
/// files of interrupted atomic writes in `OUT/`. Returns how many entries it removed.
pub(crate) fn clean_stale(out_root: &Utf8Path) -> io::Result<usize> {
    let entries = match fs_err::read_dir(out_root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = out_root.join(name);
        let kind = entry.file_type()?;
        if kind.is_file() && name.starts_with(ATOMIC_TMP) {
            fs_err::remove_file(&path)?;
            removed += 1;
        } else if kind.is_dir() {
            removed += clean_manifest_dir(&path)?;
        }
    }
    Ok(removed)
}

/// Like [`clean_stale`], but only the leftovers of these jobs: a `--shard` run shares the
/// output tree with other shards, whose staging folders may be in use.
pub(crate) fn clean_stale_of(out_root: &Utf8Path, job_ids: &[&str]) -> io::Result<usize> {
    let mut removed = 0;
    for id in job_ids {
        let (stem, job) = split_job_id(id)?;
        let dir = out_root.join(stem);
        if !dir.is_dir() {
            continue;
        }
        let (staging, old) = (format!(".{job}{STAGING}"), format!(".{job}{OLD}"));
        removed += clean_dir_where(&dir, |name| {
            name.starts_with(&staging) || name.starts_with(&old)
        })?;
    }
    Ok(removed)
}

fn clean_manifest_dir(dir: &Utf8Path) -> io::Result<usize> {
    clean_dir_where(dir, is_leftover)
}

fn clean_dir_where(dir: &Utf8Path, is_leftover: impl Fn(&str) -> bool) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_leftover(name) {
            continue;
        }
        let path = dir.join(name);
        // `file_type` does not follow links: a link is removed itself, never its target.
        if entry.file_type()?.is_dir() {
            fs_err::remove_dir_all(&path)?;
        } else {
            fs_err::remove_file(&path)?;
        }
        removed += 1;
    }
    Ok(removed)
}

/// `.<job>.staging-…` or `.<job>.old-…`. Job folders never start with a dot.
fn is_leftover(name: &str) -> bool {
    name.starts_with('.') && (name.contains(STAGING) || name.contains(OLD))
}

/// `<stem>/<job>`, each a plain folder name. Both are checked by the manifest rules
/// already; this guards the renames against a malformed id all the same.
fn split_job_id(job_id: &str) -> io::Result<(&str, &str)> {
    let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\']);
    match job_id.split_once('/') {
        Some((stem, job)) if plain(stem) && plain(job) && !job.starts_with('.') => Ok((stem, job)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid job id {job_id:?}: expected <manifest-stem>/<job-name>"),
        )),
    }
}

/// Creates `dir` if needed, and refuses a symlink there: renames inside it would land
/// wherever the link points.
fn ensure_real_dir(dir: &Utf8Path) -> io::Result<()> {
    match fs_err::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::other(format!(
            "refusing to write into {dir}: it is a symbolic link; remove it or choose another output folder"
        ))),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "cannot write into {dir}: it exists and is not a folder"
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs_err::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

/// Makes the renames durable across a power cut; a failure only weakens that promise, so
/// it is not an error.
fn sync_dir(dir: &Utf8Path) {
    #[cfg(unix)]
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn annotate(e: io::Error, context: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{context}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
        (dir, path)
    }

    fn names(dir: &Utf8Path) -> Vec<String> {
        let mut v: Vec<String> = fs_err::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    fn stage(out: &Utf8Path, files: &[(&str, &str)]) -> Staging {
        let s = Staging::new(out, "m/job").unwrap();
        for (rel, text) in files {
            crate::atomic::write(&s.path(rel), text.as_bytes()).unwrap();
        }
        s
    }

    #[test]
    fn staging_sits_beside_the_final_folder() {
        let (_keep, out) = tmp();
        let s = Staging::new(&out, "m/job").unwrap();
        assert_eq!(s.files_dir(), s.path("files"));
        assert!(s.files_dir().is_dir());
        let staged = s.path("");
        assert_eq!(staged.parent(), Some(out.join("m").as_path()));
        assert!(staged.file_name().unwrap().starts_with(".job.staging-"));
        assert_eq!(s.final_path(), out.join("m/job"));
    }

    #[test]
    fn commit_replaces_old_content_completely() {
        let (_keep, out) = tmp();
        let first = stage(&out, &[("report.md", "one"), ("files/extra.csv", "x")]);
        let dir = first.commit().unwrap();
        assert_eq!(dir, out.join("m/job"));
        assert_eq!(names(&dir.join("files")), ["extra.csv"]);

        let second = stage(&out, &[("report.md", "two")]);
        let dir = second.commit().unwrap();
        assert_eq!(
            fs_err::read_to_string(dir.join("report.md")).unwrap(),
            "two"
        );
        assert!(names(&dir.join("files")).is_empty());
        assert_eq!(names(&out.join("m")), ["job"]);
    }

    #[test]
    fn dropping_without_commit_keeps_the_old_output() {
        let (_keep, out) = tmp();
        stage(&out, &[("report.md", "one")]).commit().unwrap();
        drop(stage(&out, &[("report.md", "two")]));
        assert_eq!(names(&out.join("m")), ["job"]);
        let report = fs_err::read_to_string(out.join("m/job/report.md")).unwrap();
        assert_eq!(report, "one");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_job_path_is_replaced_and_its_target_untouched() {
        let (_keep, out) = tmp();
        let (_keep2, elsewhere) = tmp();
        crate::atomic::write(&elsewhere.join("precious.txt"), b"keep me").unwrap();
        fs_err::create_dir_all(out.join("m")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("m/job")).unwrap();

        let dir = stage(&out, &[("report.md", "new")]).commit().unwrap();
        assert!(!fs_err::symlink_metadata(&dir).unwrap().is_symlink());
        assert_eq!(names(&dir), ["files", "report.md"]);
        assert_eq!(names(&elsewhere), ["precious.txt"]);
        let kept = fs_err::read_to_string(elsewhere.join("precious.txt")).unwrap();
        assert_eq!(kept, "keep me");
        assert_eq!(names(&out.join("m")), ["job"]);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symlinked_manifest_folder() {
        let (_keep, out) = tmp();
        let (_keep2, elsewhere) = tmp();
        std::os::unix::fs::symlink(&elsewhere, out.join("m")).unwrap();
        let err = Staging::new(&out, "m/job").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(names(&elsewhere).is_empty());
    }

    #[test]
    fn rejects_malformed_job_ids() {
        let (_keep, out) = tmp();
        for id in ["job", "../job", "m/..", "m/a/b", "/job", "m/", "m/.hidden"] {
            assert!(Staging::new(&out, id).is_err(), "{id}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn clean_stale_removes_leftovers_only() {
        let (_keep, out) = tmp();
        let (_keep2, elsewhere) = tmp();
        crate::atomic::write(&elsewhere.join("precious.txt"), b"x").unwrap();
        stage(&out, &[("report.md", "done")]).commit().unwrap();
        // What a killed run leaves behind.
        let staging = stage(&out, &[("report.md", "half")]);
        let _ = staging.dir.keep();
        fs_err::create_dir_all(out.join("m/.job.old-abc123/job/files")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("m/.other.old-xyz")).unwrap();
        crate::atomic::write(&out.join(".runner-tmp-run.json"), b"{").unwrap();
        crate::atomic::write(&out.join("run.json"), b"{}").unwrap();

        assert_eq!(clean_stale(&out).unwrap(), 4);
        assert_eq!(names(&out), ["m", "run.json"]);
        assert_eq!(names(&out.join("m")), ["job"]);
        assert_eq!(names(&elsewhere), ["precious.txt"]);
        assert_eq!(clean_stale(&out).unwrap(), 0);
    }

    #[test]
    fn clean_stale_accepts_a_missing_root() {
        let (_keep, out) = tmp();
        assert_eq!(clean_stale(&out.join("nope")).unwrap(), 0);
    }
}
