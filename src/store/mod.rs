//! The state dir: where the hash cache, the upload, skill and model caches live across
//! runs. An edge: it knows files and locks, not jobs or plans. (Where the dir is comes from
//! the configuration.)
//!
//! Created private to the user (0700), because the upload cache reveals which files were
//! sent where. Writers take an exclusive lock on `state.lock` for each read-modify-write,
//! so two runners sharing the dir never lose each other's entries.

use camino::{Utf8Path, Utf8PathBuf};

pub(crate) mod damaged;
pub(crate) mod model_cache;
pub(crate) mod skill_cache;
pub(crate) mod upload_cache;

/// A state dir problem, naming the path.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("cannot create state dir {path}")]
    Create {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {path}")]
    Open {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}")]
    Lock {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is a symlink; remove it (the runner never follows links for writing)")]
    Symlink { path: Utf8PathBuf },
    #[error("cannot save {path}")]
    Save {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An open state dir, created with private permissions.
#[derive(Clone, Debug)]
pub(crate) struct StateDir {
    pub root: Utf8PathBuf,
}

impl StateDir {
    pub(crate) fn open(root: &Utf8Path) -> Result<StateDir, StoreError> {
        let fail = |source| StoreError::Create {
            path: root.to_owned(),
            source,
        };
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

    /// The state dir at `root`, to read from only: nothing is created or changed (for
    /// `validate`, which writes nothing). A missing dir reads as empty caches.
    pub(crate) fn read_only(root: &Utf8Path) -> StateDir {
        StateDir {
            root: root.to_owned(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> Utf8PathBuf {
        self.root.join(name)
    }

    /// Holds the state lock until the guard is dropped.
    pub(crate) fn lock(&self) -> Result<StateLock, StoreError> {
        let path = self.path("state.lock");
        let file = open_lock_file(&path)?;
        file.file()
            .lock()
            .map_err(|source| StoreError::Lock { path, source })?;
        Ok(StateLock { _file: file })
    }
}

/// Dropping the file releases the lock.
pub(crate) struct StateLock {
    _file: fs_err::File,
}

/// Opens (creating) a file that exists only to be locked; its content is never used. A
/// symlink in its place is refused rather than followed (it would create a file wherever
/// it points).
pub(crate) fn open_lock_file(path: &Utf8Path) -> Result<fs_err::File, StoreError> {
    if fs_err::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(StoreError::Symlink {
            path: path.to_owned(),
        });
    }
    fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.as_std_path())
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })
}

/// Writes a state file atomically and private to the user (0600).
pub(crate) fn write_private(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::atomic::write_with(path, |file| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        std::io::Write::write_all(file, bytes)
    })
}
