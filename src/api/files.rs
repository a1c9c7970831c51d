//! The Files API calls (docs/api.md §2): upload (streamed and verified on the way out),
//! listing by ids or by page, metadata, download and delete. One call here is one HTTP
//! request, sent with the `anthropic-version` its caller passes (the run's, or
//! `--api-version`), never a fixed one.

use std::io::Write;
use std::sync::Arc;

use camino::Utf8Path;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use super::client::ApiClient;
use super::error::{ApiError, LocalFileError, transport};
use super::gates::TokenEstimate;

/// One file to upload, and what its bytes must be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UploadSpec<'a> {
    pub path: &'a Utf8Path,
    pub name: &'a str,
    pub blake3: &'a str,
    pub size: u64,
    pub expires_in_seconds: Option<u64>,
}

/// Told the size of each chunk as it goes out (upload progress).
pub(crate) type OnBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// File metadata (docs/api.md §2.2); only the fields the runner uses.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct FileMeta {
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    pub size_bytes: u64,
    #[serde(default)]
    pub expires_at: Option<jiff::Timestamp>,
    #[serde(default)]
    pub created_at: Option<jiff::Timestamp>,
}

#[derive(Deserialize)]
struct FileList {
    data: Vec<FileMeta>,
}

/// One page of `GET /v1/files` (docs/api.md §2.5): newest first; `next_page` is the
/// cursor of the next page, `None` on the last one.
#[derive(Debug, Deserialize)]
pub(crate) struct FilePage {
    pub data: Vec<FileMeta>,
    #[serde(default)]
    pub next_page: Option<String>,
}

/// Files per listed page: the API's maximum (docs/api.md §2.5).
const PAGE_LIMIT: u32 = 1000;

impl ApiClient {
    /// `POST /v1/files`, streaming the file from disk. The bytes are hashed on the way out;
    /// if they no longer match `expected_blake3` (the file changed since it was planned), the
    /// body stream fails before it ends, so the server never stores a file under a wrong hash.
    pub(crate) async fn upload(
        &self,
        spec: &UploadSpec<'_>,
        on_bytes: Option<OnBytes>,
        version: &str,
        attempt: u32,
    ) -> Result<FileMeta, ApiError> {
        let UploadSpec {
            path,
            name,
            blake3: expected_blake3,
            size: expected_size,
            expires_in_seconds,
        } = *spec;
        let endpoint = "POST /v1/files";
        // Look before opening: a FIFO put in the file's place would block the open forever,
        // and a folder is no upload. Neither is worth a retry.
        match tokio::fs::metadata(path).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(ApiError::local(
                    endpoint,
                    format!("{path} is no longer a regular file"),
                ));
            }
            Err(e) => {
                return Err(ApiError::local(
                    endpoint,
                    format!("cannot open {path}: {e}"),
                ));
            }
        }
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| ApiError::local(endpoint, format!("cannot open {path}: {e}")))?;
        let stream = verified_stream(
            file,
            path.to_string(),
            expected_blake3.to_owned(),
            expected_size,
            on_bytes,
        );
        let body = reqwest::Body::wrap_stream(stream);
        let mut part = reqwest::multipart::Part::stream_with_length(body, expected_size)
            .file_name(name.to_owned());
        if let Some(mime) = mime_for(name) {
            part = part
                .mime_str(mime)
                .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        }
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(ttl) = expires_in_seconds {
            form = form.text("expires_in_seconds", ttl.to_string());
        }
        let req = self
            .http
            .post(format!("{}/v1/files", self.base))
            .headers(self.headers(version, attempt))
            .timeout(self.timeouts.files)
            .multipart(form);
        self.send_json(&self.files_gate, endpoint, req).await
    }

    /// `GET /v1/files?ids[]=…` (at most 100 ids); ids the API no longer knows are absent.
    pub(crate) async fn files_by_ids(
        &self,
        ids: &[String],
        version: &str,
        attempt: u32,
    ) -> Result<Vec<FileMeta>, ApiError> {
        let endpoint = "GET /v1/files";
        let mut url = reqwest::Url::parse(&format!("{}/v1/files", self.base))
            .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            for id in ids {
                q.append_pair("ids[]", id);
            }
        }
        let req = self
            .http
            .get(url)
            .headers(self.headers(version, attempt))
            .timeout(self.timeouts.files);
        let list: FileList = self.send_json(&self.files_gate, endpoint, req).await?;
        Ok(list.data)
    }

    /// `GET /v1/files/{id}`.
    pub(crate) async fn file_meta(
        &self,
        id: &str,
        version: &str,
        attempt: u32,
    ) -> Result<FileMeta, ApiError> {
        let endpoint = "GET /v1/files/{id}";
        let req = self
            .http
            .get(format!("{}/v1/files/{}", self.base, path_segment(id)))
            .headers(self.headers(version, attempt))
            .timeout(self.timeouts.files);
        self.send_json(&self.files_gate, endpoint, req).await
    }

    /// `GET /v1/files/{id}/content`, streamed into `sink`. Returns the byte count and the
    /// BLAKE3 of what was written.
    pub(crate) async fn download(
        &self,
        id: &str,
        // Any writer: `engine/downloads.rs` passes one that cuts off a body longer than
        // announced.
        sink: &mut impl Write,
        version: &str,
        attempt: u32,
    ) -> Result<(u64, String), ApiError> {
        let endpoint = "GET /v1/files/{id}/content";
        let req = self
            .http
            .get(format!(
                "{}/v1/files/{}/content",
                self.base,
                path_segment(id)
            ))
            .headers(self.headers(version, attempt))
            .header("accept", "application/binary")
            .timeout(self.timeouts.files);
        let (mut resp, request_id) = self
            .send(&self.files_gate, endpoint, req, TokenEstimate::default())
            .await?;
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(endpoint, &e, request_id.clone()))?
        {
            hasher.update(&chunk);
            total += chunk.len() as u64;
            sink.write_all(&chunk).map_err(|e| {
                ApiError::local(endpoint, format!("cannot write the download: {e}"))
            })?;
        }
        Ok((total, hasher.finalize().to_hex().to_string()))
    }
}

impl ApiClient {
    /// `GET /v1/files?limit=…[&page=…]`: one page of the workspace's files.
    pub(crate) async fn files_page(
        &self,
        page: Option<&str>,
        version: &str,
        attempt: u32,
    ) -> Result<FilePage, ApiError> {
        let endpoint = "GET /v1/files";
        let mut url = reqwest::Url::parse(&format!("{}/v1/files", self.base))
            .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &PAGE_LIMIT.to_string());
            if let Some(page) = page {
                q.append_pair("page", page);
            }
        }
        let req = self
            .http
            .get(url)
            .headers(self.headers(version, attempt))
            .timeout(self.timeouts.files);
        self.send_json(&self.files_gate, endpoint, req).await
    }

    /// `DELETE /v1/files/{id}` (docs/api.md §2.7). Irreversible.
    pub(crate) async fn delete_file(
        &self,
        id: &str,
        version: &str,
        attempt: u32,
    ) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        struct Deleted {
            #[allow(
                dead_code,
                reason = "checked by deserialising: the reply names the file"
            )]
            id: String,
        }
        let endpoint = "DELETE /v1/files/{id}";
        let req = self
            .http
            .delete(format!("{}/v1/files/{}", self.base, path_segment(id)))
            .headers(self.headers(version, attempt))
            .timeout(self.timeouts.files);
        let _: Deleted = self.send_json(&self.files_gate, endpoint, req).await?;
        Ok(())
    }
}

/// File and batch ids are opaque; keep them from changing the URL's path.
pub(super) fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn mime_for(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "md" => "text/plain",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "parquet" => "application/vnd.apache.parquet",
        _ => return None,
    })
}

/// Reads the file in chunks, hashing as it goes; fails the stream at the end if the bytes
/// are not the ones that were planned.
fn verified_stream(
    file: tokio::fs::File,
    path: String,
    expected: String,
    expected_size: u64,
    on_bytes: Option<OnBytes>,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let state = (chunks, blake3::Hasher::new(), 0u64, false);
    futures_util::stream::unfold(state, move |(mut chunks, mut hasher, mut seen, done)| {
        let (path, expected, on_bytes) = (path.clone(), expected.clone(), on_bytes.clone());
        async move {
            if done {
                return None;
            }
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    seen += chunk.len() as u64;
                    if let Some(report) = &on_bytes {
                        report(chunk.len() as u64);
                    }
                    if seen > expected_size {
                        let e = LocalFileError::io(format!("{path} grew since it was planned"));
                        return Some((Err(e), (chunks, hasher, seen, true)));
                    }
                    Some((Ok(chunk), (chunks, hasher, seen, false)))
                }
                Some(Err(e)) => {
                    let e = LocalFileError::io(format!("cannot read {path}: {e}"));
                    Some((Err(e), (chunks, hasher, seen, true)))
                }
                None => {
                    let actual = hasher.finalize().to_hex().to_string();
                    if seen == expected_size && actual == expected {
                        None
                    } else {
                        let e = LocalFileError::io(format!(
                            "{path} changed since it was planned ({seen} bytes, blake3 {actual}; expected {expected_size} bytes, blake3 {expected})"
                        ));
                        Some((Err(e), (chunks, hasher, seen, true)))
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segment_escapes_everything_but_id_characters() {
        assert_eq!(path_segment("file_01Ab-x"), "file_01Ab-x");
        assert_eq!(path_segment("../x"), "%2E%2E%2Fx");
    }
}
