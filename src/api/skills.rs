//! The Skills API calls (docs/api.md §14.2): create a skill or a new version of one from a
//! folder's files (multipart), look a version up, list skills and versions by page, delete
//! a version or a skill. One call here is one HTTP request through the Files gate, like
//! every non-Messages call, with the usual headers and no beta header (docs/api.md §14.2:
//! `skills-2025-10-02` would switch the responses to the beta shapes). Callers wrap calls
//! in [`super::retry::retry`].
//!
//! The methods on [`ApiClient`] send `anthropic-version` [`DEFAULT_API_VERSION`] as
//! attempt 0; [`ApiClient::skills_at`] gives the same calls with a chosen version and the
//! attempt number of a retry loop (`x-stainless-retry-count`).

use serde::{Deserialize, Deserializer, Serialize};

use super::client::ApiClient;
use super::error::{ApiError, ApiErrorKind};
use super::facts::{MAX_SKILL_UPLOAD_BYTES, SKILL_DISPLAY_NAME_MAX, SKILL_FILE};
use super::files::path_segment;

/// One file of a skill folder: `path` is `top/rel/path`, `/`-separated, under the one
/// top-level folder that holds `SKILL.md` (docs/api.md §14.2).
#[derive(Clone, Debug)]
pub(crate) struct SkillFile<'a> {
    pub path: String,
    pub bytes: &'a [u8],
}

/// A skill, as `POST /v1/skills`, `GET /v1/skills` and `GET /v1/skills/{id}` answer it
/// (docs/api.md §14.2). `source` is the SDK's `source.type` (`custom`, `anthropic`,
/// `anthropic_example`, `plugin`, or a word this runner does not know yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SkillInfo {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub latest_version_id: Option<String>,
    #[serde(default = "unknown_source", deserialize_with = "source_type")]
    pub source: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A skill version (docs/api.md §14.2): `id` is a `skver_…` id; `name` the skill's
/// immutable slug, the folder it is mounted as (`/skills/{name}/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SkillVersion {
    pub id: String,
    pub skill_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One page of `GET /v1/skills`: `next_page` is the cursor of the next page, `None` (or
/// absent) on the last one (the SDK's `PageCursor`).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct SkillPage {
    pub data: Vec<SkillInfo>,
    #[serde(default)]
    pub next_page: Option<String>,
}

/// One page of `GET /v1/skills/{id}/versions`, paged like [`SkillPage`].
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct SkillVersionPage {
    pub data: Vec<SkillVersion>,
    #[serde(default)]
    pub next_page: Option<String>,
}

fn unknown_source() -> String {
    "unknown".to_owned()
}

/// `source` is `{"type": "custom"}` in the GA shape; a bare string is read as well, and
/// anything else (or `null`) as `unknown`.
fn source_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let word = match &value {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Object(o) => o.get("type").and_then(serde_json::Value::as_str),
        _ => None,
    };
    Ok(word.map_or_else(unknown_source, str::to_owned))
}

/// Skills (or versions) per listed page: the API's maximum (docs/api.md §14.2).
const PAGE_LIMIT: u32 = 1000;

/// The Skills calls with a chosen `anthropic-version` and attempt number.
#[derive(Clone, Copy)]
pub(crate) struct SkillsAt<'c> {
    client: &'c ApiClient,
    version: &'c str,
    attempt: u32,
}

impl ApiClient {
    /// The Skills calls sent with `anthropic-version: version`, as attempt `attempt` of a
    /// retry loop.
    pub(crate) fn skills_at<'c>(&'c self, version: &'c str, attempt: u32) -> SkillsAt<'c> {
        SkillsAt {
            client: self,
            version,
            attempt,
        }
    }
}

impl SkillsAt<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/v1/skills{path}", self.client.base)
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: impl reqwest::IntoUrl,
    ) -> reqwest::RequestBuilder {
        self.client
            .http
            .request(method, url)
            .headers(self.client.headers(self.version, self.attempt))
            .timeout(self.client.timeouts.files)
    }

    /// `POST /v1/skills` (docs/api.md §14.2): the files as repeated `files[]` parts, and
    /// `display_name` when not empty (the API then takes the frontmatter `name`).
    pub(crate) async fn create_skill(
        self,
        display_name: &str,
        files: &[SkillFile<'_>],
    ) -> Result<SkillInfo, ApiError> {
        let endpoint = "POST /v1/skills";
        if display_name.chars().count() > SKILL_DISPLAY_NAME_MAX {
            return Err(ApiError::local(
                endpoint,
                format!(
                    "the display name has {} characters; the Skills API takes at most {SKILL_DISPLAY_NAME_MAX}",
                    display_name.chars().count()
                ),
            ));
        }
        let name = Some(display_name).filter(|n| !n.is_empty());
        let form = skill_form(name, files).map_err(|reason| ApiError::local(endpoint, reason))?;
        let req = self
            .request(reqwest::Method::POST, self.url(""))
            .multipart(form);
        self.client
            .send_json(&self.client.files_gate, endpoint, req)
            .await
    }

    /// `POST /v1/skills/{id}/versions` (docs/api.md §14.2).
    pub(crate) async fn create_skill_version(
        self,
        skill_id: &str,
        files: &[SkillFile<'_>],
    ) -> Result<SkillVersion, ApiError> {
        let endpoint = "POST /v1/skills/{id}/versions";
        let form = skill_form(None, files).map_err(|reason| ApiError::local(endpoint, reason))?;
        let url = self.url(&format!("/{}/versions", path_segment(skill_id)));
        let req = self.request(reqwest::Method::POST, url).multipart(form);
        self.client
            .send_json(&self.client.files_gate, endpoint, req)
            .await
    }

    /// `GET /v1/skills/{id}/versions/{version}`; `Ok(None)` on a 404 (no such skill or
    /// version: deleted, or another workspace's).
    pub(crate) async fn skill_version(
        self,
        skill_id: &str,
        version: &str,
    ) -> Result<Option<SkillVersion>, ApiError> {
        let endpoint = "GET /v1/skills/{id}/versions/{version}";
        let url = self.url(&format!(
            "/{}/versions/{}",
            path_segment(skill_id),
            path_segment(version)
        ));
        let req = self.request(reqwest::Method::GET, url);
        match self
            .client
            .send_json(&self.client.files_gate, endpoint, req)
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/skills?limit=…[&source=…][&page=…]`.
    pub(crate) async fn skills_page(
        self,
        source: Option<&str>,
        page: Option<&str>,
    ) -> Result<SkillPage, ApiError> {
        let endpoint = "GET /v1/skills";
        let url = paged(&self.url(""), page, source)
            .map_err(|reason| ApiError::local(endpoint, reason))?;
        let req = self.request(reqwest::Method::GET, url);
        self.client
            .send_json(&self.client.files_gate, endpoint, req)
            .await
    }

    /// `GET /v1/skills/{id}/versions?limit=…[&page=…]`.
    pub(crate) async fn skill_versions_page(
        self,
        skill_id: &str,
        page: Option<&str>,
    ) -> Result<SkillVersionPage, ApiError> {
        let endpoint = "GET /v1/skills/{id}/versions";
        let base = self.url(&format!("/{}/versions", path_segment(skill_id)));
        let url = paged(&base, page, None).map_err(|reason| ApiError::local(endpoint, reason))?;
        let req = self.request(reqwest::Method::GET, url);
        self.client
            .send_json(&self.client.files_gate, endpoint, req)
            .await
    }

    /// `DELETE /v1/skills/{id}/versions/{version}`: `{"id", "type": "skill_version_deleted"}`;
    /// a 404 (gone already) counts as done.
    pub(crate) async fn delete_skill_version(
        self,
        skill_id: &str,
        version: &str,
    ) -> Result<(), ApiError> {
        let endpoint = "DELETE /v1/skills/{id}/versions/{version}";
        let url = self.url(&format!(
            "/{}/versions/{}",
            path_segment(skill_id),
            path_segment(version)
        ));
        let req = self.request(reqwest::Method::DELETE, url);
        match self
            .client
            .send_json::<Deleted>(&self.client.files_gate, endpoint, req)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /v1/skills/{id}`: `{"id", "type": "skill_deleted"}`. A 404 is an error here
    /// (the caller decides whether gone is done).
    pub(crate) async fn delete_skill(self, skill_id: &str) -> Result<(), ApiError> {
        let endpoint = "DELETE /v1/skills/{id}";
        let url = self.url(&format!("/{}", path_segment(skill_id)));
        let req = self.request(reqwest::Method::DELETE, url);
        let _: Deleted = self
            .client
            .send_json(&self.client.files_gate, endpoint, req)
            .await?;
        Ok(())
    }
}

/// What a delete answers; checked by deserialising: the reply names what was deleted.
#[derive(Deserialize)]
struct Deleted {
    #[allow(dead_code, reason = "checked by deserialising")]
    id: String,
}

/// A listing URL: `limit`, then `source` and `page` when given.
fn paged(base: &str, page: Option<&str>, source: Option<&str>) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| e.to_string())?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("limit", &PAGE_LIMIT.to_string());
        if let Some(source) = source {
            q.append_pair("source", source);
        }
        if let Some(page) = page {
            q.append_pair("page", page);
        }
    }
    Ok(url)
}

/// The multipart body of a create: `display_name` when given, then one `files[]` part per
/// file, its file name the file's path under the top-level folder, as the official SDK
/// sends it (docs/api.md §14.2). The folder is checked first, so that nothing the API
/// would refuse is sent.
fn skill_form(
    display_name: Option<&str>,
    files: &[SkillFile<'_>],
) -> Result<reqwest::multipart::Form, String> {
    check_folder(files)?;
    let mut form = reqwest::multipart::Form::new();
    if let Some(name) = display_name {
        form = form.text("display_name", name.to_owned());
    }
    for file in files {
        let part = reqwest::multipart::Part::bytes(file.bytes.to_vec())
            .file_name(file.path.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| e.to_string())?;
        form = form.part("files[]", part);
    }
    Ok(form)
}

/// `Err(reason)` when these files are not one skill folder the API takes (docs/api.md
/// §14.2): at least one file, each path `top/…` with no empty, `.` or `..` part and no
/// backslash, quote or control character, one `top` for all, `top/SKILL.md` among them,
/// no path twice, at most 30 MB in all.
pub(crate) fn check_folder(files: &[SkillFile<'_>]) -> Result<(), String> {
    let Some(first) = files.first() else {
        return Err("a skill needs at least its SKILL.md; no file was given".to_owned());
    };
    let top = first.path.split('/').next().unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    let mut total: u64 = 0;
    for file in files {
        let path = file.path.as_str();
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() < 2
            || parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(format!(
                "`{path}` is not a path under the skill's folder (`{top}/…`)"
            ));
        }
        if let Some(c) = path
            .chars()
            .find(|c| c.is_control() || matches!(c, '\\' | '"'))
        {
            return Err(format!("`{}` contains {c:?}", path.escape_debug()));
        }
        if parts[0] != top {
            return Err(format!(
                "`{path}` is outside `{top}/`: every file of a skill is under one top-level folder"
            ));
        }
        if !seen.insert(path) {
            return Err(format!("`{path}` is given twice"));
        }
        total = total.saturating_add(file.bytes.len() as u64);
    }
    if !seen.contains(format!("{top}/{SKILL_FILE}").as_str()) {
        return Err(format!("`{top}/` has no {SKILL_FILE} at its top"));
    }
    if total > MAX_SKILL_UPLOAD_BYTES {
        return Err(format!(
            "the skill's files hold {total} bytes; the Skills API takes at most {MAX_SKILL_UPLOAD_BYTES}"
        ));
    }
    Ok(())
}

/// Whether a failed call is about a skill the request named (docs/api.md §14.3): an
/// `error_code` starting `skill_`, or a 400, 404 or 409 whose message mentions a skill.
/// Such a failure is the job's (kind `skill`), never the run's.
pub(crate) fn is_skill_error(e: &ApiError) -> bool {
    if e.error_code().is_some_and(|c| c.starts_with("skill_")) {
        return true;
    }
    match &e.kind {
        ApiErrorKind::Status {
            status: 400 | 404 | 409,
            message,
            ..
        } => message.to_ascii_lowercase().contains("skill"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(path: &str, bytes: &'a [u8]) -> SkillFile<'a> {
        SkillFile {
            path: path.to_owned(),
            bytes,
        }
    }

    #[test]
    fn reads_the_sdk_shapes_and_tolerates_what_they_lack() {
        let skill: SkillInfo = serde_json::from_value(serde_json::json!({
            "type": "skill", "id": "skill_01Ab", "display_name": "House style",
            "latest_version_id": "skver_01Cd", "source": {"type": "custom"},
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-02T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(skill.source, "custom");
        assert_eq!(skill.latest_version_id.as_deref(), Some("skver_01Cd"));
        let bare: SkillInfo = serde_json::from_value(serde_json::json!({
            "id": "xlsx", "source": "anthropic"
        }))
        .unwrap();
        assert_eq!(
            (bare.source.as_str(), bare.display_name),
            ("anthropic", None)
        );
        let odd: SkillInfo =
            serde_json::from_value(serde_json::json!({"id": "s", "source": null})).unwrap();
        assert_eq!(odd.source, "unknown");
        let none: SkillInfo = serde_json::from_value(serde_json::json!({"id": "s"})).unwrap();
        assert_eq!(none.source, "unknown");

        let page: SkillVersionPage = serde_json::from_value(serde_json::json!({
            "data": [{"type": "skill_version", "id": "skver_01Cd", "skill_id": "skill_01Ab",
                      "name": "house-style", "description": "d", "created_at": "2026-12-01T10:00:00Z"}],
            "next_page": null
        }))
        .unwrap();
        assert_eq!(page.data[0].name, "house-style");
        assert_eq!(page.next_page, None);
        let last: SkillPage = serde_json::from_value(serde_json::json!({"data": []})).unwrap();
        assert!(last.data.is_empty() && last.next_page.is_none());
    }

    #[test]
    fn a_folder_is_checked_before_anything_is_sent() {
        let ok = [file("style/SKILL.md", b"---"), file("style/lib/x.py", b"")];
        assert_eq!(check_folder(&ok), Ok(()));
        let cases: [&[SkillFile<'_>]; 7] = [
            &[],
            &[file("SKILL.md", b"")],
            &[file("style/SKILL.md", b""), file("other/x", b"")],
            &[file("style/README.md", b"")],
            &[file("style/SKILL.md", b""), file("style/../x", b"")],
            &[file("style/SKILL.md", b""), file("style/a\"b", b"")],
            &[file("style/SKILL.md", b""), file("style/SKILL.md", b"")],
        ];
        for files in cases {
            assert!(check_folder(files).is_err(), "{files:?}");
        }
        let big = vec![0u8; usize::try_from(MAX_SKILL_UPLOAD_BYTES).unwrap() + 1];
        let e = check_folder(&[file("style/SKILL.md", &big)]).unwrap_err();
        assert!(e.contains("at most 30000000"), "{e}");
    }

    fn status(status: u16, code: Option<&str>, message: &str) -> ApiError {
        ApiError {
            endpoint: "POST /v1/messages".into(),
            kind: ApiErrorKind::Status {
                status,
                error_type: None,
                error_code: code.map(str::to_owned),
                message: message.to_owned(),
            },
            request_id: Some("req_1".into()),
            retry_after: None,
            should_retry: None,
        }
    }

    #[test]
    fn skill_errors_are_told_from_others() {
        assert!(is_skill_error(&status(
            409,
            Some("skill_read_blocked_undecryptable"),
            ""
        )));
        assert!(is_skill_error(&status(
            404,
            None,
            "Skill skill_01 not found"
        )));
        assert!(is_skill_error(&status(
            400,
            None,
            "container: skills can only be used when a code execution tool is enabled"
        )));
        assert!(!is_skill_error(&status(400, None, "max_tokens: too large")));
        assert!(!is_skill_error(&status(500, None, "skill service down")));
        assert!(!is_skill_error(&status(
            503,
            Some("cmek_context_unavailable"),
            ""
        )));
    }
}
