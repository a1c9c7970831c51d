//! Names for files the model generated. The name comes from the server and is hostile by
//! assumption: it may hold path separators, `..`, control characters, Windows device names
//! or be absurdly long. [`NameSet::claim`] turns any string into one safe, unique file
//! name for a job's `files/` folder; this module never touches the disk.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

/// Longest name, in bytes. Well under the 255-byte limit of common file systems, leaving
/// room for the `-N` of a collision and for the temporary names of atomic writes.
const MAX_BYTES: usize = 200;

/// An extension longer than this is treated as part of the name when truncating: it is
/// more likely a long tail after a stray dot than a real file type.
const MAX_EXT_BYTES: usize = 16;

const FALLBACK: &str = "file";

/// Characters Windows forbids in names; replaced so outputs copy cleanly to any system.
const FORBIDDEN: [char; 7] = ['<', '>', ':', '"', '|', '?', '*'];

/// The names taken in one job's `files/` folder.
#[derive(Debug, Default)]
pub(crate) struct NameSet {
    /// Case-folded, NFC keys: two names that a case-insensitive or normalising file system
    /// (macOS, Windows) would store as one file must not both be handed out.
    taken: BTreeSet<String>,
}

impl NameSet {
    pub(crate) fn new() -> NameSet {
        NameSet::default()
    }

    /// Returns a safe name derived from `raw`, unique in this set, and records it.
    pub(crate) fn claim(&mut self, raw: &str) -> String {
        let base = sanitise(raw);
        let (stem, ext) = split_ext(&base);
        let mut candidate = base.clone();
        let mut n = 2u64;
        while !self.taken.insert(key(&candidate)) {
            candidate = with_suffix(stem, ext, &format!("-{n}"));
            n += 1;
        }
        candidate
    }

    /// Names for `raws` in the order they were saved (oldest first), claimed newest first:
    /// when a later file has the same name as an earlier one, the later one gets the plain
    /// name and the earlier one is numbered. Returned in the order of `raws`.
    pub(crate) fn claim_newest_first(&mut self, raws: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = raws.iter().rev().map(|raw| self.claim(raw)).collect();
        names.reverse();
        names
    }
}

/// A single safe path component for `raw`, not yet made unique.
pub(crate) fn sanitise(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let last = last_component(strip_drive(&nfc));
    let cleaned: String = last
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if FORBIDDEN.contains(&c) { '_' } else { c })
        .collect();
    let trimmed = trim_edges(&cleaned);
    let name = if trimmed.is_empty() {
        FALLBACK.to_owned()
    } else {
        trimmed.to_owned()
    };
    let name = if is_reserved(&name) {
        format!("_{name}")
    } else {
        name
    };
    let (stem, ext) = split_ext(&name);
    with_suffix(stem, ext, "")
}

/// `C:x` is relative to drive C's current folder on Windows; the drive part is never
/// part of a name.
fn strip_drive(s: &str) -> &str {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), Some(':')) if letter.is_ascii_alphabetic() => &s[2..],
        _ => s,
    }
}

/// The last non-empty component, splitting on both separators so that a Windows path
/// cannot smuggle a folder in on Unix or the other way round.
fn last_component(s: &str) -> &str {
    s.split(['/', '\\'])
        .rev()
        .find(|c| !trim_edges(c).is_empty())
        .unwrap_or("")
}

/// Control characters break terminals and scripts; format characters (Unicode category
/// Cf) are invisible: bidirectional overrides make `evil\u{202E}gnp.exe` display as
/// `evilexe.png`, and a zero-width space makes `b\u{200B}.txt` look like `b.txt`.
fn is_invisible(c: char) -> bool {
    use unicode_general_category::{GeneralCategory, get_general_category};
    c.is_control() || get_general_category(c) == GeneralCategory::Format
}

/// Leading dots would hide the file (and make `.`/`..`); Windows drops trailing dots and
/// spaces, so `a.` and `a` would be the same file there.
fn trim_edges(s: &str) -> &str {
    s.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Windows device names, reserved with any extension (`con.txt` opens the console).
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let bytes = upper.as_bytes();
            bytes.len() == 4
                && (upper.starts_with("COM") || upper.starts_with("LPT"))
                && (b'1'..=b'9').contains(&bytes[3])
        }
    }
}

/// Splits off a short extension (`.png`), keeping it intact through truncation and
/// de-duplication. A name with no stem before the dot has no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= MAX_EXT_BYTES + 1 => name.split_at(i),
        _ => (name, ""),
    }
}

/// `stem + suffix + ext`, truncating the stem so the whole stays within [`MAX_BYTES`].
fn with_suffix(stem: &str, ext: &str, suffix: &str) -> String {
    let room = MAX_BYTES.saturating_sub(ext.len() + suffix.len());
    let mut cut = truncate(stem, room);
    // Truncation may expose a trailing dot or space, which must not end a name.
    cut = cut.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if cut.is_empty() {
        cut = FALLBACK;
    }
    format!("{cut}{suffix}{ext}")
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn key(name: &str) -> String {
    name.nfc()
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    fn one(raw: &str) -> String {
        NameSet::new().claim(raw)
    }

    #[test]
    fn table() {
        let long = "a".repeat(300);
        let long_png = format!("{}.png", "b".repeat(300));
        let cases: &[(&str, &str)] = &[
            ("plot.png", "plot.png"),
            ("../x", "x"),
            ("../../etc/passwd", "passwd"),
            ("/abs/path", "path"),
            ("/abs/dir/", "dir"),
            ("a/b/c.txt", "c.txt"),
            ("..\\x", "x"),
            ("C:\\x", "x"),
            ("C:x.txt", "x.txt"),
            ("C:", "file"),
            ("a\0b", "ab"),
            ("tab\there", "tabhere"),
            ("line\nbreak\r", "linebreak"),
            ("evil\u{202E}gnp.exe", "evilgnp.exe"),
            ("b\u{200B}.txt", "b.txt"),
            ("\u{FEFF}bom\u{2060}.csv\u{AD}", "bom.csv"),
            ("\u{200D}", "file"),
            (".", "file"),
            ("..", "file"),
            ("", "file"),
            ("   ", "file"),
            ("/", "file"),
            (".hidden", "hidden"),
            ("trailing. . ", "trailing"),
            ("what?<>:\"|*.txt", "what_______.txt"),
            ("CON", "_CON"),
            ("con.txt", "_con.txt"),
            ("Lpt9.tar.gz", "_Lpt9.tar.gz"),
            ("nul ", "_nul"),
            ("COM0", "COM0"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("COM10", "COM10"),
        ];
        for (raw, want) in cases {
            assert_eq!(&one(raw), want, "raw = {raw:?}");
        }
        assert_eq!(one(&long), "a".repeat(200));
        assert_eq!(one(&long_png), format!("{}.png", "b".repeat(196)));
    }

    #[test]
    fn truncates_on_char_boundary() {
        let raw = format!("{}.csv", "é".repeat(150));
        let got = one(&raw);
        assert!(got.len() <= MAX_BYTES);
        assert!(got.ends_with(".csv"));
        assert_eq!(got, format!("{}.csv", "é".repeat(98)));
    }

    #[test]
    fn long_extension_is_not_kept_whole() {
        let raw = format!("x.{}", "e".repeat(300));
        let got = one(&raw);
        assert_eq!(got.len(), MAX_BYTES);
        assert!(got.starts_with("x.eee"));
    }

    #[test]
    fn collisions_are_numbered_before_the_extension() {
        let mut set = NameSet::new();
        assert_eq!(set.claim("plot.png"), "plot.png");
        assert_eq!(set.claim("plot.png"), "plot-2.png");
        assert_eq!(set.claim("Plot.PNG"), "Plot-3.PNG");
        assert_eq!(set.claim("sub/plot.png"), "plot-4.png");
        assert_eq!(set.claim("README"), "README");
        assert_eq!(set.claim("readme"), "readme-2");
        assert_eq!(set.claim(""), "file");
        assert_eq!(set.claim(".."), "file-2");
    }

    #[test]
    fn the_newest_of_same_named_files_keeps_the_plain_name() {
        let names = NameSet::new().claim_newest_first(&["plot.png", "data.csv", "plot.png"]);
        assert_eq!(names, ["plot-2.png", "data.csv", "plot.png"]);
        let names = NameSet::new().claim_newest_first(&["a.txt", "A.TXT", "a.txt"]);
        assert_eq!(names, ["a-3.txt", "A-2.TXT", "a.txt"]);
        let hostile = ["../x", "x", "\\x"];
        let names = NameSet::new().claim_newest_first(&hostile);
        assert_eq!(names, ["x-3", "x-2", "x"]);
    }

    #[test]
    fn a_numbered_name_taken_earlier_is_skipped() {
        let mut set = NameSet::new();
        assert_eq!(set.claim("plot-2.png"), "plot-2.png");
        assert_eq!(set.claim("plot.png"), "plot.png");
        assert_eq!(set.claim("plot.png"), "plot-3.png");
    }

    #[test]
    fn case_insensitive() {
        let mut set = NameSet::new();
        assert_eq!(set.claim("Plot.png"), "Plot.png");
        assert_eq!(set.claim("plot.png"), "plot-2.png");
    }

    #[test]
    fn nfc_and_nfd_are_the_same_name() {
        let nfc = "caf\u{e9}.txt";
        let nfd = "cafe\u{301}.txt";
        let mut set = NameSet::new();
        assert_eq!(set.claim(nfc), nfc);
        // Stored in NFC, so the file name on disk does not depend on the server's form.
        assert_eq!(set.claim(nfd), "caf\u{e9}-2.txt");
        assert_eq!(set.claim("CAF\u{c9}.TXT"), "CAF\u{c9}-3.TXT");
    }

    #[test]
    fn suffix_fits_within_the_limit() {
        let raw = format!("{}.png", "z".repeat(300));
        let mut set = NameSet::new();
        let first = set.claim(&raw);
        let second = set.claim(&raw);
        assert_ne!(first, second);
        assert!(second.len() <= MAX_BYTES, "{}", second.len());
        assert!(second.ends_with("-2.png"));
    }

    const HOSTILE: &[&str] = &[
        "/",
        "\\",
        ".",
        "..",
        " ",
        "\0",
        "\t",
        "\n",
        "\r",
        "\u{7f}",
        "\u{85}",
        "\u{202E}",
        "\u{200B}",
        "\u{FEFF}",
        ":",
        "*",
        "?",
        "\"",
        "<",
        ">",
        "|",
        "a",
        "A",
        "b",
        "x",
        "-",
        "2",
        "C:",
        "CON",
        "nul",
        "com1",
        "lpt3",
        "\u{e9}",
        "e\u{301}",
        "\u{c9}",
        "\u{df}",
        "\u{212A}",
        "k",
        "\u{1F600}",
        "\u{4E2D}",
        ".png",
        ".txt",
        "~",
        "$",
    ];

    /// A name made of pieces that are unsafe somewhere; now and then a very long one.
    fn hostile_name() -> impl Strategy<Value = String> {
        let pieces =
            prop_oneof![9 => vec(select(HOSTILE), 0..12), 1 => vec(select(HOSTILE), 100..300)];
        pieces.prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(crate::testing::config(64))]

        #[test]
        fn property_hostile_names_are_safe_and_unique(raws in vec(hostile_name(), 1..250)) {
            let dir = Path::new("/tmp/job/files");
            let mut set = NameSet::new();
            let mut seen = HashSet::new();
            for raw in raws {
                let got = set.claim(&raw);
                prop_assert!(!got.is_empty(), "raw = {:?}", raw);
                prop_assert!(got.len() <= MAX_BYTES, "raw = {:?} got = {:?}", raw, got);
                prop_assert!(
                    !got.contains(['/', '\\', '\0']) && !got.chars().any(is_invisible),
                    "raw = {:?} got = {:?}", raw, got
                );
                prop_assert!(got != "." && got != "..", "raw = {:?}", raw);
                prop_assert!(
                    !got.starts_with('.') && !got.ends_with(['.', ' ']),
                    "{:?}", got
                );
                prop_assert!(!is_reserved(&got), "raw = {:?} got = {:?}", raw, got);
                let joined = dir.join(&got);
                prop_assert_eq!(joined.parent(), Some(dir), "raw = {:?} got = {:?}", raw, got);
                prop_assert_eq!(joined.components().count(), dir.components().count() + 1);
                prop_assert!(seen.insert(key(&got)), "duplicate {:?} from raw = {:?}", got, raw);
            }
        }
    }
}
