//! `skills:` checked (docs/manifest.md "Skills"): at most 8 per job and none twice
//! (docs/api.md §14.1); a bare name is one of Anthropic's, a `skill_…` id, or a folder, read
//! and checked once per run however many jobs use it.

use serde_saphyr::Spanned;

use super::diagnostic::{Pos, did_you_mean};
use super::resolve::{Ctx, pos};
use super::schema::{JobSpec, Settings};
use super::skill_spec::{SkillDetail, SkillSpec};
use super::skills::{LATEST, Skill};
use crate::api::facts::{ANTHROPIC_SKILLS, MAX_SKILLS_PER_REQUEST};

/// The help for an entry that is no skill name and no folder.
fn missing_help(name: &str) -> String {
    match did_you_mean(name, ANTHROPIC_SKILLS) {
        Some(near) if !name.contains('/') => format!("did you mean Anthropic's `{near}` skill?"),
        _ => "a skill is `xlsx`, `pptx`, `docx`, `pdf`, a `skill_…` id, or a folder with a \
              SKILL.md, relative to the manifest"
            .to_owned(),
    }
}

impl Ctx<'_> {
    /// A job's `skills` (its own, else `defaults`), checked.
    pub(super) fn skills(&mut self, job: &JobSpec, d: Option<&Settings>) -> Vec<Skill> {
        let Some(specs) = job
            .skills
            .as_ref()
            .or_else(|| d.and_then(|d| d.skills.as_ref()))
        else {
            return Vec::new();
        };
        let mut skills: Vec<Skill> = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            if i == MAX_SKILLS_PER_REQUEST {
                self.err(
                    pos(spec),
                    format!("more than {MAX_SKILLS_PER_REQUEST} skills; the API loads at most {MAX_SKILLS_PER_REQUEST} per container"),
                )
                .help = Some("split the job, or drop the skills it does not need".into());
                break;
            }
            let Some(skill) = self.skill(spec) else {
                continue;
            };
            let (source, id, _) = skill.key();
            if skills
                .iter()
                .any(|s| s.key().0 == source && s.key().1 == id)
            {
                self.err(pos(spec), format!("skill `{id}` is listed twice"));
                continue;
            }
            skills.push(skill);
        }
        skills
    }

    fn skill(&mut self, spec: &Spanned<SkillSpec>) -> Option<Skill> {
        let at = pos(spec);
        match &spec.value {
            SkillSpec::Name(name) => self.named_skill(name, at),
            SkillSpec::Detailed(detail) => self.detailed_skill(detail, at),
        }
    }

    /// A bare entry: one of Anthropic's names, a `skill_…` id, or else a folder.
    fn named_skill(&mut self, name: &str, at: Pos) -> Option<Skill> {
        let latest = LATEST.to_owned();
        if ANTHROPIC_SKILLS.contains(&name) {
            return Some(Skill::Anthropic {
                skill_id: name.to_owned(),
                version: latest,
            });
        }
        if name.starts_with("skill_") {
            return Some(Skill::Custom {
                skill_id: name.to_owned(),
                version: latest,
            });
        }
        let dir = self.base.join(name);
        let read = self
            .folders
            .entry(dir.clone())
            .or_insert_with(|| super::skill_folder::read(name, &dir))
            .clone();
        match read {
            Ok(mut f) => {
                f.folder = name.to_owned();
                Some(Skill::Folder(f))
            }
            Err(message) => {
                // A folder that is there gets no help: the message says what is wrong in it.
                let help = (!dir.is_dir()).then(|| missing_help(name));
                self.err(at, message).help = help;
                None
            }
        }
    }

    fn detailed_skill(&mut self, d: &SkillDetail, at: Pos) -> Option<Skill> {
        let version = d
            .version
            .as_ref()
            .map_or_else(|| LATEST.to_owned(), |v| v.value.0.clone());
        if version.trim().is_empty() {
            self.err(
                at,
                "a skill's `version` is empty; write `latest` or a version",
            );
            return None;
        }
        match (&d.anthropic, &d.id) {
            (Some(a), None) => Some(Skill::Anthropic {
                skill_id: a.value.clone(),
                version,
            }),
            (None, Some(id)) if id.value.starts_with("skill_") => Some(Skill::Custom {
                skill_id: id.value.clone(),
                version,
            }),
            (None, Some(id)) => {
                self.err(pos(id), format!("`{}` is not a custom skill id", id.value))
                    .help = Some(
                    "custom skill ids start with `skill_`; for a folder write its path".into(),
                );
                None
            }
            _ => {
                self.err(
                    at,
                    "a skill mapping has exactly one of `anthropic` and `id`",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use camino::Utf8PathBuf;

    use super::*;
    use crate::manifest::Known;

    fn resolve(files: &[(&str, &str)]) -> Result<Vec<crate::manifest::Job>, Vec<String>> {
        let tmp = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
        for (rel, text) in files {
            let path = root.join(rel);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, text).unwrap();
        }
        let known = Known::builtin_on(jiff::civil::date(2026, 12, 7));
        let (_, result) = super::super::resolve::resolve(&[root.join("m.yaml")], &known);
        result.map_err(|d| {
            d.iter()
                .map(|d| format!("{}: {}", d.pos.line, d.message))
                .collect()
        })
    }

    const SKILL: &str = "---\nname: house-style\ndescription: House charts.\n---\n";

    #[test]
    fn every_form_resolves_and_defaults_apply() {
        let jobs = resolve(&[
            ("skills/house/SKILL.md", SKILL),
            (
                "m.yaml",
                "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  skills: [xlsx]\njobs:\n\
                 - name: a\n  prompt: p\n\
                 - name: b\n  prompt: p\n  skills:\n  - pptx\n  - { anthropic: xlsx, version: 20251013 }\n  \
                 - skill_01Abc\n  - { id: skill_02Def, version: skver_1 }\n  - skills/house\n",
            ),
        ])
        .unwrap();
        assert_eq!(
            jobs[0].skills,
            [Skill::Anthropic {
                skill_id: "xlsx".into(),
                version: LATEST.into()
            }]
        );
        let labels: Vec<String> = jobs[1].skills.iter().map(Skill::label).collect();
        assert_eq!(
            labels,
            [
                "pptx",
                "xlsx@20251013",
                "skill_01Abc",
                "skill_02Def@skver_1",
                "house-style (folder skills/house)"
            ]
        );
    }

    #[test]
    fn mistakes_point_at_their_entry() {
        let errors = resolve(&[(
            "m.yaml",
            "version: 1\ndefaults:\n  model: claude-sonnet-4-6\njobs:\n\
             - name: a\n  prompt: p\n  skills: [xslx, { id: house }, { anthropic: a, id: skill_1 }, pdf, pdf]\n",
        )])
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors[0].starts_with("7: skill folder `xslx` does not exist"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("`house` is not a custom skill id"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("exactly one of `anthropic` and `id`"),
            "{errors:?}"
        );
        assert!(
            errors[3].contains("skill `pdf` is listed twice"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_ninth_skill_is_refused() {
        let nine = (1..=9)
            .map(|i| format!("skill_{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let errors = resolve(&[(
            "m.yaml",
            &format!("version: 1\ndefaults:\n  model: claude-sonnet-4-6\njobs:\n- name: a\n  prompt: p\n  skills: [{nine}]\n"),
        )])
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("more than 8 skills"), "{errors:?}");
    }
}
