//! Atomic file writes: a temporary file in the destination folder, synced, then renamed
//! over the destination. A run killed at any point leaves either the old file or the new
//! one, never a torn one. Every file the runner writes goes through here.
//!
//! Files are created as `open(2)` creates them, 0666 less the umask (0644 under the usual
//! 022), and staged folders as `mkdir(2)` creates them (0755 under 022), so colleagues and
//! web servers can read the reports. Private files (the state dir's caches) tighten their
//! own mode.

use std::io::Write;

use camino::Utf8Path;

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub(crate) fn write(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// Like [`write`], then syncs the folder too, so the new name survives a power cut, not
/// only a kill: for records whose loss would cost money (batch mode's intents and records).
pub(crate) fn write_durable(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    write(path, bytes)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_str().is_empty())
        .unwrap_or(Utf8Path::new("."));
    fs_err::File::open(dir)?.sync_all()
}

/// Like [`write`], but lets the caller stream into the temporary file (e.g. a download).
pub(crate) fn write_with(
    path: &Utf8Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = staged(path, fill)?;
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    Ok(())
}

/// Like [`write`], but never replaces an existing file: fails with
/// [`std::io::ErrorKind::AlreadyExists`] if `path` exists when the file is moved into place.
pub(crate) fn write_new(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = staged(path, |file| file.write_all(bytes))?;
    // A hard link, then the temporary name goes: no window where `path` is half written,
    // and no way to replace a file someone else created meanwhile.
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary file beside `path` (its folder created if needed), filled and synced,
/// ready to be moved into place.
fn staged(
    path: &Utf8Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_str().is_empty())
        .unwrap_or(Utf8Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir, ".runner-tmp-").map_err(|e| with_path(e, path))?;
    fill(tmp.as_file_mut()).map_err(|e| with_path(e, path))?;
    tmp.as_file().sync_all().map_err(|e| with_path(e, path))?;
    Ok(tmp)
}

/// A temporary file in `dir`, to be renamed into place, with the mode a new file gets
/// (tempfile's default is 0600 whatever the umask).
pub(crate) fn temp_file_in(
    dir: &Utf8Path,
    prefix: &str,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir)
}

/// A temporary folder in `dir`, to be renamed into place (a job folder being staged), with
/// the mode a new folder gets: 0777 less the umask (tempfile's default is 0700).
pub(crate) fn temp_dir_in(dir: &Utf8Path, prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777));
    builder.tempdir_in(dir)
}

fn with_path(e: std::io::Error, path: &Utf8Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("failed to write {path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = camino::Utf8PathBuf::try_from(dir.path().join("sub/a.txt")).unwrap();
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = fs_err::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    #[test]
    fn write_new_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = camino::Utf8PathBuf::try_from(dir.path().join("a.txt")).unwrap();
        write_new(&path, b"one").unwrap();
        let e = write_new(&path, b"two").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "one");
        assert_eq!(
            fs_err::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    /// Output files follow the umask like any file `open(2)` creates; tests run with the
    /// process umask, whatever it is, and check the mode is exactly what it allows.
    #[cfg(unix)]
    #[test]
    fn files_follow_the_umask_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = camino::Utf8PathBuf::try_from(dir.path().join("report.md")).unwrap();
        write(&path, b"x").unwrap();
        let mode = fs_err::metadata(&path).unwrap().permissions().mode() & 0o777;
        // What a plain create gives, as the reference.
        let plain = dir.path().join("plain");
        drop(fs_err::File::create(&plain).unwrap());
        let expected = fs_err::metadata(&plain).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{mode:o} vs {expected:o}");
    }
}
