//! How many bytes a generated file's download must amount to. Its metadata's
//! `size_bytes`, exactly, except for media (docs/api.md §0.5): the API embeds a freshly
//! signed C2PA manifest on download, and whether `size_bytes` counts it is not known. An
//! image, audio or video file may therefore come back longer (by at most
//! [`SIGNING_ALLOWANCE`], and never past `--max-file-size`) or shorter than announced;
//! HTTP's own framing (`content-length`, or the chunked end) still tells a cut-off body,
//! which fails the attempt as a transport error.

use crate::api::FileMeta;

/// How much longer than its metadata's `size_bytes` a media download may be: a C2PA
/// manifest with its certificate chain is tens of KB.
pub(super) const SIGNING_ALLOWANCE: u64 = 1024 * 1024;

/// Whether the API signs this file on download (docs/api.md §0.5), by its metadata's MIME
/// type, else its name.
fn signed_on_download(meta: &FileMeta) -> bool {
    if let Some(mime) = meta.mime_type.as_deref() {
        return ["image/", "audio/", "video/"]
            .iter()
            .any(|p| mime.starts_with(p));
    }
    let ext = meta
        .filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "webp"
            | "svg"
            | "avif"
            | "heic"
            | "tif"
            | "tiff"
            | "mp4"
            | "mov"
            | "webm"
            | "mp3"
            | "wav"
            | "m4a"
            | "ogg"
            | "flac"
    )
}

/// What a download must amount to.
#[derive(Clone, Copy, Debug)]
pub(super) struct Expected {
    /// The metadata's `size_bytes`.
    pub announced: u64,
    /// The most bytes written before the body is cut off.
    pub cap: u64,
    /// The body must be exactly `announced` bytes (all but signed media).
    pub exact: bool,
}

impl Expected {
    pub(super) fn of(meta: &FileMeta, max_file_bytes: u64) -> Expected {
        if signed_on_download(meta) {
            Expected {
                announced: meta.size_bytes,
                cap: meta
                    .size_bytes
                    .saturating_add(SIGNING_ALLOWANCE)
                    .min(max_file_bytes.max(meta.size_bytes)),
                exact: false,
            }
        } else {
            Expected {
                announced: meta.size_bytes,
                cap: meta.size_bytes,
                exact: true,
            }
        }
    }
}

/// File metadata as the API would give it, for tests.
#[cfg(test)]
pub(super) fn meta(name: &str, size: u64) -> FileMeta {
    FileMeta {
        id: "file_1".into(),
        filename: name.into(),
        mime_type: None,
        size_bytes: size,
        expires_at: None,
        created_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_may_differ_from_their_announced_size_and_never_past_the_file_limit() {
        let limit = 3 * 1024 * 1024;
        let csv = Expected::of(&meta("table.csv", 100), limit);
        assert!(csv.exact);
        assert_eq!(csv.cap, 100);
        let mut png = meta("plot.PNG", 100);
        let by_name = Expected::of(&png, limit);
        assert!(!by_name.exact);
        assert_eq!(by_name.cap, 100 + SIGNING_ALLOWANCE);
        // The MIME type, when given, decides.
        png.mime_type = Some("text/plain".into());
        assert!(Expected::of(&png, limit).exact);
        let mut wav = meta("noise", 100);
        wav.mime_type = Some("audio/wav".into());
        assert!(!Expected::of(&wav, limit).exact);
        // Near the per-file limit the allowance shrinks to it.
        let big = Expected::of(&meta("big.jpg", 2_500_000), limit);
        assert_eq!(big.cap, limit);
    }
}
