//! The `container` field of a Messages request and response, with its Agent Skills
//! (docs/api.md §14.1): a job's first request sends `{"skills": [...]}`, every later one
//! `{"id": "container_…", "skills": [...]}` with the same list, since the container's skills
//! cannot change and a changed list would also break the cache and the thinking prefix.
//! Without skills the container is the bare id string, as before.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One skill as the API names it: `{"type": "anthropic"|"custom", "skill_id", "version"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireSkill {
    #[serde(rename = "type")]
    pub kind: String,
    pub skill_id: String,
    pub version: String,
}

impl WireSkill {
    pub(crate) fn anthropic(skill_id: &str, version: &str) -> WireSkill {
        WireSkill {
            kind: "anthropic".into(),
            skill_id: skill_id.into(),
            version: version.into(),
        }
    }

    pub(crate) fn custom(skill_id: &str, version: &str) -> WireSkill {
        WireSkill {
            kind: "custom".into(),
            skill_id: skill_id.into(),
            version: version.into(),
        }
    }
}

/// Request parameters that load `skills` into the container; unchanged when none.
pub(crate) fn with_skills(mut params: Value, skills: &[WireSkill]) -> Value {
    if !skills.is_empty() {
        params["container"] = json!({ "skills": skills });
    }
    params
}

/// The `container` a request sends: the bare id, or with skills the object form carrying
/// the id and the same skills list.
pub(crate) fn request_field(params: &Value, id: Option<&str>) -> Option<Value> {
    match (&params["container"]["skills"], id) {
        (Value::Array(skills), Some(id)) => Some(json!({ "id": id, "skills": skills })),
        (Value::Array(skills), None) => Some(json!({ "skills": skills })),
        (_, Some(id)) => Some(json!(id)),
        (_, None) => None,
    }
}

/// Whether a request body loads skills.
pub(crate) fn carries_skills(body: &Value) -> bool {
    body["container"]["skills"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
}

/// The container a request body names, in either form.
pub(crate) fn named(body: &Value) -> Option<&str> {
    body["container"]
        .as_str()
        .or_else(|| body["container"]["id"].as_str())
}

/// The skills a response's `container.skills` says were loaded, with resolved versions
/// (for a custom skill a `skver_…` id), or a request's as it asked for them; entries of
/// another shape are skipped.
pub(crate) fn loaded_skills(body: &Value) -> Vec<WireSkill> {
    body["container"]["skills"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| serde_json::from_value(s.clone()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_request_sends_skills_and_later_ones_the_id_with_the_same_list() {
        let params = with_skills(
            json!({"model": "m"}),
            &[WireSkill::anthropic("xlsx", "latest")],
        );
        let first = request_field(&params, None).unwrap();
        assert_eq!(
            first,
            json!({"skills": [{"type": "anthropic", "skill_id": "xlsx", "version": "latest"}]})
        );
        let later = request_field(&params, Some("container_1")).unwrap();
        assert_eq!(later["id"], "container_1");
        assert_eq!(later["skills"], first["skills"]);
        assert!(carries_skills(&json!({"container": later})));
    }

    #[test]
    fn without_skills_the_container_is_the_bare_id() {
        let params = with_skills(json!({"model": "m"}), &[]);
        assert!(params.get("container").is_none());
        assert_eq!(request_field(&params, Some("c")), Some(json!("c")));
        assert_eq!(request_field(&params, None), None);
        assert_eq!(named(&json!({"container": "c"})), Some("c"));
        assert_eq!(
            named(&json!({"container": {"id": "d", "skills": []}})),
            Some("d")
        );
    }

    #[test]
    fn loaded_skills_are_read_tolerantly() {
        let body = json!({"container": {"id": "c", "skills": [
            {"type": "custom", "skill_id": "skill_1", "version": "skver_2"},
            {"type": "anthropic"},
        ]}});
        assert_eq!(
            loaded_skills(&body),
            [WireSkill::custom("skill_1", "skver_2")]
        );
        assert!(loaded_skills(&json!({"container": {"skills": null}})).is_empty());
    }
}
