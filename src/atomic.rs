//! Atomic file writes: a temporary file in the destination folder, synced, then renamed
//! over the destination. A run killed at any point leaves either the old file or the new
//! one, never a torn one. Every file the runner writes goes through here.

use std::io::Write;

use camino::Utf8Path;

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// Like [`write`], but lets the caller stream into the temporary file (e.g. a download).
pub fn write_with(
    path: &Utf8Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_str().is_empty())
        .unwrap_or(Utf8Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".runner-tmp-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, path))?;
    fill(tmp.as_file_mut()).map_err(|e| with_path(e, path))?;
    tmp.as_file().sync_all().map_err(|e| with_path(e, path))?;
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    Ok(())
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
}
