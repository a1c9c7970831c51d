//! Input paths and globs turned into files, relative to the manifest's folder.
//!
//! A pattern is split into its literal leading directories and a glob remainder; only the
//! literal directory is walked, so `data/*.csv` never reads the rest of the tree. Globs are
//! compiled once with `*` not crossing `/` (globset's default would let it), results are
//! sorted, and each (folder, pattern) is expanded once however many jobs name it.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use globset::GlobBuilder;

/// One input file, as matched.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct InputFile {
    /// The path as the user would write it: relative to the manifest folder, `/`-separated.
    pub rel: String,
    /// The path to open.
    pub abs: Utf8PathBuf,
    /// The file name: what the Files API and the container see.
    pub name: String,
    pub size: u64,
    /// Its modification time, when the file system gives one (`max_input_age`).
    pub modified: Option<std::time::SystemTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExpandError {
    NoMatch,
    NotFound,
    /// A literal path names a folder.
    NotAFile,
    /// A FIFO, socket or device, named literally (`matched: None`) or matched by a glob.
    /// Never opened: opening a FIFO for reading waits for a writer, forever.
    Special {
        matched: Option<String>,
        kind: &'static str,
    },
    BadGlob(String),
    NonUtf8(String),
    /// The file exists but cannot be read (e.g. no permission); `matched` as above.
    Unreadable {
        matched: Option<String>,
        reason: String,
    },
    Io(String),
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::NoMatch => f.write_str("matches no file"),
            ExpandError::NotFound => f.write_str("no such file"),
            ExpandError::NotAFile => {
                f.write_str("is not a regular file (name the files, e.g. `dir/*.csv`)")
            }
            ExpandError::Special {
                matched: None,
                kind,
            } => write!(f, "is {kind}, not a regular file"),
            ExpandError::Special {
                matched: Some(path),
                kind,
            } => write!(
                f,
                "matches `{path}`, which is {kind}, not a regular file; narrow the pattern"
            ),
            ExpandError::BadGlob(e) => write!(f, "is not a valid glob: {e}"),
            ExpandError::NonUtf8(p) => write!(
                f,
                "matches a path that is not valid UTF-8 ({p}); rename it or narrow the pattern"
            ),
            ExpandError::Unreadable {
                matched: None,
                reason,
            } => write!(f, "cannot be read: {reason}"),
            ExpandError::Unreadable {
                matched: Some(path),
                reason,
            } => write!(f, "matches `{path}`, which cannot be read: {reason}"),
            ExpandError::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

/// Expands patterns, remembering each result so shared patterns are walked once.
#[derive(Default)]
pub(crate) struct Expander {
    cache: BTreeMap<(Utf8PathBuf, String), Result<Vec<InputFile>, ExpandError>>,
}

impl Expander {
    pub(crate) fn expand(
        &mut self,
        base: &Utf8Path,
        pattern: &str,
    ) -> Result<Vec<InputFile>, ExpandError> {
        self.cache
            .entry((base.to_owned(), pattern.to_owned()))
            .or_insert_with(|| expand(base, pattern))
            .clone()
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Expands one pattern relative to `base` (the manifest's folder).
pub(crate) fn expand(base: &Utf8Path, pattern: &str) -> Result<Vec<InputFile>, ExpandError> {
    if !is_glob(pattern) {
        return literal(base, pattern).map(|f| vec![f]);
    }
    let (root, rest) = literal_root(pattern);
    let matcher = GlobBuilder::new(rest)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| ExpandError::BadGlob(e.kind().to_string()))?
        .compile_matcher();
    let walk_root = if root.is_empty() {
        base.to_owned()
    } else {
        base.join(&root)
    };
    if !walk_root.is_dir() {
        return Err(ExpandError::NoMatch);
    }
    let mut found = Vec::new();
    // Without `**`, a pattern cannot match deeper than its own number of components:
    // `/*.csv` reads one folder, not the whole disk.
    let depth = if rest.contains("**") {
        usize::MAX
    } else {
        rest.split('/').count()
    };
    let walker = walkdir::WalkDir::new(&walk_root)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1)
        .max_depth(depth);
    for entry in walker {
        let entry = entry.map_err(|e| ExpandError::Io(e.to_string()))?;
        // With links followed, this is the type of what a link points to.
        if entry.file_type().is_dir() {
            continue;
        }
        let rel_to_root = entry
            .path()
            .strip_prefix(&walk_root)
            .map_err(|e| ExpandError::Io(e.to_string()))?;
        // Matched as bytes, so a file with a non-UTF-8 name is an error only when it is
        // one the pattern asks for.
        if matcher.is_match(rel_to_root) {
            found.push(matched(&entry, &root, rel_to_root)?);
        }
    }
    if found.is_empty() {
        return Err(ExpandError::NoMatch);
    }
    found.sort();
    Ok(found)
}

/// The pattern split at its first component holding a glob character: the literal folder
/// to walk from (with its trailing `/`, or empty), and the glob below it.
fn literal_root(pattern: &str) -> (String, &str) {
    let mut root = String::new();
    let mut rest = pattern;
    while let Some((head, tail)) = rest.split_once('/') {
        if is_glob(head) {
            break;
        }
        root.push_str(head);
        root.push('/');
        rest = tail;
    }
    (root, rest)
}

/// A walked entry the glob matched, at `root` + `rel_to_root`: a readable regular file
/// with a UTF-8 path, else the error naming it.
fn matched(
    entry: &walkdir::DirEntry,
    root: &str,
    rel_to_root: &std::path::Path,
) -> Result<InputFile, ExpandError> {
    let Some(rel_str) = rel_to_root.to_str() else {
        return Err(ExpandError::NonUtf8(
            entry.path().to_string_lossy().into_owned(),
        ));
    };
    let rel = format!("{root}{rel_str}");
    if let Some(kind) = special_kind(&entry.file_type()) {
        return Err(ExpandError::Special {
            matched: Some(rel),
            kind,
        });
    }
    let abs = Utf8PathBuf::try_from(entry.path().to_path_buf())
        .map_err(|e| ExpandError::NonUtf8(e.into_path_buf().to_string_lossy().into_owned()))?;
    let meta = entry
        .metadata()
        .map_err(|e| ExpandError::Io(e.to_string()))?;
    let (size, modified) = (meta.len(), meta.modified().ok());
    if let Err(reason) = check_readable(&abs) {
        return Err(ExpandError::Unreadable {
            matched: Some(rel),
            reason,
        });
    }
    Ok(InputFile {
        rel,
        name: abs.file_name().unwrap_or_default().to_owned(),
        abs,
        size,
        modified,
    })
}

fn literal(base: &Utf8Path, pattern: &str) -> Result<InputFile, ExpandError> {
    let abs = base.join(pattern);
    let meta = match fs_err::metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ExpandError::NotFound),
        Err(e) => return Err(ExpandError::Io(e.to_string())),
    };
    if meta.is_dir() {
        return Err(ExpandError::NotAFile);
    }
    if let Some(kind) = special_kind(&meta.file_type()) {
        return Err(ExpandError::Special {
            matched: None,
            kind,
        });
    }
    check_readable(&abs).map_err(|reason| ExpandError::Unreadable {
        matched: None,
        reason,
    })?;
    Ok(InputFile {
        rel: pattern.trim_start_matches("./").to_owned(),
        name: abs.file_name().unwrap_or_default().to_owned(),
        abs,
        size: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// What a path is when it is neither a regular file nor a folder, in words; `None` for a
/// regular file or a folder. Decided from metadata alone, without opening anything.
pub(crate) fn special_kind(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() || file_type.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("a device");
        }
    }
    Some("a special file")
}

/// Opens a file known to be regular, so that `validate` reports a file it will not be
/// able to read (permissions) instead of the run failing at hashing time.
fn check_readable(path: &Utf8Path) -> Result<(), String> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        })
}

/// Reads a small text file the manifest names (a manifest, a `prompt_file`) after checking
/// that it is a regular file: reading a FIFO would wait forever for a writer.
pub(crate) fn read_text(path: &Utf8Path) -> std::io::Result<String> {
    let meta = fs_err::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a folder, not a file"));
    }
    if let Some(kind) = special_kind(&meta.file_type()) {
        return Err(std::io::Error::other(format!(
            "it is {kind}, not a regular file"
        )));
    }
    fs_err::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let base = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
        for p in ["data/b.csv", "data/a.csv", "data/sub/c.csv", "data/x.json"] {
            let path = base.join(p);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, p).unwrap();
        }
        (dir, base)
    }

    fn rels(v: &[InputFile]) -> Vec<&str> {
        v.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn star_does_not_cross_slash_and_results_are_sorted() {
        let (_d, base) = tree();
        let got = expand(&base, "data/*.csv").unwrap();
        assert_eq!(rels(&got), ["data/a.csv", "data/b.csv"]);
        assert_eq!(got[0].name, "a.csv");
        assert_eq!(got[0].size, 10);
    }

    #[test]
    fn double_star_and_braces() {
        let (_d, base) = tree();
        let got = expand(&base, "data/**/*.{csv,json}").unwrap();
        assert_eq!(
            rels(&got),
            ["data/a.csv", "data/b.csv", "data/sub/c.csv", "data/x.json"]
        );
    }

    #[test]
    fn literal_paths_and_errors() {
        let (_d, base) = tree();
        assert_eq!(
            rels(&expand(&base, "./data/x.json").unwrap()),
            ["data/x.json"]
        );
        assert_eq!(expand(&base, "data/nope.csv"), Err(ExpandError::NotFound));
        assert_eq!(expand(&base, "data"), Err(ExpandError::NotAFile));
        assert_eq!(expand(&base, "data/*.parquet"), Err(ExpandError::NoMatch));
        assert_eq!(expand(&base, "nodir/*.csv"), Err(ExpandError::NoMatch));
        assert!(matches!(
            expand(&base, "data/[.csv"),
            Err(ExpandError::BadGlob(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_reported_by_kind_and_never_opened() {
        let (_d, base) = tree();
        let fifo = base.join("data/pipe.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let _socket = std::os::unix::net::UnixListener::bind(base.join("data/sock.csv")).unwrap();
        std::os::unix::fs::symlink(&fifo, base.join("data/link-to-pipe.txt")).unwrap();
        let special = |matched: Option<&str>, kind| ExpandError::Special {
            matched: matched.map(str::to_owned),
            kind,
        };
        // Each of these would block forever if the FIFO were opened.
        assert_eq!(
            expand(&base, "data/pipe.csv"),
            Err(special(None, "a FIFO (named pipe)"))
        );
        assert_eq!(
            expand(&base, "data/link-to-pipe.txt"),
            Err(special(None, "a FIFO (named pipe)"))
        );
        assert_eq!(
            expand(&base, "data/sock.csv"),
            Err(special(None, "a socket"))
        );
        assert_eq!(
            expand(&base, "data/*.csv"),
            Err(special(Some("data/pipe.csv"), "a FIFO (named pipe)"))
        );
        assert_eq!(
            expand(&base, "data/*.txt"),
            Err(special(
                Some("data/link-to-pipe.txt"),
                "a FIFO (named pipe)"
            ))
        );
        // Patterns that do not ask for them are unaffected.
        assert_eq!(
            rels(&expand(&base, "data/*.json").unwrap()),
            ["data/x.json"]
        );
        assert_eq!(
            special(Some("data/pipe.csv"), "a FIFO (named pipe)").to_string(),
            "matches `data/pipe.csv`, which is a FIFO (named pipe), not a regular file; narrow the pattern"
        );
        let text = read_text(&fifo).unwrap_err().to_string();
        assert_eq!(text, "it is a FIFO (named pipe), not a regular file");
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_name_is_an_error_only_when_the_pattern_matches_it() {
        use std::os::unix::ffi::OsStrExt;
        let (_d, base) = tree();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.csv");
        fs_err::write(base.as_std_path().join("data").join(name), "x").unwrap();
        match expand(&base, "data/*.csv") {
            Err(ExpandError::NonUtf8(path)) => {
                assert!(path.ends_with("data/caf\u{FFFD}.csv"), "{path}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            rels(&expand(&base, "data/*.json").unwrap()),
            ["data/x.json"]
        );
        assert_eq!(
            rels(&expand(&base, "data/{a,b}.csv").unwrap()),
            ["data/a.csv", "data/b.csv"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_reported_at_validation() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, base) = tree();
        let path = base.join("data/a.csv");
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::File::open(&path).is_ok() {
            eprintln!("note: running with privileges that ignore file modes (root?); skipped");
            return;
        }
        let unreadable = |matched: Option<&str>| ExpandError::Unreadable {
            matched: matched.map(str::to_owned),
            reason: "permission denied".into(),
        };
        assert_eq!(expand(&base, "data/a.csv"), Err(unreadable(None)));
        assert_eq!(
            expand(&base, "data/*.csv"),
            Err(unreadable(Some("data/a.csv")))
        );
    }
}
