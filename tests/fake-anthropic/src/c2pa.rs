//! What a download does to media (docs/api.md §0.5): the real API embeds a freshly signed
//! C2PA manifest, so the same generated image comes back with different bytes on every
//! download. The fake embeds a C2PA-shaped manifest store (a JUMBF `jumb` box labelled
//! `c2pa`) holding fresh random bytes, in the places the C2PA specification puts it:
//! a `caBX` chunk before `IEND` in a PNG, an APP11 segment right after SOI in a JPEG.
//! Other files, and bytes that are not a well-formed PNG or JPEG, come back unchanged.
//!
//! The store always has the same length, so the metadata's `size_bytes` can announce the
//! downloaded size ([`signed_len`]) before any download.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of random "signature" in each manifest.
const NONCE_LEN: usize = 64;
/// The C2PA manifest-store UUID, as in a `jumd` box's type field.
const C2PA_UUID: [u8; 16] = [
    b'c', b'2', b'p', b'a', 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// `jumb` header (8) + `jumd` box (8 + 16 + toggles 1 + "c2pa\0" 5) + content box (8 + nonce).
const STORE_LEN: usize = 8 + 30 + 8 + NONCE_LEN;
const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

enum Kind {
    Png,
    Jpeg,
}

fn kind(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&PNG_SIGNATURE) && bytes.len() >= 20 && bytes.ends_with(&IEND) {
        Some(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else {
        None
    }
}

/// The size of `bytes` once downloaded.
pub fn signed_len(bytes: &[u8]) -> usize {
    match kind(bytes) {
        // A `caBX` chunk: length, type, the store, CRC.
        Some(Kind::Png) => bytes.len() + 12 + STORE_LEN,
        // An APP11 segment: marker, length, JPEG XT header (CI, En, Z), the store.
        Some(Kind::Jpeg) => bytes.len() + 4 + 8 + STORE_LEN,
        None => bytes.len(),
    }
}

/// `bytes` as one download returns them: with a fresh manifest when they are a PNG or JPEG.
pub fn sign(bytes: &[u8]) -> Vec<u8> {
    let Some(kind) = kind(bytes) else {
        return bytes.to_vec();
    };
    let store = store(&fresh_nonce());
    let mut out = Vec::with_capacity(signed_len(bytes));
    match kind {
        Kind::Png => {
            let (body, iend) = bytes.split_at(bytes.len() - IEND.len());
            out.extend_from_slice(body);
            let mut crc = crc32fast::Hasher::new();
            crc.update(b"caBX");
            crc.update(&store);
            out.extend_from_slice(&(STORE_LEN as u32).to_be_bytes());
            out.extend_from_slice(b"caBX");
            out.extend_from_slice(&store);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
            out.extend_from_slice(iend);
        }
        Kind::Jpeg => {
            out.extend_from_slice(&bytes[..2]);
            out.extend_from_slice(&[0xFF, 0xEB]);
            out.extend_from_slice(&((2 + 8 + STORE_LEN) as u16).to_be_bytes());
            // CI "JP", box instance 0x0211, packet sequence 1.
            out.extend_from_slice(&[b'J', b'P', 0x02, 0x11, 0, 0, 0, 1]);
            out.extend_from_slice(&store);
            out.extend_from_slice(&bytes[2..]);
        }
    }
    out
}

/// `bytes` without the manifest [`sign`] embedded: what the file was before the download,
/// for tests that compare two downloads of one file. Bytes [`sign`] did not make come
/// back unchanged.
pub fn unsign(bytes: &[u8]) -> Vec<u8> {
    let png_at = bytes.len().checked_sub(IEND.len() + 12 + STORE_LEN);
    if let Some(at) = png_at.filter(|_| bytes.starts_with(&PNG_SIGNATURE))
        && bytes[at + 4..].starts_with(b"caBX")
    {
        return [&bytes[..at], &bytes[bytes.len() - IEND.len()..]].concat();
    }
    let segment = 4 + 8 + STORE_LEN;
    if bytes.len() > 2 + segment && bytes[2..].starts_with(&[0xFF, 0xEB]) {
        return [&bytes[..2], &bytes[2 + segment..]].concat();
    }
    bytes.to_vec()
}

/// A JUMBF superbox: a `jumd` description box (type C2PA, label `c2pa`), then one box
/// holding `nonce` where a real store holds its signed claims.
fn store(nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut b = Vec::with_capacity(STORE_LEN);
    b.extend_from_slice(&(STORE_LEN as u32).to_be_bytes());
    b.extend_from_slice(b"jumb");
    b.extend_from_slice(&30u32.to_be_bytes());
    b.extend_from_slice(b"jumd");
    b.extend_from_slice(&C2PA_UUID);
    b.push(0x03);
    b.extend_from_slice(b"c2pa\0");
    b.extend_from_slice(&((8 + NONCE_LEN) as u32).to_be_bytes());
    b.extend_from_slice(b"cbor");
    b.extend_from_slice(nonce);
    b
}

/// Different on every call, across processes too: like a fresh signature and timestamp.
fn fresh_nonce() -> [u8; NONCE_LEN] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = blake3::Hasher::new();
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(&now.to_le_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    h.finalize_xof().fill(&mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_signed_afresh_and_stays_decodable() {
        let png = crate::png::bar_chart(&[1, 2, 3]);
        let (a, b) = (sign(&png), sign(&png));
        assert_ne!(a, b);
        assert_eq!(a.len(), signed_len(&png));
        assert!(a.windows(4).any(|w| w == b"caBX"));
        assert_eq!((unsign(&a), unsign(&b)), (png.clone(), png.clone()));
        let decoder = png::Decoder::new(std::io::Cursor::new(a));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
    }

    #[test]
    fn a_jpeg_gets_an_app11_segment_after_soi_and_other_files_are_unchanged() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        let signed = sign(&jpeg);
        assert_eq!(signed.len(), signed_len(&jpeg));
        assert_eq!(&signed[..4], &[0xFF, 0xD8, 0xFF, 0xEB]);
        assert_eq!(&signed[signed.len() - 2..], &[0xFF, 0xD9]);
        assert_eq!(unsign(&signed), jpeg);
        assert_eq!(sign(b"a,b\n1,2\n"), b"a,b\n1,2\n");
        assert_eq!(unsign(b"a,b\n1,2\n"), b"a,b\n1,2\n");
        assert_eq!(signed_len(b"a,b\n"), 4);
    }
}
