use std::io::Cursor;

use proptest::prelude::*;

use super::of_reader;

fn content(bytes: &[u8]) -> Option<String> {
    of_reader(Cursor::new(bytes), bytes.len() as u64)
}

fn plain(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A PNG chunk; the CRC is not checked by the walk, so zeros do.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&[0; 4]);
    c
}

fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    chunks.iter().for_each(|c| p.extend_from_slice(c));
    p
}

#[test]
fn a_png_hashes_the_same_with_and_without_its_cabx_chunks() {
    let ihdr = chunk(b"IHDR", &[0; 13]);
    let idat = chunk(b"IDAT", b"pixels");
    let iend = chunk(b"IEND", b"");
    let bare = png(&[ihdr.clone(), idat.clone(), iend.clone()]);
    assert_eq!(content(&bare), None, "no manifest: the plain hash stands");
    let signed = png(&[
        ihdr.clone(),
        chunk(b"caBX", b"manifest one"),
        idat.clone(),
        chunk(b"caBX", b"two"),
        iend.clone(),
    ]);
    assert_eq!(content(&signed), Some(plain(&bare)));
    let other = png(&[ihdr, chunk(b"caBX", b"x"), chunk(b"IDAT", b"pixelz"), iend]);
    assert_ne!(content(&other), Some(plain(&bare)), "other pixels differ");
}

#[test]
fn the_fakes_signed_downloads_of_one_plot_share_a_content_hash() {
    let plot = fake_anthropic::c2pa::sign(b"not an image");
    assert_eq!(content(&plot), None);
    let bare = {
        let [ihdr, idat, iend] = [
            chunk(b"IHDR", &[1; 13]),
            chunk(b"IDAT", &[2; 40]),
            chunk(b"IEND", b""),
        ];
        let mut p = png(&[ihdr, idat]);
        // The real IEND CRC, which the fake looks for.
        p.extend_from_slice(&iend[..8]);
        p.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        p
    };
    let (a, b) = (
        fake_anthropic::c2pa::sign(&bare),
        fake_anthropic::c2pa::sign(&bare),
    );
    assert_ne!(a, b);
    assert_eq!(content(&a), Some(plain(&bare)));
    assert_eq!(content(&a), content(&b));
    assert_eq!(fake_anthropic::c2pa::unsign(&a), bare);
    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9,
    ];
    let (a, b) = (
        fake_anthropic::c2pa::sign(&jpeg),
        fake_anthropic::c2pa::sign(&jpeg),
    );
    assert_ne!(a, b);
    assert_eq!(content(&a), Some(plain(&jpeg)));
    assert_eq!(content(&b), Some(plain(&jpeg)));
}

#[test]
fn a_truncated_or_overlong_png_falls_back_to_the_plain_hash() {
    let signed = png(&[
        chunk(b"IHDR", &[0; 13]),
        chunk(b"caBX", b"manifest"),
        chunk(b"IEND", b""),
    ]);
    for cut in 0..signed.len() {
        assert_eq!(content(&signed[..cut]), None, "cut at {cut}");
    }
    let mut overlong = signed.clone();
    overlong[8..12].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    assert_eq!(content(&overlong), None);
    // Bytes after IEND are kept, not walked.
    let mut trailing = signed;
    trailing.extend_from_slice(b"trailer");
    assert!(content(&trailing).is_some());
}

/// An APP11 segment in JPEG XT framing around a JUMBF box.
fn app11(en: [u8; 2], seq: u32, label: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut payload = vec![b'J', b'P', en[0], en[1]];
    payload.extend_from_slice(&seq.to_be_bytes());
    payload.extend_from_slice(&[0, 0, 0, 99]);
    payload.extend_from_slice(b"jumb");
    payload.extend_from_slice(&[0, 0, 0, 30]);
    payload.extend_from_slice(b"jumd");
    payload.extend_from_slice(label);
    payload.extend_from_slice(data);
    let mut seg = vec![0xFF, 0xEB];
    seg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(&payload);
    seg
}

fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xE0, 0, 6, b'J', b'F', b'I', b'F']);
    segments.iter().for_each(|s| j.extend_from_slice(s));
    // SOS, then entropy-coded data that happens to hold an APP11-like byte run.
    j.extend_from_slice(&[0xFF, 0xDA, 0, 3, 1, 0xFF, 0x00, 0xFF, 0xEB, 0xFF, 0xD9]);
    j
}

#[test]
fn a_jpeg_hashes_the_same_with_and_without_its_c2pa_app11_segments() {
    let dqt = vec![0xFF, 0xDB, 0, 4, 7, 7];
    let bare = jpeg(std::slice::from_ref(&dqt));
    assert_eq!(content(&bare), None);
    let first = app11([2, 0x11], 1, b"c2pa", b"claims");
    let more = app11([2, 0x11], 2, b"more", b"signature");
    let signed = jpeg(&[first.clone(), dqt.clone(), more]);
    assert_eq!(content(&signed), Some(plain(&bare)));
    // Another JUMBF box (not C2PA) stays part of the content.
    let other = app11([3, 0], 1, b"xmp ", b"data");
    let with_other = jpeg(&[first, other.clone(), dqt.clone()]);
    assert_eq!(content(&with_other), Some(plain(&jpeg(&[other, dqt]))));
    for cut in 0..40 {
        assert_eq!(content(&signed[..cut]), None, "cut at {cut}");
    }
}

#[test]
fn webp_and_gif_manifests_are_stripped_too() {
    let riff = |chunks: &[(&[u8; 4], &[u8])]| {
        let mut body = b"WEBP".to_vec();
        for (kind, data) in chunks {
            body.extend_from_slice(*kind);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&(body.len() as u32).to_le_bytes());
        f.extend_from_slice(&body);
        f
    };
    let bare = riff(&[(b"VP8X", &[0; 10]), (b"VP8L", b"pix")]);
    let signed = riff(&[(b"VP8X", &[0; 10]), (b"C2PA", b"store"), (b"VP8L", b"pix")]);
    assert_eq!(content(&bare), None);
    assert_eq!(content(&signed), Some(plain(&bare)));
    assert_eq!(content(&signed[..signed.len() - 1]), None);

    let gif = |c2pa: bool| {
        // Header, a screen with a 2-colour global table, (the manifest), one image, trailer.
        let mut g = b"GIF89a".to_vec();
        g.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        if c2pa {
            g.extend_from_slice(&[0x21, 0xFF, 11]);
            g.extend_from_slice(b"C2PA_GIF\x01\x00\x00");
            g.extend_from_slice(&[3, 7, 7, 7, 0]);
        }
        g.extend_from_slice(&[0x21, 0xF9, 4, 0, 0, 0, 0, 0]);
        g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
        g
    };
    assert_eq!(content(&gif(false)), None);
    assert_eq!(content(&gif(true)), Some(plain(&gif(false))));
    assert_eq!(content(&gif(true)[..30]), None);
}

#[test]
fn a_saved_file_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = camino::Utf8PathBuf::from_path_buf(dir.path().join("plot.png")).unwrap();
    let bare = png(&[chunk(b"IHDR", &[0; 13]), chunk(b"IEND", b"")]);
    let signed = png(&[
        chunk(b"IHDR", &[0; 13]),
        chunk(b"caBX", b"m"),
        chunk(b"IEND", b""),
    ]);
    fs_err::write(&path, &signed).unwrap();
    assert_eq!(super::content_blake3(&path), Some(plain(&bare)));
    assert_eq!(super::content_blake3(&path.with_extension("gone")), None);
}

proptest! {
    /// Whatever the bytes, the walk ends without a panic, and a hash it returns is never
    /// the plain one (it only returns one when it stripped something).
    #[test]
    fn arbitrary_bytes_never_panic(
        head in prop::sample::select(vec![
            b"\x89PNG\r\n\x1a\n".to_vec(), vec![0xFF, 0xD8], b"GIF89a".to_vec(),
            b"RIFF\x20\0\0\0WEBP".to_vec(), Vec::new(),
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = head;
        bytes.extend_from_slice(&tail);
        if let Some(h) = content(&bytes) {
            prop_assert_ne!(h, plain(&bytes));
        }
    }

    /// Pieces of real structure shuffled together reach deeper into the walks.
    #[test]
    fn structured_garbage_never_panics(
        pieces in prop::collection::vec(prop::sample::select(vec![
            chunk(b"caBX", b"m"), chunk(b"IEND", b""), chunk(b"IDAT", b"x"),
            app11([2, 0x11], 1, b"c2pa", b"c"), app11([2, 0x11], 2, b"xxxx", b""),
            vec![0xFF, 0xDA, 0, 2], vec![0xFF, 0xFF], vec![0x21, 0xFF, 11],
            b"C2PA_GIF\x01\0\0".to_vec(), vec![0x2C], vec![0x3B], vec![0],
            b"C2PA\x02\0\0\0ab".to_vec(),
        ]), 0..12),
        start in 0usize..4,
    ) {
        let heads: [&[u8]; 4] = [
            &b"\x89PNG\r\n\x1a\n"[..],
            &[0xFF, 0xD8],
            &b"GIF87a\x01\0\x01\0\0\0\0"[..],
            &b"RIFF\x40\0\0\0WEBP"[..],
        ];
        let mut bytes = heads[start].to_vec();
        pieces.iter().for_each(|p| bytes.extend_from_slice(p));
        let _ = content(&bytes);
    }
}
