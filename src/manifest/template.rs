//! `for_each` placeholders: `{{ path }}`, `{{ name }}`, `{{ stem }}`.
//!
//! Three fixed variables and no logic do not need a template engine; a small scanner gives
//! exact errors (unknown placeholder, unclosed braces, placeholder outside `for_each`) and
//! leaves every other character alone, so prompts may contain braces of their own.
//!
//! A literal `{{` is written `{{ "{{" }}` (Jinja's own spelling); `}}` alone needs no
//! escape, since only `{{` opens a placeholder.

/// The values one `for_each` match provides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vars<'a> {
    /// Path relative to the manifest folder, `/`-separated.
    pub path: &'a str,
    pub name: &'a str,
    pub stem: &'a str,
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
        }
    }
}

/// Replaces every placeholder in `text`. With `vars == None` (a job without `for_each`),
/// any placeholder is an error.
pub(crate) fn render(text: &str, vars: Option<&Vars<'_>>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let key = after[..close].trim();
        let value = match (key, vars) {
            (k, _) if is_literal_braces(k) => "{{",
            (k, _) if !PLACEHOLDERS.contains(&k) => {
                return Err(TemplateError::Unknown(k.to_owned()));
            }
            (k, None) => return Err(TemplateError::OutsideForEach(k.to_owned())),
            ("path", Some(v)) => v.path,
            ("name", Some(v)) => v.name,
            (_, Some(v)) => v.stem,
        };
        out.push_str(value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: Vars<'static> = Vars {
        path: "data/a.csv",
        name: "a.csv",
        stem: "a",
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
}
