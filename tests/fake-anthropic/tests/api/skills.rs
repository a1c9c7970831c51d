//! The Skills API (docs/api.md §8.16): upload, versions, list, retrieve, delete.

use fake_anthropic::{Endpoint, FakeServer, Fault};
use reqwest::blocking::multipart;
use serde_json::{Value, json};

use crate::{authed, client, error_of, get, json_of};

pub(crate) const SKILL_MD: &str = "---\nname: house-style\ndescription: The team's chart conventions - colours, fonts, titles.\n---\n# House style\n";

/// A multipart body of (field, path, bytes) parts, plus an optional `display_name`.
pub(crate) fn form(parts: &[(&str, &str, &[u8])], display_name: Option<&str>) -> multipart::Form {
    let mut form = multipart::Form::new();
    for (field, path, bytes) in parts {
        let part = multipart::Part::bytes(bytes.to_vec()).file_name((*path).to_owned());
        form = form.part((*field).to_owned(), part);
    }
    if let Some(name) = display_name {
        form = form.text("display_name", name.to_owned());
    }
    form
}

pub(crate) fn post_form(server: &FakeServer, path: &str, form: multipart::Form) -> (u16, Value) {
    json_of(
        authed(client().post(format!("{}{path}", server.base_url())))
            .multipart(form)
            .send()
            .unwrap(),
    )
}

/// Creates the `house-style` skill (SKILL.md with this frontmatter `description`).
pub(crate) fn create_skill(server: &FakeServer, skill_md: &str) -> Value {
    let f = form(
        &[
            ("files[]", "house-style/SKILL.md", skill_md.as_bytes()),
            ("files", "house-style/palettes/colours.json", b"{}"),
        ],
        None,
    );
    let (status, body) = post_form(server, "/v1/skills", f);
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) fn new_version(server: &FakeServer, id: &str, skill_md: &str) -> (u16, Value) {
    let f = form(
        &[("files[]", "house-style/SKILL.md", skill_md.as_bytes())],
        None,
    );
    post_form(server, &format!("/v1/skills/{id}/versions"), f)
}

fn delete(server: &FakeServer, path: &str) -> (u16, Value) {
    json_of(
        authed(client().delete(format!("{}{path}", server.base_url())))
            .send()
            .unwrap(),
    )
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_version_list_retrieve_delete_round_trip() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    assert!(id.starts_with("skill_01"), "{skill}");
    let first = skill["latest_version_id"].as_str().unwrap().to_owned();
    assert!(first.starts_with("skver_01"), "{skill}");
    assert_eq!(skill["type"], "skill");
    assert_eq!(skill["display_name"], "house-style", "the frontmatter name");
    assert_eq!(skill["source"], json!({"type": "custom"}));
    assert!(skill["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        get(&server, &format!("/v1/skills/{id}")),
        (200, skill.clone())
    );
    let files = server.skill_files(id, "latest").unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        paths,
        ["house-style/SKILL.md", "house-style/palettes/colours.json"]
    );

    let (status, v2) = new_version(&server, id, &SKILL_MD.replace("titles", "legends"));
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["type"], "skill_version");
    assert_eq!(v2["skill_id"], id);
    assert_eq!(v2["name"], "house-style");
    assert!(v2["description"].as_str().unwrap().contains("legends"));
    let second = v2["id"].as_str().unwrap();
    let (_, now) = get(&server, &format!("/v1/skills/{id}"));
    assert_eq!(now["latest_version_id"], second);
    assert_eq!(
        get(&server, &format!("/v1/skills/{id}/versions/latest")),
        (200, v2.clone())
    );
    let (status, old) = get(&server, &format!("/v1/skills/{id}/versions/{first}"));
    assert_eq!((status, old["id"].as_str()), (200, Some(first.as_str())));
    let (_, versions) = get(&server, &format!("/v1/skills/{id}/versions?limit=1"));
    assert_eq!(ids(&versions), [second], "newest first");
    let next = versions["next_page"].as_str().unwrap();
    let (_, rest) = get(
        &server,
        &format!("/v1/skills/{id}/versions?limit=1&page={next}"),
    );
    assert_eq!(ids(&rest), std::slice::from_ref(&first));
    assert!(rest["next_page"].is_null());

    let (status, deleted) = delete(&server, &format!("/v1/skills/{id}/versions/{first}"));
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        deleted,
        json!({"id": first, "type": "skill_version_deleted"})
    );
    let (status, body) = delete(&server, &format!("/v1/skills/{id}/versions/{second}"));
    assert_eq!(status, 400, "the only version: {body}");
    let (status, deleted) = delete(&server, &format!("/v1/skills/{id}"));
    assert_eq!(
        (status, deleted),
        (200, json!({"id": id, "type": "skill_deleted"}))
    );
    let (status, body) = get(&server, &format!("/v1/skills/{id}"));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (404, "not_found_error")
    );
    let stats = server.stats();
    assert_eq!(
        (
            stats.skills_created,
            stats.skill_versions_created,
            stats.skill_versions_deleted,
            stats.skills_deleted
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(stats.requests.get("skill_create"), Some(&1));
}

#[test]
fn listings_are_newest_first_custom_then_anthropic() {
    let server = FakeServer::start();
    let older = create_skill(&server, SKILL_MD);
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    let older = older["id"].as_str().unwrap();
    let (_, custom) = get(&server, "/v1/skills?source=custom");
    assert_eq!(ids(&custom), [id, older]);
    let (_, anthropic) = get(&server, "/v1/skills?source=anthropic");
    assert_eq!(ids(&anthropic), ["xlsx", "pptx", "docx", "pdf"]);
    assert_eq!(anthropic["data"][0]["source"], json!({"type": "anthropic"}));
    let mut all = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let q = page.map_or_else(String::new, |p| format!("&page={p}"));
        let (status, body) = get(&server, &format!("/v1/skills?limit=2{q}"));
        assert_eq!(status, 200, "{body}");
        all.extend(ids(&body));
        match body["next_page"].as_str() {
            Some(p) => page = Some(p.to_owned()),
            None => break,
        }
    }
    assert_eq!(all, [id, older, "xlsx", "pptx", "docx", "pdf"]);
}

#[test]
fn a_display_name_is_kept_and_the_anthropic_skills_are_read_only() {
    let server = FakeServer::start();
    let f = form(
        &[("files", "style/SKILL.md", SKILL_MD.as_bytes())],
        Some("House style (2026)"),
    );
    let (status, skill) = post_form(&server, "/v1/skills", f);
    assert_eq!(status, 200, "{skill}");
    assert_eq!(skill["display_name"], "House style (2026)");
    let (_, xlsx) = get(&server, "/v1/skills/xlsx");
    assert_eq!(xlsx["latest_version_id"], "20261104");
    let (status, v) = get(&server, "/v1/skills/xlsx/versions/20251013");
    assert_eq!((status, &v["name"]), (200, &json!("xlsx")));
    let (_, versions) = get(&server, "/v1/skills/pdf/versions");
    assert_eq!(ids(&versions), ["20261104", "20251013"]);
    for path in ["/v1/skills/xlsx", "/v1/skills/xlsx/versions/20251013"] {
        let (status, body) = delete(&server, path);
        assert_eq!(status, 400, "{path}: {body}");
    }
    let (status, _) = new_version(&server, "pptx", SKILL_MD);
    assert_eq!(status, 400);
}

/// (files, display_name, what the message says) of uploads that break a rule.
type Case = (Vec<(&'static str, String)>, Option<String>, &'static str);

fn md(front: &str) -> String {
    format!("---\n{front}\n---\nbody\n")
}

fn path_cases() -> Vec<Case> {
    vec![
        (
            vec![("a/notes.md", "x".into())],
            None,
            "SKILL.md is required",
        ),
        (
            vec![("SKILL.md", SKILL_MD.into())],
            None,
            "inside one top-level directory",
        ),
        (
            vec![("a/SKILL.md", SKILL_MD.into()), ("b/x.md", "x".into())],
            None,
            "same top-level directory",
        ),
        (
            vec![("a/../SKILL.md", SKILL_MD.into())],
            None,
            "invalid path",
        ),
        (vec![("/a/SKILL.md", SKILL_MD.into())], None, "invalid path"),
    ]
}

fn frontmatter_cases() -> Vec<Case> {
    vec![
        (
            vec![("a/SKILL.md", "# no frontmatter".into())],
            None,
            "YAML frontmatter",
        ),
        (
            vec![("a/SKILL.md", md("name: House\ndescription: x"))],
            None,
            "lowercase",
        ),
        (
            vec![("a/SKILL.md", md("name: claude-style\ndescription: x"))],
            None,
            "\"claude\"",
        ),
        (
            vec![("a/SKILL.md", md("name: anthropic-style\ndescription: x"))],
            None,
            "\"anthropic\"",
        ),
        (
            vec![(
                "a/SKILL.md",
                md(&format!("name: {}\ndescription: x", "n".repeat(65))),
            )],
            None,
            "at most 64",
        ),
        (
            vec![("a/SKILL.md", md("name: ok"))],
            None,
            "`description` is required",
        ),
        (
            vec![(
                "a/SKILL.md",
                md(&format!("name: ok\ndescription: {}", "d".repeat(1025))),
            )],
            None,
            "at most 1024",
        ),
        (
            vec![("a/SKILL.md", md("name: ok\ndescription: use <b>bold</b>"))],
            None,
            "XML tags",
        ),
        (
            vec![("a/SKILL.md", SKILL_MD.into())],
            Some("x".repeat(256)),
            "at most 255",
        ),
        (
            vec![
                ("a/SKILL.md", SKILL_MD.into()),
                ("a/SKILL.md", SKILL_MD.into()),
            ],
            None,
            "more than once",
        ),
    ]
}

#[test]
fn uploads_that_break_the_rules_are_400s() {
    let server = FakeServer::start();
    for (files, display_name, needle) in path_cases().into_iter().chain(frontmatter_cases()) {
        let parts: Vec<(&str, &str, &[u8])> = files
            .iter()
            .map(|(p, text)| ("files[]", *p, text.as_bytes()))
            .collect();
        let (status, body) =
            post_form(&server, "/v1/skills", form(&parts, display_name.as_deref()));
        assert_eq!(status, 400, "{files:?}: {body}");
        assert_eq!(error_of(&body).0, "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{files:?}: {message}");
    }
    let (status, body) = post_form(
        &server,
        "/v1/skills",
        multipart::Form::new().text("display_name", "x"),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(server.stats().skills_created, 0);
}

#[test]
fn an_upload_over_30_mb_is_a_400() {
    let server = FakeServer::start();
    let big = vec![b'x'; 30_000_000];
    let parts: [(&str, &str, &[u8]); 2] = [
        ("files[]", "a/SKILL.md", SKILL_MD.as_bytes()),
        ("files[]", "a/data.bin", &big),
    ];
    let (status, body) = post_form(&server, "/v1/skills", form(&parts, None));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30000000 bytes")
    );
    assert_eq!(server.stats().skills_created, 0);
}

#[test]
fn a_version_keeps_the_name_and_unknown_ids_are_404s() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    let (status, body) = new_version(
        &server,
        id,
        &SKILL_MD.replace("name: house-style", "name: other"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot change")
    );
    for path in [
        "/v1/skills/skill_01nope".to_owned(),
        "/v1/skills/skill_01nope/versions".to_owned(),
        format!("/v1/skills/{id}/versions/skver_01nope"),
        "/v1/skills/xlsx/versions/20200101".to_owned(),
    ] {
        let (status, body) = get(&server, &path);
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (404, "not_found_error"),
            "{path}"
        );
    }
    for path in [
        "/v1/skills/skill_01nope".to_owned(),
        format!("/v1/skills/{id}/versions/skver_01nope"),
    ] {
        assert_eq!(delete(&server, &path).0, 404, "{path}");
    }
    assert_eq!(new_version(&server, "skill_01nope", SKILL_MD).0, 404);
    let (status, _) = get(&server, "/v1/skills?source=elsewhere");
    assert_eq!(status, 400);
    let (status, _) = get(&server, "/v1/skills?limit=0");
    assert_eq!(status, 400);
}

#[test]
fn a_create_can_meet_cmek_context_unavailable() {
    let server = FakeServer::start();
    server.push_faults(Endpoint::SkillCreate, [Fault::cmek_context_unavailable()]);
    let f = form(&[("files[]", "a/SKILL.md", SKILL_MD.as_bytes())], None);
    let (status, body) = post_form(&server, "/v1/skills", f);
    assert_eq!(status, 503);
    assert_eq!(
        error_of(&body),
        (
            "api_error".to_owned(),
            Some("cmek_context_unavailable".to_owned())
        )
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("few minutes")
    );
}
