//! Architecture: `src/` is layered, and its module files import each other without cycles.
//!
//! Reads the source as text (no rustc). Every `use crate::…`, inline `crate::…`, `super::…` or
//! `self::…` path outside comments and strings is a reference from its file's module to the
//! deepest module it names. The rules, over the table in `LAYERS`:
//! 1. a top-level module imports only top-level modules in lower layers (leaves: nothing);
//! 2. module files form no cycle (a parent using its own descendants doesn't count);
//! 3. every top-level module is in the table, so a new one is placed there on purpose;
//! 4. inside `engine`, no module imports from a parent module's own file (`engine/mod.rs`
//!    runs its children; what they share has a module of its own, like `engine/ctx.rs`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// Top-level modules, top layer first (`src/lib.rs` sits above them all; `src/main.rs` is another
/// crate). A module imports only from later layers, so the last layer (leaves) imports nothing.
const LAYERS: &str = "commands > config > error > cli > engine > output > plan > manifest \
                      > store > notify > api > ui > status units atomic error_chain testing";
const STAGES: &[&str] = &["engine", "output", "plan", "manifest"];
const EDGES: &[&str] = &["store", "notify", "api", "ui"];

/// Rule 4: the engine and the modules inside it orchestrate their children, so a child never
/// imports from its parent's own file (what they share, like `Ctx`, has a module of its own).
fn is_orchestrator(module: &[String]) -> bool {
    module.first().is_some_and(|top| top == "engine")
}

/// A module as path segments from the crate root (`[]` is the root).
type ModPath = Vec<String>;
/// module → (module it references → first `file:line` doing so).
type Graph = BTreeMap<ModPath, BTreeMap<ModPath, String>>;

fn rank(top: &str) -> Option<usize> {
    LAYERS
        .split('>')
        .position(|layer| layer.split_whitespace().any(|m| m == top))
}

fn is_leaf(top: &str) -> bool {
    rank(top) == Some(LAYERS.split('>').count() - 1)
}

fn display(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`, `src/lib.rs` → the root; None outside the library.
fn module_of(path: &str) -> Option<ModPath> {
    let rel = path.strip_prefix("src/")?.strip_suffix(".rs")?;
    if rel == "main" || rel.starts_with("bin/") {
        return None;
    }
    let mut segs: ModPath = rel.split('/').map(String::from).collect();
    if rel == "lib" || segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    Some(segs)
}

/// A token's text and line.
type Tok = (String, usize);

/// Words, `::` and single punctuation characters, with comments, strings and char literals
/// dropped: a doc comment or message mentioning `crate::x` imports nothing.
fn tokens(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < s.len() {
        let c = s[i];
        if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0; // block comments nest in Rust
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    (depth, i) = (depth + 1, i + 2);
                } else if s[i] == '*' && at(i + 1) == '/' {
                    (depth, i) = (depth - 1, i + 2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(s[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&s, i + 1, None, &mut line);
        } else if c == '\'' {
            i = skip_quote(&s, i);
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            let hashes = s[i..].iter().take_while(|&&h| h == '#').count();
            match word.as_str() {
                "r" | "br" | "cr" if at(i + hashes) == '"' => {
                    i = skip_string(&s, i + hashes + 1, Some(hashes), &mut line);
                }
                "b" | "c" if at(i) == '"' => i = skip_string(&s, i + 1, None, &mut line),
                "b" if at(i) == '\'' => i = skip_quote(&s, i),
                _ => out.push((word, line)),
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(("::".into(), line));
            i += 2;
        } else {
            // `$` is dropped so that a macro's `$crate::x` reads as `crate::x`.
            if !c.is_whitespace() && c != '$' {
                out.push((c.into(), line));
            }
            line += usize::from(c == '\n');
            i += 1;
        }
    }
    out
}

/// Skips a string body starting after its opening quote; `raw` is the `#` count of a raw string.
fn skip_string(s: &[char], mut i: usize, raw: Option<usize>, line: &mut usize) -> usize {
    while i < s.len() {
        match (s[i], raw) {
            ('\\', None) => i += 1, // the escaped character can't end the string
            ('"', None) => return i + 1,
            ('"', Some(n)) if s[i + 1..].iter().take(n).filter(|&&h| h == '#').count() == n => {
                return i + 1 + n;
            }
            _ => {}
        }
        *line += usize::from(s.get(i) == Some(&'\n'));
        i += 1;
    }
    i
}

/// Skips a char literal (`'x'`, `'\''`, `'\u{1F600}'`) at `i`, or just the quote of a lifetime.
fn skip_quote(s: &[char], i: usize) -> usize {
    if s.get(i + 1) == Some(&'\\') {
        (i + 3..s.len())
            .find(|&j| s[j] == '\'')
            .map_or(s.len(), |j| j + 1)
    } else if s.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        i + 1
    }
}

fn is_ident(word: &str) -> bool {
    word.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// A path written in the source, made absolute from the crate root (None: another crate's).
#[derive(Debug)]
struct Ref {
    written: String,
    abs: Option<ModPath>,
    line: usize,
}

/// Every crate-relative path in `src`, a file of module `module`; inline `mod x { … }` blocks
/// (such as `mod tests`) are tracked so that their `super::` resolves as rustc does.
fn references(module: &[String], src: &str) -> Vec<Ref> {
    let t = tokens(src);
    let is = |i: usize, s: &str| t.get(i).is_some_and(|x| x.0 == s);
    let (mut out, mut inline, mut depth, mut pending_mod) = (Vec::new(), Vec::new(), 0, None);
    let mut i = 0;
    while i < t.len() {
        let here: ModPath = module
            .iter()
            .chain(inline.iter().map(|(m, _)| m))
            .cloned()
            .collect();
        let mut add = |segs: &[String], line| {
            let written = segs.join("::");
            out.push(Ref {
                written,
                abs: absolute(&here, segs),
                line,
            });
        };
        match t[i].0.as_str() {
            "{" => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
                i += 1;
            }
            "}" => {
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                depth -= 1;
                i += 1;
            }
            "mod" if is(i + 2, "{") => {
                pending_mod = Some(t[i + 1].0.clone());
                i += 2;
            }
            // `pub(in crate::x)` narrows visibility; it imports nothing.
            "pub" if is(i + 1, "(") && is(i + 2, "in") => {
                while i < t.len() && !is(i, ")") {
                    i += 1;
                }
            }
            "use" => {
                let mut leaves = Vec::new();
                i = use_tree(&t, i + 1, &[], &mut leaves);
                for (segs, line) in leaves {
                    add(&segs, line);
                }
            }
            "crate" | "super" | "self" if is(i + 1, "::") && !(i > 0 && is(i - 1, "::")) => {
                let (mut segs, line) = (vec![t[i].0.clone()], t[i].1);
                i += 1;
                while is(i, "::") && t.get(i + 1).is_some_and(|x| is_ident(&x.0)) {
                    segs.push(t[i + 1].0.clone());
                    i += 2;
                }
                add(&segs, line);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses the use tree at `i` (`a::b`, `a::{self, b::c as d, e::*}`), appending each leaf's full
/// path and line to `out`; returns the index after the tree.
fn use_tree(t: &[Tok], mut i: usize, prefix: &[String], out: &mut Vec<(ModPath, usize)>) -> usize {
    let text = |i: usize| t.get(i).map_or("", |x| x.0.as_str());
    let mut path = prefix.to_vec();
    if text(i) == "::" {
        path.push("::".into()); // `::name` is another crate
        i += 1;
    }
    loop {
        match text(i) {
            "{" => {
                i += 1;
                while !matches!(text(i), "}" | "" | ";") {
                    let next = use_tree(t, i, &path, out);
                    i = if text(next) == "," {
                        next + 1
                    } else {
                        next.max(i + 1)
                    };
                }
                return i + 1;
            }
            "*" => {
                out.push((path, t[i].1));
                return i + 1;
            }
            word if is_ident(word) => {
                // `{self, …}` names the prefix itself.
                if !(word == "self" && !prefix.is_empty() && path.len() == prefix.len()) {
                    path.push(word.into());
                }
                let line = t[i].1;
                i += 1;
                if text(i) == "::" {
                    i += 1;
                    continue;
                }
                if text(i) == "as" {
                    i += 2;
                }
                out.push((path, line));
                return i;
            }
            _ => return i,
        }
    }
}

/// `crate::a::B` → `[a, B]`; `self::`/`super::` paths from `here`; None for other crates' paths.
fn absolute(here: &[String], segs: &[String]) -> Option<ModPath> {
    let (mut base, mut rest) = match segs.first()?.as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" | "super" => (here.to_vec(), segs),
        _ => return None,
    };
    while let Some((first, tail)) = rest.split_first() {
        match first.as_str() {
            "self" => {}
            "super" => {
                base.pop()?;
            }
            _ => break,
        }
        rest = tail;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every rule that the library files among `files` (`(path, text)`, paths like `src/a/b.rs`)
/// break, as messages naming `file:line`.
fn check(files: &[(String, String)]) -> Vec<String> {
    let parsed: Vec<(&str, ModPath, &str)> = files
        .iter()
        .filter_map(|(path, src)| Some((path.as_str(), module_of(path)?, src.as_str())))
        .collect();
    // Ancestors too: mid-move, `src/api/x.rs` may exist before `src/api/mod.rs` does.
    let modules: BTreeSet<ModPath> = parsed
        .iter()
        .flat_map(|(_, m, _)| (0..=m.len()).map(|n| m[..n].to_vec()))
        .collect();
    let mut errors: Vec<String> = modules
        .iter()
        .filter_map(|m| m.first().filter(|top| m.len() == 1 && rank(top).is_none()))
        .map(|top| {
            format!(
                "unknown top-level module `{top}`: place it in LAYERS in tests/it/architecture.rs"
            )
        })
        .collect();
    let (mut graph, mut seen) = (Graph::new(), BTreeSet::new());
    for (path, module, src) in &parsed {
        for r in references(module, src) {
            let Some(abs) = r.abs else { continue };
            let deepest = (0..=abs.len())
                .rev()
                .map(|n| &abs[..n])
                .find(|m| modules.contains(*m));
            let target = deepest.unwrap_or_default().to_vec();
            if target.starts_with(module) {
                continue; // itself, or a parent using its children
            }
            let at = format!("{path}:{}", r.line);
            // A `tests` module reads the module it tests, as tests do.
            let tests = module.last().is_some_and(|m| m == "tests");
            if module.starts_with(&target) && is_orchestrator(&target) && !tests {
                let message = format!(
                    "`{}` imports from its parent `{}` at {at}: `{}`; what the parent's \
                     children share belongs in a module of its own",
                    display(module),
                    display(&target),
                    r.written
                );
                if !errors.contains(&message) {
                    errors.push(message);
                }
            }
            // Layers go by the name written, so a path into a module with no file yet still counts.
            let to_top = abs
                .first()
                .filter(|top| rank(top).is_some() || modules.contains(&abs[..1]));
            // One report per line and target, not per name in a `use a::{B, C}` group.
            if seen.insert((at.clone(), abs.first().cloned())) {
                errors.extend(layering(module, to_top, &at, &r.written));
            }
            graph
                .entry(module.clone())
                .or_default()
                .entry(target)
                .or_insert(at);
        }
    }
    errors.extend(cycles(&graph));
    errors
}

/// Rule 1 for one reference from module `from` to top-level module `to_top` (None: the root).
fn layering(from: &[String], to_top: Option<&String>, at: &str, written: &str) -> Option<String> {
    let a = from.first()?.as_str();
    let how = format!("at {at}: `{written}`");
    let Some(b) = to_top.map(String::as_str) else {
        return Some(format!(
            "`{a}` imports a missing module or a crate-root (lib.rs) item {how}"
        ));
    };
    let (ra, rb) = (rank(a)?, rank(b)?); // unknown modules are reported once, by name
    if a == b || rb > ra {
        None
    } else if EDGES.contains(&a) && STAGES.contains(&b) {
        Some(format!("edge module `{a}` imports stage `{b}` {how}"))
    } else if is_leaf(a) {
        Some(format!(
            "leaf module `{a}` imports `{b}` {how}; leaves import nothing from the crate"
        ))
    } else {
        Some(format!(
            "`{a}` imports `{b}`, which is not in a lower layer, {how}"
        ))
    }
}

/// Breadth-first from `start`: each module reached, with the module it was first reached from.
fn reached<'g>(graph: &'g Graph, start: &'g ModPath) -> BTreeMap<&'g ModPath, &'g ModPath> {
    let (mut from, mut queue) = (BTreeMap::new(), VecDeque::from([start]));
    while let Some(m) = queue.pop_front() {
        for next in graph.get(m).into_iter().flat_map(BTreeMap::keys) {
            if !from.contains_key(next) {
                from.insert(next, m);
                queue.push_back(next);
            }
        }
    }
    from
}

/// Rule 2: for each group of mutually reachable modules, its shortest cycle through its first
/// module, one `file:line` per edge (fixing it may reveal another cycle in the same group).
fn cycles(graph: &Graph) -> Vec<String> {
    let reach: BTreeMap<&ModPath, _> = graph.keys().map(|m| (m, reached(graph, m))).collect();
    let (mut done, mut errors) = (BTreeSet::new(), Vec::new());
    for (&start, from) in &reach {
        if done.contains(start) || !from.contains_key(start) {
            continue;
        }
        let group: BTreeSet<&ModPath> = from
            .keys()
            .copied()
            .filter(|m| reach.get(m).is_some_and(|r| r.contains_key(start)))
            .collect();
        // BFS reached `start` again from a nearest predecessor: walk the parents back to it.
        let mut cycle = vec![start];
        while let Some(&prev) = from.get(cycle[cycle.len() - 1]).filter(|&&p| p != start) {
            cycle.push(prev);
        }
        cycle.push(start);
        cycle.reverse();
        let names: Vec<String> = cycle.iter().map(|m| display(m)).collect();
        let mut msg = format!("import cycle: {}", names.join(" -> "));
        for pair in cycle.windows(2) {
            let at = &graph[pair[0]][pair[1]];
            msg += &format!("\n    {} -> {} at {at}", display(pair[0]), display(pair[1]));
        }
        if group.len() > cycle.len() - 1 {
            let all: Vec<String> = group.iter().map(|m| display(m)).collect();
            msg += &format!(
                "\n    (these modules all reach each other: {})",
                all.join(", ")
            );
        }
        errors.push(msg);
        done.extend(group);
    }
    errors
}

/// Checks synthetic files written as one text, each starting at a `=== src/…` line.
fn check_tree(spec: &str) -> Vec<String> {
    let files = spec.split("=== ").skip(1).map(|file| {
        let (path, src) = file.split_once('\n').unwrap();
        (path.to_string(), src.to_string())
    });
    check(&files.collect::<Vec<_>>())
}

fn absolute_refs(path: &str, src: &str) -> Vec<String> {
    let refs = references(&module_of(path).unwrap(), src);
    refs.into_iter()
        .filter_map(|r| r.abs)
        .map(|m| display(&m))
        .collect()
}

#[test]
fn a_clean_layered_tree_passes() {
    let errors = check_tree(
        r"
=== src/lib.rs
pub mod commands; pub mod engine; pub use engine::run;
=== src/main.rs
use runner::commands; fn main() { crate::x::y(); }
=== src/commands/mod.rs
use crate::{config::Config, error::Error};
mod signals;
=== src/commands/signals.rs
use super::super::engine;
use super::Thing;
=== src/config.rs
pub(crate) use crate::error::Error;
pub(in crate::config) fn f() {}
=== src/engine/mod.rs
mod job; use self::job::run; use crate::output::Record;
=== src/engine/ctx.rs
pub struct Shared;
=== src/engine/job.rs
use super::ctx::Shared;
fn f() { crate::plan::Plan::new(); }
=== src/output.rs
use crate::{plan, units::Bytes as B, atomic::*};
=== src/plan.rs
use crate::manifest::Manifest;
#[cfg(test)]
mod tests { use super::*; }
=== src/manifest.rs
use crate::store as s;
=== src/api.rs
use crate::ui::Events; use crate::status::Status;
=== src/ui.rs
pub use crate::units::Bytes;
=== src/status.rs
use serde::Serialize; use std::fmt;
=== src/units.rs
#[derive(Debug)] pub struct Bytes(u64);
=== src/atomic.rs
use ::std::fs; fn f() -> Result<(), std::io::Error> { Ok(()) }
",
    );
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_sibling_cycle_fails_naming_both_files() {
    let errors = check_tree(
        r"
=== src/engine/mod.rs
mod a; mod b;
=== src/engine/a.rs
use super::b::B;
=== src/engine/b.rs
pub struct B;

fn f() -> crate::engine::a::A { todo!() }
",
    );
    let expected = "import cycle: engine::a -> engine::b -> engine::a
    engine::a -> engine::b at src/engine/a.rs:1
    engine::b -> engine::a at src/engine/b.rs:3";
    assert_eq!(errors, [expected]);
}

#[test]
fn a_cycle_through_a_parent_module_counts() {
    let errors = check_tree(
        r"
=== src/engine/mod.rs
mod a; use crate::output::x::X; pub struct E;
=== src/engine/a.rs
use super::E;
=== src/output/x.rs
use crate::engine::a;
",
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("`engine::a` imports from its parent `engine`"));
    assert!(errors[1].starts_with("`output` imports `engine`, which is not in a lower layer"));
    assert!(errors[2].starts_with("import cycle: engine -> output::x -> engine::a -> engine"));
}

#[test]
fn an_edge_importing_a_stage_says_so() {
    let errors = check_tree("=== src/api/x.rs\n//! Wire types.\nuse crate::plan::Plan;");
    let expected = "edge module `api` imports stage `plan` at src/api/x.rs:2: `crate::plan::Plan`";
    assert_eq!(errors, [expected]);
}

#[test]
fn an_engine_module_importing_its_parent_says_so() {
    let errors = check_tree(
        "=== src/engine/mod.rs\nmod job; pub struct Ctx;\n=== src/engine/job.rs\nuse super::Ctx;\n\
         === src/plan/mod.rs\nmod text; pub struct Plan;\n=== src/plan/text.rs\nuse super::Plan;\n\
         === src/engine/job/tests.rs\nuse super::*;\n",
    );
    assert_eq!(
        errors,
        [
            "`engine::job` imports from its parent `engine` at src/engine/job.rs:1: `super::Ctx`; \
          what the parent's children share belongs in a module of its own"
        ]
    );
}

#[test]
fn other_layer_rules() {
    let errors = check_tree(
        r"
=== src/error.rs
use crate::config::{Config, Other};
=== src/config.rs
use crate::error::Error;
=== src/units.rs
use crate::atomic;
=== src/plan.rs
use crate::Helper;
=== src/misc/mod.rs
use crate::atomic::x;
",
    );
    assert_eq!(
        errors,
        [
            "unknown top-level module `misc`: place it in LAYERS in tests/it/architecture.rs",
            "`error` imports `config`, which is not in a lower layer, at src/error.rs:1: `crate::config::Config`",
            "leaf module `units` imports `atomic` at src/units.rs:1: `crate::atomic`; leaves import nothing from the crate",
            "`plan` imports a missing module or a crate-root (lib.rs) item at src/plan.rs:1: `crate::Helper`",
            "import cycle: config -> error -> config\n    config -> error at src/config.rs:1\n    error -> config at src/error.rs:1",
        ]
    );
}

#[test]
fn grouped_use_yields_every_leaf() {
    let src = "pub use crate::{\n    output::{self, records::X},\n    plan,\n};\nuse self::{a as b, c::*};";
    let refs = absolute_refs("src/engine/mod.rs", src);
    let expected = [
        "output",
        "output::records::X",
        "plan",
        "engine::a",
        "engine::c",
    ];
    assert_eq!(refs, expected);
    let lines: Vec<usize> = references(&[], src).iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 2, 3, 5, 5]);
}

#[test]
fn comments_and_strings_are_not_imports() {
    let src = r####"//! See crate::commands.
/// Calls `crate::commands::run`.
// crate::commands
/* crate::commands /* nested */ crate::commands */
fn f() {
    let _ = "crate::commands \" crate::commands";
    let _ = r#"crate::commands "quoted" crate::commands"#;
    let _ = br##"crate::commands"#"##;
    let _ = (b"crate::commands", c"crate::commands", '"', '\'', b'"');
    let _: &'static str = "x";
    crate::plan::Plan::new();
}"####;
    let refs = references(&["engine".into()], src);
    let found: Vec<_> = refs.iter().map(|r| (r.written.as_str(), r.line)).collect();
    assert_eq!(found, [("crate::plan::Plan::new", 11)]);
}

#[test]
fn super_resolves_from_the_files_module_and_inline_modules() {
    let src = "use super::super::plan::X;
fn f() { super::super::super::plan::Plan::new(); }
#[cfg(test)]
mod tests {
    use super::*;
    use super::super::Y;
}
use self::z;";
    let expected = [
        "engine::plan::X",
        "plan::Plan::new",
        "engine::job::inner",
        "engine::job::Y",
        "engine::job::inner::z",
    ];
    assert_eq!(absolute_refs("src/engine/job/inner.rs", src), expected);
    let errors = check_tree("=== src/plan/a/b.rs\nfn f() { super::super::super::engine::run(); }");
    assert_eq!(
        errors,
        [
            "`plan` imports `engine`, which is not in a lower layer, at src/plan/a/b.rs:1: \
          `super::super::super::engine::run`"
        ]
    );
}

#[test]
fn src_tree_is_layered_and_acyclic() {
    fn read(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                read(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.push((
                    rel.replace('\\', "/"),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read(&root.join("src"), root, &mut files);
    files.sort();
    let errors = check(&files);
    let report = errors.join("\n");
    assert!(
        errors.is_empty(),
        "{} architecture violations in src/:\n{report}",
        errors.len()
    );
}
