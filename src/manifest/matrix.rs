//! `matrix:` checked and expanded into cells (docs/manifest.md "Matrices"): the cross
//! product of the axes, less each `exclude` match, then each `include` entry added to the
//! cells whose axis values it matches or, matching none, as a cell of its own — GitHub
//! Actions' rules. A cell is a map key → value, rendered as strings.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::diagnostic::did_you_mean;
use super::resolve::{Ctx, pos};
use super::schema::{MatrixSpec, MatrixValue};

/// One combination of parameters: key → value, sorted by key.
pub(super) type Cell = BTreeMap<String, String>;

/// A matrix as checked: axes in the order written, then `exclude` and `include` entries.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Matrix {
    pub axes: Vec<(String, Vec<String>)>,
    pub exclude: Vec<Vec<(String, String)>>,
    pub include: Vec<Vec<(String, String)>>,
}

/// The cells of `m`, in order: the product (first axis outermost), less what `exclude`
/// matches, extended or added to by `include` (only the product's cells are extended, and
/// an include never changes an axis value; later includes may change keys earlier ones
/// added).
pub(super) fn expand(m: &Matrix) -> Vec<Cell> {
    let mut cells: Vec<Cell> = if m.axes.is_empty() {
        Vec::new()
    } else {
        vec![Cell::new()]
    };
    for (key, values) in &m.axes {
        cells = cells
            .iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(key.clone(), v.clone());
                    c
                })
            })
            .collect();
    }
    let matches = |c: &Cell, e: &[(String, String)]| e.iter().all(|(k, v)| c.get(k) == Some(v));
    cells.retain(|c| !m.exclude.iter().any(|e| matches(c, e)));
    let axes: BTreeSet<&str> = m.axes.iter().map(|(k, _)| k.as_str()).collect();
    let product = cells.len();
    let mut added = Vec::new();
    for entry in &m.include {
        let (on_axes, extra): (Vec<_>, Vec<_>) = entry
            .iter()
            .cloned()
            .partition(|(k, _)| axes.contains(k.as_str()));
        let mut extended = false;
        for c in cells[..product].iter_mut().filter(|c| matches(c, &on_axes)) {
            c.extend(extra.iter().cloned());
            extended = true;
        }
        if !extended {
            added.push(entry.iter().cloned().collect());
        }
    }
    cells.extend(added);
    cells
}

impl Ctx<'_> {
    /// The entry's cells: one empty cell without `matrix`, none when the matrix is wrong
    /// (its diagnostics pushed).
    pub(super) fn matrix_cells(&mut self, spec: Option<&Spanned<MatrixSpec>>) -> Vec<Cell> {
        let Some(spec) = spec else {
            return vec![Cell::new()];
        };
        let before = self.diags.len();
        let mut m = Matrix::default();
        let mut lists = Vec::new();
        for (key, value) in &spec.value.0 {
            match key.value.as_str() {
                "include" | "exclude" => lists.push((key, value)),
                _ => {
                    if let Some(values) = self.axis(key, value) {
                        m.axes.push((key.value.clone(), values));
                    }
                }
            }
        }
        for (key, value) in lists {
            let entries = self.entries_of(key, value);
            if key.value == "include" {
                m.include = entries;
            } else {
                m.exclude = self.exclude_keys_are_axes(key, value, &m, entries);
            }
        }
        if self.diags.len() > before {
            return Vec::new();
        }
        let cells = expand(&m);
        if cells.is_empty() {
            self.err(
                pos(spec),
                "the matrix has no cells: `exclude` removes every one",
            );
        }
        cells
    }

    /// One axis: a non-empty list of scalars.
    fn axis(&mut self, key: &Spanned<String>, value: &Spanned<MatrixValue>) -> Option<Vec<String>> {
        self.key_name(key)?;
        let MatrixValue::List(items) = &value.value else {
            self.err(
                pos(value),
                format!("matrix axis `{}`: expected a list of values", key.value),
            )
            .help = Some(format!("e.g. `{}: [a, b]`", key.value));
            return None;
        };
        if items.is_empty() {
            self.err(
                pos(value),
                format!(
                    "matrix axis `{}` is empty, expected at least one value",
                    key.value
                ),
            );
            return None;
        }
        let values: Vec<Option<String>> = items
            .iter()
            .map(|v| self.scalar(&format!("matrix axis `{}`", key.value), v))
            .collect();
        values.into_iter().collect()
    }

    /// A key usable in `{{ matrix.KEY }}`.
    fn key_name(&mut self, key: &Spanned<String>) -> Option<()> {
        let ok = !key.value.is_empty()
            && key
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if ok {
            return Some(());
        }
        self.err(
            pos(key),
            format!(
                "invalid matrix key `{}`, expected letters, digits, `_` or `-`",
                key.value
            ),
        );
        None
    }

    fn scalar(&mut self, what: &str, v: &Spanned<MatrixValue>) -> Option<String> {
        if let MatrixValue::Scalar(s) = &v.value {
            return Some(s.clone());
        }
        self.err(
            pos(v),
            format!("{what}: expected a single value (a string, number or true/false), not a list, mapping or null"),
        );
        None
    }

    /// `include:` or `exclude:`: a list of mappings of key → scalar.
    fn entries_of(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<MatrixValue>,
    ) -> Vec<Vec<(String, String)>> {
        let what = &key.value;
        let MatrixValue::List(items) = &value.value else {
            self.err(
                pos(value),
                format!("matrix `{what}`: expected a list of mappings"),
            )
            .help = Some(format!(
                "e.g. `{what}: [{{ region: emea, month: \"2026-09\" }}]`"
            ));
            return Vec::new();
        };
        let mut entries = Vec::new();
        for item in items {
            let MatrixValue::Map(pairs) = &item.value else {
                self.err(
                    pos(item),
                    format!("matrix `{what}` entry: expected a mapping of key: value"),
                );
                continue;
            };
            if pairs.is_empty() {
                self.err(pos(item), format!("matrix `{what}` entry is empty"));
            }
            let mut entry = Vec::new();
            for (k, v) in pairs {
                if self.key_name(k).is_some()
                    && let Some(s) = self.scalar(&format!("matrix `{what}` key `{}`", k.value), v)
                {
                    entry.push((k.value.clone(), s));
                }
            }
            entries.push(entry);
        }
        entries
    }

    /// Every key of an `exclude` entry must be an axis (it could never match otherwise).
    fn exclude_keys_are_axes(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<MatrixValue>,
        m: &Matrix,
        entries: Vec<Vec<(String, String)>>,
    ) -> Vec<Vec<(String, String)>> {
        let axes: Vec<&str> = m.axes.iter().map(|(k, _)| k.as_str()).collect();
        let MatrixValue::List(items) = &value.value else {
            return entries;
        };
        for item in items {
            let MatrixValue::Map(pairs) = &item.value else {
                continue;
            };
            for (k, _) in pairs
                .iter()
                .filter(|(k, _)| !axes.contains(&k.value.as_str()))
            {
                let d = self.err(
                    pos(k),
                    format!(
                        "matrix `{}` key `{}` is no axis of the matrix",
                        key.value, k.value
                    ),
                );
                d.help = Some(match did_you_mean(&k.value, axes.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the axes are {}", axes.join(", ")),
                });
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn cell(p: &[(&str, &str)]) -> Cell {
        pairs(p).into_iter().collect()
    }

    fn axes(a: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        a.iter()
            .map(|(k, vs)| {
                (
                    (*k).to_owned(),
                    vs.iter().map(|v| (*v).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_product_in_order_first_axis_outermost() {
        let m = Matrix {
            axes: axes(&[("region", &["emea", "amer"]), ("month", &["10", "11"])]),
            ..Matrix::default()
        };
        assert_eq!(
            expand(&m),
            vec![
                cell(&[("region", "emea"), ("month", "10")]),
                cell(&[("region", "emea"), ("month", "11")]),
                cell(&[("region", "amer"), ("month", "10")]),
                cell(&[("region", "amer"), ("month", "11")]),
            ]
        );
    }

    /// GitHub's "Expanding or adding matrix configurations" example, cell for cell.
    #[test]
    fn include_extends_matching_cells_or_adds_its_own_as_on_github() {
        let m = Matrix {
            axes: axes(&[("fruit", &["apple", "pear"]), ("animal", &["cat", "dog"])]),
            exclude: vec![],
            include: vec![
                pairs(&[("color", "green")]),
                pairs(&[("color", "pink"), ("animal", "cat")]),
                pairs(&[("fruit", "apple"), ("shape", "circle")]),
                pairs(&[("fruit", "banana")]),
                pairs(&[("fruit", "banana"), ("animal", "cat")]),
            ],
        };
        assert_eq!(
            expand(&m),
            vec![
                cell(&[
                    ("fruit", "apple"),
                    ("animal", "cat"),
                    ("color", "pink"),
                    ("shape", "circle")
                ]),
                cell(&[
                    ("fruit", "apple"),
                    ("animal", "dog"),
                    ("color", "green"),
                    ("shape", "circle")
                ]),
                cell(&[("fruit", "pear"), ("animal", "cat"), ("color", "pink")]),
                cell(&[("fruit", "pear"), ("animal", "dog"), ("color", "green")]),
                cell(&[("fruit", "banana")]),
                cell(&[("fruit", "banana"), ("animal", "cat")]),
            ]
        );
    }

    /// GitHub's "Excluding matrix configurations" example: 12 cells less 1 and 2.
    #[test]
    fn exclude_removes_cells_matching_all_its_keys_before_include() {
        let m = Matrix {
            axes: axes(&[
                ("os", &["macos", "windows"]),
                ("version", &["12", "14", "16"]),
                ("environment", &["staging", "production"]),
            ]),
            exclude: vec![
                pairs(&[
                    ("os", "macos"),
                    ("version", "12"),
                    ("environment", "production"),
                ]),
                pairs(&[("os", "windows"), ("version", "16")]),
            ],
            include: vec![pairs(&[
                ("os", "windows"),
                ("version", "16"),
                ("note", "x"),
            ])],
        };
        let cells = expand(&m);
        assert_eq!(
            cells.len(),
            10,
            "9 left, and the include matches none of them"
        );
        assert!(!cells.contains(&cell(&[
            ("os", "macos"),
            ("version", "12"),
            ("environment", "production")
        ])));
        assert_eq!(
            cells.last(),
            Some(&cell(&[
                ("os", "windows"),
                ("version", "16"),
                ("note", "x")
            ]))
        );
    }

    #[test]
    fn include_never_overwrites_an_axis_value_and_only_include_is_a_matrix() {
        let m = Matrix {
            axes: axes(&[("os", &["win", "linux"]), ("node", &["14", "16"])]),
            exclude: vec![],
            include: vec![pairs(&[("os", "win"), ("node", "16"), ("npm", "6")])],
        };
        let cells = expand(&m);
        assert_eq!(cells.len(), 4);
        assert_eq!(
            cells[1],
            cell(&[("os", "win"), ("node", "16"), ("npm", "6")])
        );
        let only = Matrix {
            include: vec![pairs(&[("site", "a")]), pairs(&[("site", "b")])],
            ..Matrix::default()
        };
        assert_eq!(
            expand(&only),
            vec![cell(&[("site", "a")]), cell(&[("site", "b")])]
        );
    }
}
