//! `container` in a Messages request (docs/api.md §8.16): a container id string, or
//! `{"id"?: string|null, "skills"?: [{"type": "anthropic"|"custom", "skill_id",
//! "version"?}]}`. Skills need a code execution tool, at most 8, none twice; each must
//! resolve (Anthropic: a catalogue id and `latest` or a date version; custom: a skill of
//! the workspace and `latest` or one of its `skver_` ids); a blocked custom skill is a 409
//! `skill_read_blocked_undecryptable`. A container keeps the skills it was created with:
//! every later request naming it must carry the same list.

use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::skills::store::{self, Mounted, Store};

/// At most this many skills per request.
pub(crate) const MAX_SKILLS: usize = 8;

/// One entry of `container.skills`, as requested (`version` defaulted to `latest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkillRef {
    pub anthropic: bool,
    pub skill_id: String,
    pub version: String,
}

impl SkillRef {
    fn describe(&self) -> String {
        let kind = if self.anthropic {
            "anthropic"
        } else {
            "custom"
        };
        format!("{kind}:{}@{}", self.skill_id, self.version)
    }
}

/// A skill as the scripted model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub anthropic: bool,
    /// An Anthropic skill's id (`xlsx`), a custom skill's slug (its version's `name`).
    pub name: String,
}

/// Which container the request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// No `container` (or `null`): a new one, or the paused response's.
    Absent,
    /// The object form without an id: a new container.
    New,
    Id(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Requested {
    pub which: Which,
    pub skills: Vec<SkillRef>,
}

/// The `container` parameter's shape and the rules that need no state.
pub(crate) fn parse(obj: &Map<String, Value>) -> Result<Requested, ApiError> {
    let (which, skills) = match obj.get("container") {
        None | Some(Value::Null) => (Which::Absent, None),
        Some(Value::String(id)) => (Which::Id(id.clone()), None),
        Some(Value::Object(o)) => {
            if let Some(key) = o.keys().find(|k| *k != "id" && *k != "skills") {
                return Err(ApiError::invalid(format!(
                    "container.{key}: Extra inputs are not permitted"
                )));
            }
            let which = match o.get("id") {
                None | Some(Value::Null) => Which::New,
                Some(Value::String(id)) => Which::Id(id.clone()),
                Some(_) => return Err(ApiError::invalid("container.id: Input should be a string")),
            };
            (which, o.get("skills").filter(|s| !s.is_null()))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "container: Input should be a container id string or an object",
            ));
        }
    };
    let skills = match skills {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| skill_ref(i, item))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "container.skills: Input should be a valid list",
            ));
        }
    };
    check_list(&skills, obj)?;
    Ok(Requested { which, skills })
}

fn skill_ref(i: usize, item: &Value) -> Result<SkillRef, ApiError> {
    let at =
        |field: &str, what: &str| ApiError::invalid(format!("container.skills.{i}{field}: {what}"));
    let Some(o) = item.as_object() else {
        return Err(at("", "Input should be an object"));
    };
    if let Some(key) = o
        .keys()
        .find(|k| !["type", "skill_id", "version"].contains(&k.as_str()))
    {
        return Err(at(&format!(".{key}"), "Extra inputs are not permitted"));
    }
    let anthropic = match o.get("type") {
        None => return Err(at(".type", "Field required")),
        Some(t) if t == "anthropic" => true,
        Some(t) if t == "custom" => false,
        Some(_) => return Err(at(".type", "Input should be 'anthropic' or 'custom'")),
    };
    let skill_id = match o.get("skill_id") {
        None => return Err(at(".skill_id", "Field required")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(at(".skill_id", "Input should be a non-empty string")),
    };
    let version = match o.get("version") {
        None | Some(Value::Null) => "latest".to_owned(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(at(".version", "Input should be a non-empty string")),
    };
    Ok(SkillRef {
        anthropic,
        skill_id,
        version,
    })
}

/// ≤ 8 skills, none twice, and a code execution tool in `tools`.
fn check_list(skills: &[SkillRef], obj: &Map<String, Value>) -> Result<(), ApiError> {
    if skills.is_empty() {
        return Ok(());
    }
    if skills.len() > MAX_SKILLS {
        return Err(ApiError::invalid(format!(
            "container.skills: at most {MAX_SKILLS} skills can be loaded in a container (got {})",
            skills.len()
        )));
    }
    for (i, s) in skills.iter().enumerate() {
        if skills[..i].iter().any(|t| t.skill_id == s.skill_id) {
            return Err(ApiError::invalid(format!(
                "container.skills.{i}: skill `{}` is listed more than once",
                s.skill_id
            )));
        }
    }
    let has_code_execution = obj
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            tools.iter().any(|t| {
                t.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("code_execution_"))
            })
        });
    if !has_code_execution {
        return Err(ApiError::invalid(
            "container: skills can only be used when a code execution tool is enabled",
        ));
    }
    Ok(())
}

/// Resolves every skill against the workspace: what a new container would mount.
pub(crate) fn resolve(store: &Store, skills: &[SkillRef]) -> Result<Mounted, ApiError> {
    let mut mounted = Mounted {
        requested: skills.to_vec(),
        ..Mounted::default()
    };
    for (i, s) in skills.iter().enumerate() {
        let (version, name) = if s.anthropic {
            resolve_anthropic(i, s)?
        } else {
            resolve_custom(store, i, s)?
        };
        let kind = if s.anthropic { "anthropic" } else { "custom" };
        mounted
            .resolved
            .push(json!({"type": kind, "skill_id": s.skill_id, "version": version}));
        mounted.loaded.push(Loaded {
            anthropic: s.anthropic,
            name,
        });
    }
    Ok(mounted)
}

fn resolve_anthropic(i: usize, s: &SkillRef) -> Result<(String, String), ApiError> {
    let names: Vec<&str> = store::ANTHROPIC.iter().map(|(id, ..)| *id).collect();
    let Some((_, _, versions)) = store::anthropic(&s.skill_id) else {
        return Err(ApiError::invalid(format!(
            "container.skills.{i}.skill_id: `{}` is not an Anthropic skill; Anthropic skills are {}",
            s.skill_id,
            names.join(", ")
        )));
    };
    let version = if s.version == "latest" {
        versions.last().copied()
    } else {
        versions.iter().copied().find(|v| *v == s.version)
    };
    match version {
        Some(v) => Ok((v.to_owned(), s.skill_id.clone())),
        None => Err(ApiError::invalid(format!(
            "container.skills.{i}.version: Anthropic skill `{}` has no version `{}`; use `latest` or one of {}",
            s.skill_id,
            s.version,
            versions.join(", ")
        ))),
    }
}

fn resolve_custom(store: &Store, i: usize, s: &SkillRef) -> Result<(String, String), ApiError> {
    let Some(skill) = store.skill(&s.skill_id) else {
        return Err(ApiError::not_found(format!(
            "container.skills.{i}.skill_id: custom skill `{}` not found",
            s.skill_id
        )));
    };
    let Some(version) = skill.version(&s.version) else {
        return Err(ApiError::not_found(format!(
            "container.skills.{i}.version: custom skill `{}` has no version `{}`",
            s.skill_id, s.version
        )));
    };
    if store.blocked.contains(&s.skill_id) {
        return Err(ApiError::new(
            409,
            format!(
                "container.skills.{i}: custom skill `{}` is stored under an encryption key state the workspace cannot currently decrypt",
                s.skill_id
            ),
        )
        .with_code("skill_read_blocked_undecryptable"));
    }
    Ok((version.id.clone(), version.name.clone()))
}

/// A request naming an existing container must carry the skills it was created with.
pub(crate) fn check_reuse(
    store: &Store,
    container_id: &str,
    skills: &[SkillRef],
) -> Result<(), ApiError> {
    let had = store
        .mounted
        .get(container_id)
        .map_or(&[][..], |m| m.requested.as_slice());
    if had == skills {
        return Ok(());
    }
    let list = |l: &[SkillRef]| {
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.iter()
                .map(SkillRef::describe)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    Err(ApiError::invalid(format!(
        "container: the skills of container `{container_id}` cannot change: it was created with [{}] and this request asks for [{}]; send the same `container.skills` with every request that uses the container",
        list(had),
        list(skills)
    )))
}

/// The container's skills after the request: a new container mounts `fresh`; an existing
/// one keeps what it mounted at creation.
pub(crate) fn mount(
    store: &mut Store,
    container_id: &str,
    is_new: bool,
    fresh: Mounted,
) -> Mounted {
    if is_new {
        if fresh.requested.is_empty() {
            return Mounted::default();
        }
        store.mounted.insert(container_id.to_owned(), fresh.clone());
        return fresh;
    }
    store.mounted.get(container_id).cloned().unwrap_or_default()
}

/// The response's `container.skills`: `null` when none are loaded.
pub(crate) fn response_skills(mounted: &Mounted) -> Value {
    if mounted.resolved.is_empty() {
        Value::Null
    } else {
        Value::Array(mounted.resolved.clone())
    }
}

/// A batch item with skills, when the fake is told batches refuse them.
pub(crate) fn batch_refusal(refused: bool, params: &Value) -> Option<ApiError> {
    let has_skills = params["container"]["skills"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    (refused && has_skills).then(|| {
        ApiError::invalid(
            "container.skills: Agent Skills are not supported in Message Batches; send this request to POST /v1/messages instead",
        )
    })
}
