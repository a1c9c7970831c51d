//! A custom skill folder, read and checked before any request: its `SKILL.md` frontmatter
//! follows the API's rules, it holds no links, its files add up to at most 30 MB, and its
//! content hash (names and bytes) is what the fingerprint and the skill cache key on
//! (docs/api.md §14.2, docs/manifest.md "Skills").

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::api::facts::{
    MAX_SKILL_UPLOAD_BYTES, SKILL_FILE, bad_skill_description, bad_skill_name,
};

/// A skill folder as checked: what the upload sends and what the fingerprint hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SkillFolder {
    /// The folder as written in the manifest (shown in `plan` and job.json).
    pub folder: String,
    /// Where it is on disk.
    #[serde(skip)]
    pub dir: Utf8PathBuf,
    /// The frontmatter `name`: the skill's slug, and the top folder of its upload.
    pub name: String,
    #[serde(skip)]
    pub description: String,
    /// blake3 over every file's relative path and bytes, in path order.
    pub blake3: String,
    /// Bytes of all its files.
    pub size: u64,
    /// Its files, relative to `dir`, `/`-separated, sorted.
    #[serde(skip)]
    pub files: Vec<String>,
}

/// `SKILL.md`'s frontmatter; other keys (`license`, `allowed-tools`, …) are the API's.
#[derive(Deserialize)]
struct Frontmatter {
    name: Option<String>,
    description: Option<String>,
}

/// Reads and checks the folder `dir` (written as `folder`); `Err` is the user's message.
pub(super) fn read(folder: &str, dir: &Utf8Path) -> Result<SkillFolder, String> {
    if !dir.is_dir() {
        return Err(format!(
            "skill folder `{folder}` does not exist or is not a folder"
        ));
    }
    let files = list(dir)?;
    if !files.iter().any(|f| f == SKILL_FILE) {
        return Err(format!(
            "skill folder `{folder}` has no {SKILL_FILE} at its top"
        ));
    }
    let (blake3, size) = hash(dir, &files)?;
    if size > MAX_SKILL_UPLOAD_BYTES {
        return Err(format!(
            "skill folder `{folder}` holds {size} bytes, more than the API's {MAX_SKILL_UPLOAD_BYTES}"
        ));
    }
    let text = fs_err::read_to_string(dir.join(SKILL_FILE)).map_err(|e| e.to_string())?;
    let (name, description) =
        frontmatter(&text).map_err(|e| format!("{folder}/{SKILL_FILE}: {e}"))?;
    Ok(SkillFolder {
        folder: folder.to_owned(),
        dir: dir.to_owned(),
        name,
        description,
        blake3,
        size,
        files,
    })
}

/// Every file under `dir`, sorted; hidden entries (`.git`, `.DS_Store`) are skipped, and a
/// link is refused: what is uploaded must be what the hash saw.
fn list(dir: &Utf8Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| e.to_string())?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(|e| e.to_string())?
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", entry.path().display()))?
            .replace('\\', "/");
        if entry.path_is_symlink() {
            return Err(format!(
                "`{rel}` is a link; a skill folder holds only files"
            ));
        }
        if entry.file_type().is_file() {
            files.push(rel);
        }
    }
    files.sort();
    Ok(files)
}

/// blake3 over each file's path, a NUL, its size (u64 little-endian) and its bytes, in
/// path order: the folder's content hash.
#[derive(Default)]
struct ContentHash(blake3::Hasher);

impl ContentHash {
    fn add(&mut self, rel: &str, bytes: &[u8]) {
        self.0.update(rel.as_bytes());
        self.0.update(&[0]);
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn hex(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

/// The content hash and total size; reading stops past the size limit.
fn hash(dir: &Utf8Path, files: &[String]) -> Result<(String, u64), String> {
    let mut hash = ContentHash::default();
    let mut total = 0u64;
    for rel in files {
        let bytes = fs_err::read(dir.join(rel)).map_err(|e| e.to_string())?;
        total += bytes.len() as u64;
        if total > MAX_SKILL_UPLOAD_BYTES {
            return Ok((String::new(), total));
        }
        hash.add(rel, &bytes);
    }
    Ok((hash.hex(), total))
}

impl SkillFolder {
    /// Its files' bytes, in `files` order, for the upload. A folder changed since it was
    /// checked is refused, so what is uploaded is what the fingerprint says.
    pub(crate) fn read_files(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut hash = ContentHash::default();
        let mut all = Vec::with_capacity(self.files.len());
        for rel in &self.files {
            let bytes = fs_err::read(self.dir.join(rel)).map_err(|e| e.to_string())?;
            hash.add(rel, &bytes);
            all.push(bytes);
        }
        if hash.hex() != self.blake3 {
            return Err("the folder changed since the run started; run again".into());
        }
        Ok(all)
    }
}

/// `name` and `description` from the `---`-fenced YAML at the top of `SKILL.md`, checked.
fn frontmatter(text: &str) -> Result<(String, String), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("expected YAML frontmatter between `---` lines at the top")?;
    let end = body
        .find("\n---")
        .ok_or("the frontmatter has no closing `---` line")?;
    let fm: Frontmatter = serde_saphyr::from_str(&body[..end])
        .map_err(|e| format!("the frontmatter is not valid YAML: {e}"))?;
    let name = fm.name.ok_or("the frontmatter has no `name`")?;
    if let Some(why) = bad_skill_name(&name) {
        return Err(format!(
            "frontmatter `name` {name:?} is not a valid skill name: {why}"
        ));
    }
    let description = fm
        .description
        .ok_or("the frontmatter has no `description`")?;
    if let Some(why) = bad_skill_description(&description) {
        return Err(format!("frontmatter `description` is not valid: {why}"));
    }
    Ok((name, description))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(skill_md: &str) -> (tempfile::TempDir, Utf8PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(tmp.path().join("house")).unwrap();
        fs_err::create_dir_all(dir.join("lib")).unwrap();
        fs_err::write(dir.join(SKILL_FILE), skill_md).unwrap();
        fs_err::write(dir.join("lib/colours.py"), "BLUE = '#123'\n").unwrap();
        (tmp, dir)
    }

    const GOOD: &str = "---\nname: house-style\ndescription: Our charts.\n---\n# Body\n";

    #[test]
    fn a_good_folder_is_read_with_its_files_and_hash() {
        let (_t, dir) = folder(GOOD);
        let f = read("house", &dir).unwrap();
        assert_eq!(f.name, "house-style");
        assert_eq!(f.files, ["SKILL.md", "lib/colours.py"]);
        assert_eq!(f.blake3.len(), 64);
        let again = read("elsewhere", &dir).unwrap();
        assert_eq!(
            again.blake3, f.blake3,
            "the hash is of content, not of the name written"
        );
    }

    #[test]
    fn one_changed_byte_changes_the_hash_and_hidden_files_do_not() {
        let (_t, dir) = folder(GOOD);
        let before = read("house", &dir).unwrap().blake3;
        fs_err::write(dir.join(".DS_Store"), "x").unwrap();
        assert_eq!(read("house", &dir).unwrap().blake3, before);
        fs_err::write(dir.join("lib/colours.py"), "BLUE = '#124'\n").unwrap();
        assert_ne!(read("house", &dir).unwrap().blake3, before);
    }

    #[test]
    fn a_folder_changed_after_the_check_is_not_uploaded() {
        let (_t, dir) = folder(GOOD);
        let f = read("house", &dir).unwrap();
        assert_eq!(f.read_files().unwrap().len(), 2);
        fs_err::write(dir.join("lib/colours.py"), "changed").unwrap();
        assert!(f.read_files().unwrap_err().contains("changed since"));
    }

    #[test]
    fn frontmatter_rules_are_the_apis() {
        for (md, want) in [
            ("# no frontmatter\n", "frontmatter between"),
            ("---\nname: Big\ndescription: d\n---\n", "only lowercase"),
            (
                "---\nname: my-claude\ndescription: d\n---\n",
                "reserved word \"claude\"",
            ),
            ("---\nname: ok\ndescription: a <b>tag</b>\n---\n", "XML tag"),
            ("---\nname: ok\n---\n", "no `description`"),
            ("---\nname: ok\ndescription: d\n", "no closing"),
        ] {
            let (_t, dir) = folder(md);
            let err = read("house", &dir).unwrap_err();
            assert!(err.contains(want), "{md:?}: {err}");
        }
        assert!(bad_skill_description("a < b and c > d").is_none());
    }

    #[test]
    fn a_missing_skill_md_or_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
        assert!(
            read("x", &dir.join("nope"))
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(read("x", &dir).unwrap_err().contains("no SKILL.md"));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_refused() {
        let (_t, dir) = folder(GOOD);
        std::os::unix::fs::symlink("/etc/passwd", dir.join("lib/passwd")).unwrap();
        assert!(read("house", &dir).unwrap_err().contains("is a link"));
    }
}
