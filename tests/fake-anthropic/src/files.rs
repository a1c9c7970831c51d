//! Files API (docs/api.md §2): upload, list, metadata, download, delete.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::errors::{ApiError, Reply};
use crate::server::Ctx;
use crate::state::{IdKind, State, StoredFile, after};

/// Default upload cap: "500 MB" read as decimal megabytes, the stricter
/// reading (docs/api.md §2.8 does not say which).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 500_000_000;

const EXPIRES_MIN: i64 = 3600;
const EXPIRES_MAX: i64 = 7_776_000;

/// MIME type from a file name's extension; what the API detects when the
/// part has no Content-Type.
pub(crate) fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => "text/csv",
        Some("tsv") => "text/tab-separated-values",
        Some("txt" | "log") => "text/plain",
        Some("md" | "markdown") => "text/markdown",
        Some("html" | "htm") => "text/html",
        Some("py") => "text/x-python",
        Some("json") => "application/json",
        Some("jsonl" | "ndjson") => "application/x-ndjson",
        Some("xml") => "application/xml",
        Some("yaml" | "yml") => "application/yaml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("parquet") => "application/vnd.apache.parquet",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("xls") => "application/vnd.ms-excel",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn ext_for(mime: &str) -> &'static str {
    match mime {
        "text/csv" => ".csv",
        "text/plain" => ".txt",
        "text/markdown" => ".md",
        "application/json" => ".json",
        "application/pdf" => ".pdf",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        _ => ".bin",
    }
}

/// Filename rules of docs/api.md §2.8.
fn check_filename(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if len > 255 {
        return Err(ApiError::invalid(format!(
            "file: filename must be at most 255 characters (got {len})"
        )));
    }
    if let Some(c) = name.chars().find(|c| {
        matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\\' | '/') || u32::from(*c) < 32
    }) {
        return Err(ApiError::invalid(format!(
            "file: filename contains a forbidden character {c:?}"
        )));
    }
    Ok(())
}

struct Part {
    filename: Option<String>,
    content_type: Option<String>,
    bytes: Bytes,
    size: u64,
    blake3: String,
}

pub(crate) async fn upload(
    ctx: &Ctx,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Reply, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        drain(body).await;
        return Err(ApiError::invalid(
            "Content-Type must be multipart/form-data with a boundary",
        ));
    };
    let cap = ctx
        .shared
        .config
        .max_upload_bytes
        .unwrap_or(DEFAULT_MAX_UPLOAD_BYTES);
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut file: Option<Part> = None;
    let mut expires_in: Option<String> = None;
    let mut too_large = false;
    let bad_multipart =
        |e: multer::Error| ApiError::invalid(format!("invalid multipart body: {e}"));
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        match field.name() {
            Some("file") if file.is_none() => {
                let filename = field.file_name().map(str::to_owned);
                let part_type = field
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                // Hash and measure while streaming; stop keeping bytes once
                // over the cap but keep reading, so the client gets the 413.
                let mut hasher = blake3::Hasher::new();
                let mut buf = BytesMut::new();
                let mut size: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                    size += chunk.len() as u64;
                    if size > cap {
                        too_large = true;
                        buf = BytesMut::new();
                    } else {
                        hasher.update(&chunk);
                        buf.extend_from_slice(&chunk);
                    }
                }
                file = Some(Part {
                    filename,
                    content_type: part_type,
                    bytes: buf.freeze(),
                    size,
                    blake3: hasher.finalize().to_hex().to_string(),
                });
            }
            Some("expires_in_seconds") if expires_in.is_none() => {
                expires_in = Some(field.text().await.map_err(bad_multipart)?);
            }
            _ => while field.chunk().await.map_err(bad_multipart)?.is_some() {},
        }
    }
    if too_large {
        return Err(ApiError::new(
            413,
            format!("File exceeds the maximum allowed size of {cap} bytes."),
        ));
    }
    let Some(part) = file else {
        return Err(ApiError::invalid("file: Field required"));
    };
    if ctx.legacy_files && part.content_type.is_none() {
        return Err(ApiError::invalid(
            "file: the file part needs a Content-Type with files-api-2025-04-14",
        ));
    }
    let expires_at = match expires_in {
        None => None,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(secs) if (EXPIRES_MIN..=EXPIRES_MAX).contains(&secs) => {
                Some(after(std::time::Duration::from_secs(secs.unsigned_abs())))
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "expires_in_seconds: must be an integer between {EXPIRES_MIN} and {EXPIRES_MAX}"
                )));
            }
        },
    };
    // Only the last path component is kept (docs/api.md §2.3).
    let basename = part
        .filename
        .as_deref()
        .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
        .unwrap_or_default();
    let detected = part.content_type.clone().unwrap_or_else(|| {
        if basename.is_empty() {
            sniff(&part.bytes).to_owned()
        } else {
            mime_for(&basename).to_owned()
        }
    });
    let filename = if basename.is_empty() {
        format!("unnamed{}", ext_for(&detected))
    } else {
        basename
    };
    check_filename(&filename)?;
    if detected.chars().count() > 255 {
        return Err(ApiError::invalid(
            "file: mime type must be at most 255 characters",
        ));
    }
    debug_assert_eq!(part.size, part.bytes.len() as u64);

    let id = ctx.shared.new_id(IdKind::File);
    let legacy = ctx.legacy_files;
    let meta = ctx.shared.update(|s| {
        let key = (part.blake3.clone(), filename.clone());
        *s.stats.uploads.entry(key).or_default() += 1;
        s.stats.upload_count += 1;
        s.add_file(
            id,
            filename,
            detected,
            part.bytes,
            part.blake3,
            false,
            expires_at,
        )
        .metadata(legacy)
    });
    Ok(Reply::ok_json(&meta))
}

fn sniff(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if std::str::from_utf8(bytes).is_ok() {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

async fn drain(mut body: Incoming) {
    while let Some(Ok(_)) = body.frame().await {}
}

/// Query string as decoded (key, value) pairs, keeping repeats.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn cursor(seq: u64) -> String {
    format!("page_{}", hex_encode(format!("after:{seq}").as_bytes()))
}

pub(crate) fn parse_cursor(page: &str) -> Option<u64> {
    let hex = page.strip_prefix("page_")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?)
        .ok()?
        .strip_prefix("after:")?
        .parse()
        .ok()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn parse_limit(value: Option<&str>) -> Result<usize, ApiError> {
    match value {
        None => Ok(20),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                "limit: must be an integer between 1 and 1000",
            )),
        },
    }
}

pub(crate) fn list(ctx: &Ctx, query: &str) -> Result<Reply, ApiError> {
    let pairs = query_pairs(query);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "ids[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let limit = parse_limit(get("limit"))?;
    let legacy = ctx.legacy_files;
    ctx.shared.read(|s| {
        if legacy {
            if !ids.is_empty() || get("page").is_some() {
                return Err(ApiError::invalid(
                    "ids[] and page are not supported with files-api-2025-04-14; use before_id/after_id",
                ));
            }
            return list_legacy(s, limit, get("before_id"), get("after_id"));
        }
        if get("before_id").is_some() || get("after_id").is_some() {
            return Err(ApiError::invalid(
                "before_id and after_id are not supported; use page (or send anthropic-beta: files-api-2025-04-14)",
            ));
        }
        if !ids.is_empty() {
            if get("page").is_some() || get("limit").is_some() {
                return Err(ApiError::invalid("ids[] cannot be combined with page or limit"));
            }
            let mut unique: Vec<&str> = Vec::new();
            for id in ids {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            if unique.len() > 100 {
                return Err(ApiError::invalid("ids[]: at most 100 ids per request"));
            }
            let mut found: Vec<&StoredFile> = unique.iter().filter_map(|id| s.file(id)).collect();
            found.sort_by_key(|f| std::cmp::Reverse(f.seq));
            let data: Vec<Value> = found.iter().map(|f| f.metadata(false)).collect();
            return Ok(Reply::ok_json(&json!({"data": data, "next_page": null})));
        }
        let start_below = match get("page") {
            None => u64::MAX,
            Some(page) => parse_cursor(page)
                .ok_or_else(|| ApiError::invalid("page: invalid page cursor"))?,
        };
        let mut newest_first = s.files.range(..start_below).rev().map(|(_, f)| f);
        let page: Vec<&StoredFile> = newest_first.by_ref().take(limit).collect();
        let more = newest_first.next().is_some();
        let next_page = match (more, page.last()) {
            (true, Some(last)) => Value::from(cursor(last.seq)),
            _ => Value::Null,
        };
        let data: Vec<Value> = page.iter().map(|f| f.metadata(false)).collect();
        Ok(Reply::ok_json(&json!({"data": data, "next_page": next_page})))
    })
}

/// The beta list shape: `before_id` / `after_id` cursors, `has_more`.
fn list_legacy(
    s: &State,
    limit: usize,
    before_id: Option<&str>,
    after_id: Option<&str>,
) -> Result<Reply, ApiError> {
    let all: Vec<&StoredFile> = s.files.values().rev().collect();
    let position = |id: &str| {
        all.iter()
            .position(|f| f.id == id)
            .ok_or_else(|| ApiError::invalid(format!("file `{id}` not found for pagination")))
    };
    let (page, has_more) = match (before_id, after_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "before_id and after_id are mutually exclusive",
            ));
        }
        (Some(id), None) => {
            let end = position(id)?;
            let start = end.saturating_sub(limit);
            (&all[start..end], start > 0)
        }
        (None, after) => {
            let start = match after {
                Some(id) => position(id)? + 1,
                None => 0,
            };
            let end = (start + limit).min(all.len());
            (&all[start..end], end < all.len())
        }
    };
    let data: Vec<Value> = page.iter().map(|f| f.metadata(true)).collect();
    Ok(Reply::ok_json(&json!({
        "data": data,
        "has_more": has_more,
        "first_id": page.first().map(|f| f.id.clone()),
        "last_id": page.last().map(|f| f.id.clone()),
    })))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("File `{id}` not found."))
}

pub(crate) fn metadata(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    ctx.shared.read(|s| {
        let f = s.file(id).ok_or_else(|| not_found(id))?;
        Ok(Reply::ok_json(&f.metadata(ctx.legacy_files)))
    })
}

pub(crate) fn download(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    ctx.shared.read(|s| {
        let f = s.file(id).ok_or_else(|| not_found(id))?;
        if f.is_expired(Timestamp::now()) {
            return Err(
                ApiError::not_found(format!("File `{id}` has expired.")).with_code("file_expired")
            );
        }
        if !f.downloadable {
            return Err(
                ApiError::invalid(format!("File `{id}` is not downloadable."))
                    .with_code("file_not_downloadable"),
            );
        }
        // The spec declares octet-stream; no Content-Disposition (UNCONFIRMED
        // either way), so clients must name files from the metadata. Media get a
        // fresh C2PA manifest on every download (docs/api.md §0.5).
        let body = Bytes::from(crate::c2pa::sign(&f.bytes));
        let mut reply = Reply::bytes(StatusCode::OK, body);
        reply.set_header("content-type", "application/octet-stream");
        Ok(reply)
    })
}

pub(crate) fn delete(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let removed = ctx.shared.update(|s| s.remove_file(id));
    if !removed {
        return Err(not_found(id));
    }
    Ok(Reply::ok_json(&json!({"id": id, "type": "file_deleted"})))
}
