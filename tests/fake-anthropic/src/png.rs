//! A real (decodable) PNG: a small bar chart of file sizes, so "plot.png"
//! outputs can be opened and checked by tests and demos.

const WIDTH: u32 = 64;
const HEIGHT: u32 = 48;
const MARGIN: u32 = 4;

/// Bars are scaled to the largest size; at most 16 bars are drawn.
pub(crate) fn bar_chart(sizes: &[u64]) -> Vec<u8> {
    let w = WIDTH as usize;
    let h = HEIGHT as usize;
    let mut rgb = vec![255u8; w * h * 3];
    let mut put = |x: u32, y: u32, color: [u8; 3]| {
        let i = (y as usize * w + x as usize) * 3;
        if let Some(px) = rgb.get_mut(i..i + 3) {
            px.copy_from_slice(&color);
        }
    };
    let base = HEIGHT - MARGIN;
    for x in MARGIN..WIDTH - MARGIN {
        put(x, base, [0, 0, 0]);
    }
    for y in MARGIN..=base {
        put(MARGIN, y, [0, 0, 0]);
    }
    let bars: Vec<u64> = sizes.iter().copied().take(16).collect();
    if let Some(max) = bars.iter().copied().max().filter(|m| *m > 0) {
        let n = u32::try_from(bars.len()).unwrap_or(16);
        let slot = (WIDTH - 2 * MARGIN - 2) / n;
        let bar_w = slot.saturating_sub(1).max(1);
        let room = u64::from(base - MARGIN - 1);
        for (i, size) in (0u32..).zip(&bars) {
            let bar_h = u32::try_from((size * room).div_ceil(max)).unwrap_or(0);
            let x0 = MARGIN + 2 + i * slot;
            let color = [40, 90u8.wrapping_add((i * 23) as u8), 200];
            for x in x0..x0 + bar_w {
                for y in base - bar_h..base {
                    put(x, y, color);
                }
            }
        }
    }
    encode(&rgb).unwrap_or_default()
}

fn encode(rgb: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(rgb).ok()?;
        writer.finish().ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chart_is_a_decodable_png() {
        let bytes = super::bar_chart(&[10, 300, 5]);
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (64, 48));
        assert!(!super::bar_chart(&[]).is_empty());
    }
}
