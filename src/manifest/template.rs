//! Placeholders: `for_each`'s `{{ path }}`, `{{ name }}`, `{{ stem }}`, and a matrix cell's
//! `{{ matrix.KEY }}` (docs/manifest.md "Matrices").
//!
//! A few fixed variables and no logic do not need a template engine; a small scanner gives
//! exact errors (unknown placeholder, unclosed braces, placeholder outside `for_each` or
//! `matrix`) and leaves every other character alone, so prompts may contain braces of their
//! own.
//!
//! A literal `{{` is written `{{ "{{" }}` (Jinja's own spelling); `}}` alone needs no
//! escape, since only `{{` opens a placeholder.

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::did_you_mean;

/// The values one job of an entry provides: its `for_each` match and its matrix cell.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Vars<'a> {
    pub file: Option<FileVars<'a>>,
    pub matrix: Option<CellVars<'a>>,
}

/// The values one `for_each` match provides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileVars<'a> {
    /// Path relative to the manifest folder, `/`-separated.
    pub path: &'a str,
    pub name: &'a str,
    pub stem: &'a str,
}

/// One matrix cell, and every key any cell of the entry has (for "did you mean").
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellVars<'a> {
    pub cell: &'a BTreeMap<String, String>,
    pub keys: &'a BTreeSet<String>,
}

pub(crate) const PLACEHOLDERS: [&str; 3] = ["path", "name", "stem"];

/// `{{ "{{" }}` (or with single quotes): the escape for a literal `{{`, in any job.
fn is_literal_braces(key: &str) -> bool {
    key == "\"{{\"" || key == "'{{'"
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TemplateError {
    Unknown(String),
    Unclosed,
    OutsideForEach(String),
    /// `{{ matrix.KEY }}` in a job without `matrix`.
    OutsideMatrix(String),
    /// A key no cell of the matrix has, with the nearest one.
    UnknownMatrixKey(String, Option<String>),
    /// A key other cells have (from `include`) but this one does not: the cell, shown.
    NotInCell(String, String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Unknown(p) => write!(
                f,
                "unknown placeholder `{{{{ {p} }}}}`, expected one of `{{{{ path }}}}`, `{{{{ name }}}}`, `{{{{ stem }}}}`"
            ),
            TemplateError::Unclosed => f.write_str("unclosed placeholder: `{{` without `}}`"),
            TemplateError::OutsideForEach(p) => write!(
                f,
                "placeholder `{{{{ {p} }}}}` is only available in a job with `for_each`"
            ),
            TemplateError::OutsideMatrix(p) => write!(
                f,
                "placeholder `{{{{ matrix.{p} }}}}` is only available in a job with `matrix`"
            ),
            TemplateError::UnknownMatrixKey(p, near) => {
                write!(
                    f,
                    "unknown placeholder `{{{{ matrix.{p} }}}}`: the matrix has no key `{p}`"
                )?;
                match near {
                    Some(n) => write!(f, "; did you mean `{{{{ matrix.{n} }}}}`?"),
                    None => Ok(()),
                }
            }
            TemplateError::NotInCell(p, cell) => write!(
                f,
                "placeholder `{{{{ matrix.{p} }}}}` has no value in cell {cell}"
            ),
        }
    }
}

/// A cell as the errors show it: `{region: emea, month: 2026-10}`.
pub(crate) fn show_cell<'a>(cell: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let parts: Vec<String> = cell.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Replaces every placeholder in `text`. With `vars == None` (a job without `for_each` or
/// `matrix`), any placeholder is an error.
pub(crate) fn render(text: &str, vars: Option<&Vars<'_>>) -> Result<String, TemplateError> {
    let vars = vars.copied().unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
        out.push_str(value(after[..close].trim(), &vars)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one placeholder's key.
fn value<'a>(key: &str, vars: &Vars<'a>) -> Result<&'a str, TemplateError> {
    if is_literal_braces(key) {
        return Ok("{{");
    }
    if let Some(k) = key.strip_prefix("matrix.") {
        let k = k.trim();
        let Some(m) = vars.matrix else {
            return Err(TemplateError::OutsideMatrix(k.to_owned()));
        };
        return match m.cell.get(k) {
            Some(v) => Ok(v),
            None if m.keys.contains(k) => {
                Err(TemplateError::NotInCell(k.to_owned(), show_cell(m.cell)))
            }
            None => Err(TemplateError::UnknownMatrixKey(
                k.to_owned(),
                did_you_mean(k, m.keys.iter().map(String::as_str)).map(str::to_owned),
            )),
        };
    }
    if !PLACEHOLDERS.contains(&key) {
        return Err(TemplateError::Unknown(key.to_owned()));
    }
    let Some(f) = vars.file else {
        return Err(TemplateError::OutsideForEach(key.to_owned()));
    };
    Ok(match key {
        "path" => f.path,
        "name" => f.name,
        _ => f.stem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: Vars<'static> = Vars {
        file: Some(FileVars {
            path: "data/a.csv",
            name: "a.csv",
            stem: "a",
        }),
        matrix: None,
    };

    #[test]
    fn replaces_all_three() {
        assert_eq!(
            render("w-{{ stem }} {{path}} {{  name  }}", Some(&VARS)).unwrap(),
            "w-a data/a.csv a.csv"
        );
    }

    #[test]
    fn leaves_single_braces_alone() {
        assert_eq!(render("{a} } {", None).unwrap(), "{a} } {");
    }

    #[test]
    fn writes_a_literal_double_brace_with_its_escape() {
        assert_eq!(
            render(
                r#"Use {{ "{{" }} x }} and {{'{{'}}y}}, in {{ stem }}."#,
                Some(&VARS)
            )
            .unwrap(),
            "Use {{ x }} and {{y}}, in a."
        );
        assert_eq!(
            render(r#"Jinja: {{ "{{" }} user }}"#, None).unwrap(),
            "Jinja: {{ user }}",
            "the escape needs no for_each"
        );
    }

    #[test]
    fn rejects_unknown_unclosed_and_outside() {
        assert_eq!(
            render("{{ stme }}", Some(&VARS)),
            Err(TemplateError::Unknown("stme".into()))
        );
        assert_eq!(render("{{ stem", Some(&VARS)), Err(TemplateError::Unclosed));
        assert_eq!(
            render("{{ stem }}", None),
            Err(TemplateError::OutsideForEach("stem".into()))
        );
    }

    #[test]
    fn fills_matrix_keys_and_names_the_nearest_unknown_one() {
        let cell: BTreeMap<String, String> = [("region".to_owned(), "emea".to_owned())].into();
        let keys: BTreeSet<String> = ["region".to_owned(), "note".to_owned()].into();
        let vars = Vars {
            file: VARS.file,
            matrix: Some(CellVars {
                cell: &cell,
                keys: &keys,
            }),
        };
        assert_eq!(
            render("s-{{ matrix.region }}-{{stem}}", Some(&vars)).unwrap(),
            "s-emea-a"
        );
        assert_eq!(
            render("{{ matrix.regoin }}", Some(&vars)),
            Err(TemplateError::UnknownMatrixKey(
                "regoin".into(),
                Some("region".into())
            ))
        );
        assert_eq!(
            render("{{ matrix.note }}", Some(&vars)),
            Err(TemplateError::NotInCell(
                "note".into(),
                "{region: emea}".into()
            ))
        );
        assert_eq!(
            render("{{ matrix.region }}", Some(&VARS)),
            Err(TemplateError::OutsideMatrix("region".into()))
        );
    }
}
