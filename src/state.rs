//! The state dir: where the hash cache and the upload cache live across runs.
//!
//! Created private to the user (0700), because the upload cache reveals which files were
//! sent where. Writers take an exclusive lock on `state.lock` for each read-modify-write,
//! so two runners sharing the dir never lose each other's entries.

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Error;

/// Resolves the state dir: the flag or `RUNNER_STATE_DIR` (both arrive through clap), else
/// `$XDG_STATE_HOME/runner`, else `~/.local/state/runner`.
pub fn resolve(flag: Option<&Utf8Path>) -> Result<Utf8PathBuf, Error> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Utf8PathBuf::from)
    };
    if let Some(xdg) = from_env("XDG_STATE_HOME") {
        return Ok(xdg.join("runner"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local/state/runner"));
    }
    Err(Error::Setup(
        "cannot find a state dir: set --state-dir, RUNNER_STATE_DIR, XDG_STATE_HOME or HOME".into(),
    ))
}

/// An open state dir, created with private permissions.
#[derive(Clone, Debug)]
pub struct StateDir {
    pub root: Utf8PathBuf,
}

impl StateDir {
    pub fn open(root: &Utf8Path) -> Result<StateDir, Error> {
        let fail = |e: std::io::Error| Error::Setup(format!("cannot create state dir {root}: {e}"));
        fs_err::create_dir_all(root).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(root, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        }
        Ok(StateDir {
            root: root.to_owned(),
        })
    }

    pub fn path(&self, name: &str) -> Utf8PathBuf {
        self.root.join(name)
    }

    /// Holds the state lock until the guard is dropped.
    pub fn lock(&self) -> Result<StateLock, Error> {
        let path = self.path("state.lock");
        let file = open_lock_file(&path)?;
        file.file()
            .lock()
            .map_err(|e| Error::Setup(format!("cannot lock {path}: {e}")))?;
        Ok(StateLock { _file: file })
    }
}

/// Dropping the file releases the lock.
pub struct StateLock {
    _file: fs_err::File,
}

/// Opens (creating) a file that exists only to be locked; its content is never used. A
/// symlink in its place is refused rather than followed (it would create a file wherever
/// it points).
pub fn open_lock_file(path: &Utf8Path) -> Result<fs_err::File, Error> {
    if fs_err::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Setup(format!(
            "{path} is a symlink; remove it (the runner never follows links for writing)"
        )));
    }
    fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::Setup(format!("cannot open {path}: {e}")))
}

/// Writes a state file atomically and private to the user (0600).
pub fn write_private(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::atomic::write_with(path, |file| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        std::io::Write::write_all(file, bytes)
    })
}
