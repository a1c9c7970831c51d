//! Stage 2: turn input paths and globs into files, relative to the manifest's folder.
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
pub struct InputFile {
    /// The path as the user would write it: relative to the manifest folder, `/`-separated.
    pub rel: String,
    /// The path to open.
    pub abs: Utf8PathBuf,
    /// The file name: what the Files API and the container see.
    pub name: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    NoMatch,
    NotFound,
    NotAFile,
    BadGlob(String),
    NonUtf8(String),
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
            ExpandError::BadGlob(e) => write!(f, "is not a valid glob: {e}"),
            ExpandError::NonUtf8(p) => write!(
                f,
                "matches a path that is not valid UTF-8 ({p}); rename it or narrow the pattern"
            ),
            ExpandError::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

/// Expands patterns, remembering each result so shared patterns are walked once.
#[derive(Default)]
pub struct Expander {
    cache: BTreeMap<(Utf8PathBuf, String), Result<Vec<InputFile>, ExpandError>>,
}

impl Expander {
    pub fn expand(
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
pub fn expand(base: &Utf8Path, pattern: &str) -> Result<Vec<InputFile>, ExpandError> {
    if !is_glob(pattern) {
        return literal(base, pattern).map(|f| vec![f]);
    }
    // Split at the first component holding a glob character: walk from the literal part.
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
    let walker = walkdir::WalkDir::new(&walk_root)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1);
    for entry in walker {
        let entry = entry.map_err(|e| ExpandError::Io(e.to_string()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel_to_root = entry
            .path()
            .strip_prefix(&walk_root)
            .map_err(|e| ExpandError::Io(e.to_string()))?;
        let Some(rel_str) = rel_to_root.to_str() else {
            return Err(ExpandError::NonUtf8(
                entry.path().to_string_lossy().into_owned(),
            ));
        };
        if !matcher.is_match(rel_str) {
            continue;
        }
        let abs = Utf8PathBuf::try_from(entry.path().to_path_buf())
            .map_err(|e| ExpandError::NonUtf8(e.into_path_buf().to_string_lossy().into_owned()))?;
        let size = entry
            .metadata()
            .map_err(|e| ExpandError::Io(e.to_string()))?
            .len();
        found.push(InputFile {
            rel: format!("{root}{rel_str}"),
            name: abs.file_name().unwrap_or_default().to_owned(),
            abs,
            size,
        });
    }
    if found.is_empty() {
        return Err(ExpandError::NoMatch);
    }
    found.sort();
    Ok(found)
}

fn literal(base: &Utf8Path, pattern: &str) -> Result<InputFile, ExpandError> {
    let abs = base.join(pattern);
    let meta = match fs_err::metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ExpandError::NotFound),
        Err(e) => return Err(ExpandError::Io(e.to_string())),
    };
    if !meta.is_file() {
        return Err(ExpandError::NotAFile);
    }
    Ok(InputFile {
        rel: pattern.trim_start_matches("./").to_owned(),
        name: abs.file_name().unwrap_or_default().to_owned(),
        abs,
        size: meta.len(),
    })
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
}
