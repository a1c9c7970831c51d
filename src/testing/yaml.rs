//! Strategies for manifest text, for property tests of the manifest loader: documents that
//! are edited by inserting, deleting and replacing what means something to YAML or to the
//! manifest format, and random YAML-ish documents made of the same tokens. Shrinking removes
//! edits and branches, so a failure is reported as a small document.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Fragments that mean something to YAML or to the manifest format.
const TOKENS: &[&str] = &[
    "expect: [a.md, { name: \"*.png\", min: 2, min_size: 1K }]\n",
    "repair_turns: ",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "!!int ",
    "!custom ",
    "---\n",
    "...\n",
    "\t",
    "  ",
    "\n",
    "'",
    "\"",
    "#",
    "|",
    "|-\n",
    ">",
    "? ",
    "<<: *a\n",
    "%YAML 1.2\n",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-1",
    "4294967296",
    "0.5",
    "\u{FEFF}",
    "\0",
    "\u{1b}",
    "é",
    "😀",
    "\r\n",
    "{{ path }}",
    "{{ stem }}",
    "{{ nope }}",
    "{{",
    "}}",
    "version: 2\n",
    "version: 1\n",
    "jobs:",
    "jobs: []\n",
    "name:",
    "name: x\n",
    "inputs:",
    "inputs: [data/penguins.csv]\n",
    "prompt:",
    "prompt_file:",
    "for_each:",
    "follow_up:",
    "defaults:",
    "model:",
    "max_tokens:",
    "thinking: {budget_tokens: 2000}\n",
    "tool:",
    "api_version:",
    "temperature: 2\n",
    "inputz:",
    "data/*.csv",
    "data/nope.csv",
    "prompts/energy-jobs.md",
    "..",
    "a",
    "0",
];

/// What gives a YAML document its structure: the occurrences an edit replaces.
const STRUCTURE: &[&str] = &[
    ": ", ":", "- ", "  ", "\n", "[", "]", "{", "}", ",", "|", "\"", "'", "#",
];

/// Bytes a flipped byte becomes: printable or structural.
const FLIPS: &[u8] = b" :-[]{}#&*!|>'\"\n\tax0.,?%@`";

/// A manifest's bytes (not always UTF-8), shown as text when a test fails.
#[derive(Clone)]
pub(crate) struct Doc(pub Vec<u8>);

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// One edit of a document; positions are fractions of its length at the time of the edit.
#[derive(Clone, Debug)]
enum Edit {
    /// Sets a byte to a printable or structural one.
    Flip(Index, u8),
    /// Deletes up to this many bytes.
    Delete(Index, usize),
    /// Repeats up to this many bytes in place.
    Duplicate(Index, usize),
    Truncate(Index),
    SwapLines(Index, Index),
    Insert(Index, &'static str),
    /// Replaces one occurrence of a structural token with a token, or with nothing.
    Replace(Index, &'static str),
}

fn token() -> impl Strategy<Value = &'static str> + Clone {
    select(TOKENS)
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<Index>;
    prop_oneof![
        1 => (at(), select(FLIPS)).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => (at(), 0..40_usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (at(), 0..60_usize).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        1 => at().prop_map(Edit::Truncate),
        1 => (at(), at()).prop_map(|(i, j)| Edit::SwapLines(i, j)),
        2 => (at(), token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        2 => (at(), prop_oneof![Just(""), token()]).prop_map(|(i, t)| Edit::Replace(i, t)),
    ]
}

fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = text.to_vec();
    for edit in edits {
        let at = |i: &Index, out: &[u8]| i.index(out.len() + 1);
        match edit {
            Edit::Flip(i, byte) => {
                let p = at(i, &out);
                if let Some(b) = out.get_mut(p) {
                    *b = *byte;
                }
            }
            Edit::Delete(i, n) => {
                let start = at(i, &out);
                out.drain(start..(start + n).min(out.len()));
            }
            Edit::Duplicate(i, n) => {
                let start = at(i, &out);
                let copy = out[start..(start + n).min(out.len())].to_vec();
                out.splice(start..start, copy);
            }
            Edit::Truncate(i) => out.truncate(at(i, &out)),
            Edit::SwapLines(i, j) => {
                let mut lines: Vec<&[u8]> = out.split(|b| *b == b'\n').collect();
                let (i, j) = (i.index(lines.len()), j.index(lines.len()));
                lines.swap(i, j);
                out = lines.join(&b'\n');
            }
            Edit::Insert(i, token) => {
                let start = at(i, &out);
                out.splice(start..start, token.bytes());
            }
            Edit::Replace(i, token) => {
                let mut found = Vec::new();
                for p in 0..out.len() {
                    for s in STRUCTURE {
                        if out[p..].starts_with(s.as_bytes()) {
                            found.push((p, s.len()));
                        }
                    }
                }
                if !found.is_empty() {
                    let (start, len) = found[i.index(found.len())];
                    out.splice(start..start + len, token.bytes());
                }
            }
        }
    }
    out
}

/// One of `examples` with one to four edits.
fn edited(examples: &'static [&'static str]) -> impl Strategy<Value = Doc> {
    (select(examples), vec(edit(), 1..5))
        .prop_map(|(text, edits)| Doc(apply(text.as_bytes(), &edits)))
}

/// A node of a random document.
#[derive(Clone, Debug)]
enum Node {
    /// `key value` on one line (whether it is a mapping depends on the key token).
    Pair(&'static str, &'static str),
    /// `- value`
    Item(&'static str),
    /// `key:` and the nodes below it.
    Map(&'static str, Vec<Node>),
    /// `-` and the nodes below it.
    List(Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (token(), token()).prop_map(|(k, v)| Node::Pair(k, v)),
        token().prop_map(Node::Item),
    ];
    leaf.prop_recursive(3, 40, 4, |inner| {
        prop_oneof![
            (token(), vec(inner.clone(), 1..5)).prop_map(|(k, nodes)| Node::Map(k, nodes)),
            vec(inner, 1..5).prop_map(Node::List),
        ]
    })
}

fn render(nodes: &[Node], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let scalar = |t: &str| t.replace('\n', " ");
    for node in nodes {
        match node {
            Node::Pair(k, v) => out.push_str(&format!("{pad}{} {}\n", k.trim(), scalar(v))),
            Node::Item(v) => out.push_str(&format!("{pad}- {}\n", scalar(v))),
            Node::Map(k, below) => {
                out.push_str(&format!("{pad}{}:\n", k.trim()));
                render(below, indent + 2, out);
            }
            Node::List(below) => {
                out.push_str(&format!("{pad}-\n"));
                render(below, indent + 2, out);
            }
        }
    }
}

/// A random YAML-ish document: nested maps, lists and scalars made of the tokens, half of
/// them declaring `version: 1`.
fn random_doc() -> impl Strategy<Value = Doc> {
    (any::<bool>(), vec(node(), 1..5)).prop_map(|(versioned, nodes)| {
        let mut doc = String::from(if versioned { "version: 1\n" } else { "" });
        render(&nodes, 0, &mut doc);
        Doc(doc.into_bytes())
    })
}

/// Manifest text: three edited examples for one random document. Never with `**`: a glob
/// made of a mangled path could walk a whole disk, which is no use to a test.
pub(crate) fn manifest(examples: &'static [&'static str]) -> impl Strategy<Value = Doc> {
    prop_oneof![3 => edited(examples), 1 => random_doc()]
        .prop_filter("`**` in a glob may walk the disk", |d| {
            !d.0.windows(2).any(|w| w == b"**")
        })
}
