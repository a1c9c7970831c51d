//! The multipart upload of a skill directory (docs/api.md §8.16): repeated file parts
//! `files` or `files[]` (the SDK sends `files[]`) whose filenames are paths
//! `top/rel/path`, all under one top-level directory holding `SKILL.md`; optionally a text
//! field `display_name`. At most 30,000,000 bytes of files in all.

use std::collections::HashSet;

use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::HeaderMap;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;

use crate::errors::ApiError;

/// "30 MB" read as decimal megabytes, the stricter reading (docs/api.md §8.16).
pub(crate) const MAX_TOTAL_BYTES: u64 = 30_000_000;

/// A complete, checked upload.
pub(crate) struct Upload {
    /// The top-level directory.
    pub top: String,
    /// (path, size, blake3 hex), in upload order.
    pub files: Vec<(String, u64, String)>,
    /// The text of `top/SKILL.md`.
    pub skill_md: String,
    pub display_name: Option<String>,
}

/// What the parts said, before the directory rules are checked.
#[derive(Default)]
struct Parts {
    files: Vec<(String, u64, String)>,
    skill_md: Option<Vec<u8>>,
    display_name: Option<String>,
    total: u64,
    unnamed: bool,
}

fn bad_multipart(e: multer::Error) -> ApiError {
    ApiError::invalid(format!("invalid multipart body: {e}"))
}

/// Reads the whole body (also when it is too large, so the client hears the answer).
pub(crate) async fn read(headers: &HeaderMap, body: Incoming) -> Result<Upload, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        let mut body = body;
        while let Some(Ok(_)) = body.frame().await {}
        return Err(ApiError::invalid(
            "Content-Type must be multipart/form-data with a boundary",
        ));
    };
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut parts = Parts::default();
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        match field.name() {
            Some("files" | "files[]") => {
                let path = field.file_name().map(str::to_owned);
                let is_skill_md = path.as_deref().is_some_and(is_root_skill_md);
                let mut hasher = blake3::Hasher::new();
                let mut keep = BytesMut::new();
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                    size += chunk.len() as u64;
                    parts.total += chunk.len() as u64;
                    hasher.update(&chunk);
                    if is_skill_md && parts.total <= MAX_TOTAL_BYTES {
                        keep.extend_from_slice(&chunk);
                    }
                }
                match path {
                    Some(p) if !p.is_empty() => {
                        if is_skill_md {
                            parts.skill_md = Some(keep.to_vec());
                        }
                        parts
                            .files
                            .push((p, size, hasher.finalize().to_hex().to_string()));
                    }
                    _ => parts.unnamed = true,
                }
            }
            Some("display_name") if parts.display_name.is_none() => {
                parts.display_name = Some(field.text().await.map_err(bad_multipart)?);
            }
            _ => while field.chunk().await.map_err(bad_multipart)?.is_some() {},
        }
    }
    check(parts)
}

/// `top/SKILL.md`, exactly.
fn is_root_skill_md(path: &str) -> bool {
    let mut segs = path.split('/');
    matches!(
        (segs.next(), segs.next(), segs.next()),
        (Some(top), Some("SKILL.md"), None) if !top.is_empty()
    )
}

/// The directory rules: sizes, paths, one top-level directory, `SKILL.md` at its root.
fn check(parts: Parts) -> Result<Upload, ApiError> {
    if parts.total > MAX_TOTAL_BYTES {
        return Err(ApiError::invalid(format!(
            "files: the skill's files total {} bytes; a skill upload may be at most {MAX_TOTAL_BYTES} bytes (30 MB)",
            parts.total
        )));
    }
    if parts.unnamed {
        return Err(ApiError::invalid(
            "files: every file part needs a filename: its path inside the skill directory, e.g. `my-skill/SKILL.md`",
        ));
    }
    if parts.files.is_empty() {
        return Err(ApiError::invalid("files: Field required"));
    }
    let mut seen = HashSet::new();
    let mut top: Option<&str> = None;
    for (i, (path, ..)) in parts.files.iter().enumerate() {
        check_path(i, path)?;
        if !seen.insert(path.as_str()) {
            return Err(ApiError::invalid(format!(
                "files.{i}: `{path}` is uploaded more than once"
            )));
        }
        let this_top = path.split('/').next().unwrap_or_default();
        match top {
            None => top = Some(this_top),
            Some(t) if t != this_top => {
                return Err(ApiError::invalid(format!(
                    "files: all files must be in the same top-level directory (found `{t}` and `{this_top}`)"
                )));
            }
            Some(_) => {}
        }
    }
    let top = top.unwrap_or_default().to_owned();
    let Some(skill_md) = parts.skill_md else {
        return Err(ApiError::invalid(format!(
            "files: SKILL.md is required at the root of the top-level directory (`{top}/SKILL.md`)"
        )));
    };
    let skill_md = String::from_utf8(skill_md)
        .map_err(|_| ApiError::invalid(format!("files: `{top}/SKILL.md` is not valid UTF-8")))?;
    if let Some(name) = &parts.display_name {
        check_display_name(name)?;
    }
    Ok(Upload {
        top,
        files: parts.files,
        skill_md,
        display_name: parts.display_name,
    })
}

/// A relative path of at least two components, none empty, `.` or `..`.
fn check_path(i: usize, path: &str) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::invalid(format!("files.{i}: invalid path `{path}`: {why}"));
    if path.starts_with('/') {
        return Err(bad(
            "paths must be relative to the skill directory's parent",
        ));
    }
    if path.contains('\\') || path.chars().any(char::is_control) {
        return Err(bad("backslashes and control characters are not allowed"));
    }
    let segs: Vec<&str> = path.split('/').collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(bad("empty, `.` and `..` path components are not allowed"));
    }
    if segs.len() < 2 {
        return Err(bad(
            "every file must be inside one top-level directory (e.g. `my-skill/SKILL.md`)",
        ));
    }
    Ok(())
}

/// ≤ 255 characters, one line, not empty.
fn check_display_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if name.trim().is_empty() {
        return Err(ApiError::invalid("display_name: must not be empty"));
    }
    if len > 255 {
        return Err(ApiError::invalid(format!(
            "display_name: must be at most 255 characters (got {len})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "display_name: must be a single line without control characters",
        ));
    }
    Ok(())
}
