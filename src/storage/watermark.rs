//! The watermark of a titre d'identité (FEATURES §4, DS `TitreIdentiteWatermarkJob`): a
//! text tiled diagonally and semi-transparent across the whole image, so that the copy
//! handed to the administration cannot be reused elsewhere. Pure: bytes in, bytes out.
//!
//! The image keeps its format (JPEG stays JPEG, PNG stays PNG) and its dimensions (after
//! the EXIF orientation is applied: the stored copy has no EXIF left, so it is drawn the
//! way it was meant to be seen). Decoding is limited (`MAX_PIXELS`, allocation cap), so a
//! decompression bomb is refused before any pixel is allocated. The font is embedded
//! (DejaVu Sans, `assets/fonts`); nothing is read from the system at run time.

use std::io::Cursor;
use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The largest image accepted, in pixels (a 50 Mpx photo is already far more than a
/// scanned document needs).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Memory the decoder may allocate (the RGBA pixels of `MAX_PIXELS` and some room).
const MAX_ALLOC: u64 = MAX_PIXELS * 4 + 64 * 1024 * 1024;
const JPEG_QUALITY: u8 = 90;
/// Angle of the text lines (rising to the right).
const ANGLE_DEGREES: f32 = 30.0;
/// Opacity of the text.
const OPACITY: f32 = 0.35;

pub const MSG_NOT_AN_IMAGE: &str = "Le titre d'identité doit être une image au format JPEG ou PNG.";
pub const MSG_TOO_MANY_PIXELS: &str =
    "L'image est trop grande : elle ne doit pas dépasser 50 millions de pixels.";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES).ok());

/// The two formats of a titre d'identité.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Png => ImageFormat::Png,
            Format::Jpeg => ImageFormat::Jpeg,
        }
    }
}

/// Why an image was not watermarked. `Display` is the French message for the usager
/// (`Internal` is never shown as such).
#[derive(Debug, thiserror::Error)]
pub enum WatermarkError {
    #[error("{MSG_NOT_AN_IMAGE}")]
    NotAnImage,
    #[error("{MSG_TOO_MANY_PIXELS}")]
    TooManyPixels,
    #[error("watermark failed: {0}")]
    Internal(String),
}

/// The format of `bytes` from its first bytes, if PNG or JPEG.
pub fn format_of(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else {
        None
    }
}

/// `bytes` (a PNG or JPEG image) with `text` drawn over it; the same format.
pub fn watermark(bytes: &[u8], text: &str) -> Result<(Vec<u8>, Format), WatermarkError> {
    let format = format_of(bytes).ok_or(WatermarkError::NotAnImage)?;
    let image = decode(bytes, format)?;
    let font = FONT
        .as_ref()
        .ok_or_else(|| WatermarkError::Internal("embedded font unreadable".to_owned()))?;
    let mask = TextMask::render(font, text, image.width(), image.height());
    let image = match image {
        DynamicImage::ImageRgba8(mut rgba) if format == Format::Png => {
            for (x, y, pixel) in rgba.enumerate_pixels_mut() {
                blend(&mut pixel.0[..3], mask.coverage(x, y));
            }
            DynamicImage::ImageRgba8(rgba)
        }
        other => {
            let mut rgb = other.into_rgb8();
            for (x, y, pixel) in rgb.enumerate_pixels_mut() {
                blend(&mut pixel.0, mask.coverage(x, y));
            }
            DynamicImage::ImageRgb8(rgb)
        }
    };
    Ok((encode(&image, format)?, format))
}

fn decode(bytes: &[u8], format: Format) -> Result<DynamicImage, WatermarkError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| WatermarkError::NotAnImage)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(WatermarkError::TooManyPixels);
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => WatermarkError::TooManyPixels,
        _ => WatermarkError::NotAnImage,
    })?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    // 8 bits per channel, with alpha only where the PNG had it.
    Ok(match (format, image.color().has_alpha()) {
        (Format::Png, true) => DynamicImage::ImageRgba8(image.to_rgba8()),
        _ => DynamicImage::ImageRgb8(image.to_rgb8()),
    })
}

fn encode(image: &DynamicImage, format: Format) -> Result<Vec<u8>, WatermarkError> {
    let mut out = Vec::new();
    let internal = |e: image::ImageError| WatermarkError::Internal(e.to_string());
    match format {
        Format::Png => image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .map_err(internal)?,
        Format::Jpeg => image
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
            .map_err(internal)?,
    }
    Ok(out)
}

/// Mixes the text colour into a pixel: black over light pixels, white over dark ones, so
/// the text shows on any photo.
fn blend(rgb: &mut [u8], coverage: f32) {
    if coverage <= 0.0 {
        return;
    }
    let alpha = coverage * OPACITY;
    let luma = 0.299 * f32::from(rgb[0]) + 0.587 * f32::from(rgb[1]) + 0.114 * f32::from(rgb[2]);
    let ink = if luma > 127.0 { 0.0 } else { 255.0 };
    for channel in rgb.iter_mut() {
        let mixed = f32::from(*channel) * (1.0 - alpha) + ink * alpha;
        *channel = mixed.round().clamp(0.0, 255.0) as u8;
    }
}

/// One line of text rasterized once (coverage 0..1), repeated as tiles along a rotated grid.
struct TextMask {
    width: usize,
    height: usize,
    coverage: Vec<f32>,
    cos: f32,
    sin: f32,
}

impl TextMask {
    fn render(font: &FontRef<'_>, text: &str, image_width: u32, image_height: u32) -> Self {
        // About 14 lines of text over the smaller side, never unreadably small.
        let size = (image_width.min(image_height) as f32 / 14.0).max(12.0);
        let scaled = font.as_scaled(PxScale::from(size));
        let mut caret = 0.0f32;
        let mut previous = None;
        let mut glyphs = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(prev) = previous {
                caret += scaled.kern(prev, id);
            }
            glyphs.push(id.with_scale_and_position(size, point(caret, scaled.ascent())));
            caret += scaled.h_advance(id);
            previous = Some(id);
        }
        // A gap after the text, and a line of space between two lines.
        let width = (caret + size * 2.0).ceil().max(1.0) as usize;
        let height = (scaled.height() * 2.5).ceil().max(1.0) as usize;
        let mut coverage = vec![0.0f32; width * height];
        for glyph in glyphs {
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, c| {
                let x = bounds.min.x as i64 + i64::from(gx);
                let y = bounds.min.y as i64 + i64::from(gy);
                if x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height {
                    let cell = &mut coverage[y as usize * width + x as usize];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        let angle = ANGLE_DEGREES.to_radians();
        TextMask {
            width,
            height,
            coverage,
            cos: angle.cos(),
            sin: angle.sin(),
        }
    }

    /// The text's coverage at pixel (x, y) of the image: the pixel in the rotated frame of
    /// the lines, every other line shifted by half a tile.
    fn coverage(&self, x: u32, y: u32) -> f32 {
        let (x, y) = (x as f32, y as f32);
        let u = x * self.cos - y * self.sin;
        let v = x * self.sin + y * self.cos;
        let (w, h) = (self.width as f32, self.height as f32);
        let row = (v / h).floor();
        let shift = if row.rem_euclid(2.0) >= 1.0 {
            w / 2.0
        } else {
            0.0
        };
        let tu = (u + shift).rem_euclid(w) as usize;
        let tv = v.rem_euclid(h) as usize;
        self.coverage
            .get(tv.min(self.height - 1) * self.width + tu.min(self.width - 1))
            .copied()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

    const TEXT: &str = "Document transmis à l'administration – Demande de subvention";

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb([
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    }

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    fn jpeg(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 95)
            .encode_image(image)
            .unwrap();
        out
    }

    /// Fraction of changed pixels in each quarter of the image.
    fn changed_by_quarter(before: &RgbImage, after: &RgbImage, tolerance: u8) -> [f32; 4] {
        let (w, h) = before.dimensions();
        let mut changed = [0u32; 4];
        let mut total = [0u32; 4];
        for (x, y, p) in before.enumerate_pixels() {
            let q = usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2);
            total[q] += 1;
            let a = after.get_pixel(x, y);
            if p.0.iter().zip(a.0).any(|(b, a)| b.abs_diff(a) > tolerance) {
                changed[q] += 1;
            }
        }
        std::array::from_fn(|q| changed[q] as f32 / total[q] as f32)
    }

    #[test]
    fn a_png_is_marked_all_over_and_keeps_its_size_and_format() {
        let original = gradient(320, 200);
        let (marked, format) =
            watermark(&png(&DynamicImage::ImageRgb8(original.clone())), TEXT).unwrap();
        assert_eq!(format, Format::Png);
        assert_eq!(format_of(&marked), Some(Format::Png));
        let decoded = image::load_from_memory_with_format(&marked, ImageFormat::Png)
            .unwrap()
            .to_rgb8();
        assert_eq!(decoded.dimensions(), (320, 200));
        for (q, share) in changed_by_quarter(&original, &decoded, 0)
            .iter()
            .enumerate()
        {
            assert!(
                *share > 0.05,
                "quarter {q}: only {share} of the pixels changed"
            );
            assert!(
                *share < 0.9,
                "quarter {q}: {share} changed, the image is hidden"
            );
        }
    }

    #[test]
    fn a_png_with_transparency_keeps_its_alpha() {
        let original = RgbaImage::from_fn(120, 90, |x, _| Rgba([200, 200, 200, (x * 2) as u8]));
        let (marked, _) =
            watermark(&png(&DynamicImage::ImageRgba8(original.clone())), TEXT).unwrap();
        let decoded = image::load_from_memory(&marked).unwrap();
        assert!(decoded.color().has_alpha());
        let decoded = decoded.to_rgba8();
        assert!(
            original
                .pixels()
                .zip(decoded.pixels())
                .all(|(a, b)| a.0[3] == b.0[3])
        );
        assert!(
            original
                .pixels()
                .zip(decoded.pixels())
                .any(|(a, b)| a.0[..3] != b.0[..3])
        );
    }

    #[test]
    fn a_jpeg_stays_a_jpeg_of_the_same_size_and_is_marked_all_over() {
        let original = gradient(300, 240);
        let input = jpeg(&original);
        // Compare with the original as the JPEG decodes (compression noise aside).
        let baseline = image::load_from_memory(&input).unwrap().to_rgb8();
        let (marked, format) = watermark(&input, TEXT).unwrap();
        assert_eq!(format, Format::Jpeg);
        assert_eq!(format_of(&marked), Some(Format::Jpeg));
        let decoded = image::load_from_memory_with_format(&marked, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!(decoded.dimensions(), (300, 240));
        for (q, share) in changed_by_quarter(&baseline, &decoded, 20)
            .iter()
            .enumerate()
        {
            assert!(
                *share > 0.03,
                "quarter {q}: only {share} of the pixels changed"
            );
        }
    }

    #[test]
    fn the_exif_orientation_is_applied() {
        // A 40 × 20 JPEG whose EXIF says « rotate 90° clockwise » (orientation 6).
        let mut exif = b"II*\0\x08\0\0\0\x01\0".to_vec();
        exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
        let mut input = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut input, 95);
        encoder.set_exif_metadata(exif).unwrap();
        encoder.encode_image(&gradient(40, 20)).unwrap();
        let (marked, _) = watermark(&input, TEXT).unwrap();
        let decoded = image::load_from_memory(&marked).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (20, 40));
    }

    #[test]
    fn a_tiny_image_is_marked_too() {
        let original = RgbImage::from_pixel(16, 16, Rgb([250, 250, 250]));
        let (marked, _) =
            watermark(&png(&DynamicImage::ImageRgb8(original.clone())), TEXT).unwrap();
        let decoded = image::load_from_memory(&marked).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (16, 16));
        assert_ne!(decoded, original);
    }

    #[test]
    fn garbage_and_other_formats_are_refused() {
        assert!(matches!(
            watermark(b"", TEXT),
            Err(WatermarkError::NotAnImage)
        ));
        assert!(matches!(
            watermark(b"%PDF-1.7\n1 0 obj\n", TEXT),
            Err(WatermarkError::NotAnImage)
        ));
        assert!(matches!(
            watermark(b"MZ\x90\x00\x03", TEXT),
            Err(WatermarkError::NotAnImage)
        ));
        // A PNG signature followed by nonsense.
        let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
        broken.extend_from_slice(&[7u8; 200]);
        assert!(matches!(
            watermark(&broken, TEXT),
            Err(WatermarkError::NotAnImage)
        ));
        // A JPEG cut in the middle.
        let truncated = jpeg(&gradient(64, 64));
        assert!(watermark(&truncated[..truncated.len() / 3], TEXT).is_err());
        assert_eq!(
            WatermarkError::NotAnImage.to_string(),
            "Le titre d'identité doit être une image au format JPEG ou PNG."
        );
    }

    /// A PNG header announcing 20 000 × 20 000 pixels (400 Mpx) with almost no data.
    fn bomb() -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut out);
        // Encoding a real 400 Mpx image would take the memory we refuse to spend: write
        // the header of a small one, then patch its dimensions (and the chunk's CRC).
        encoder
            .write_image(&[0u8; 4], 2, 2, image::ExtendedColorType::L8)
            .unwrap();
        let ihdr = 8 + 8; // signature, length and type of IHDR
        out[ihdr..ihdr + 4].copy_from_slice(&20_000u32.to_be_bytes());
        out[ihdr + 4..ihdr + 8].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&out[12..ihdr + 13]);
        out[ihdr + 13..ihdr + 17].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        let result = watermark(&bomb(), TEXT);
        assert!(
            matches!(result, Err(WatermarkError::TooManyPixels)),
            "{result:?}"
        );
        assert_eq!(
            WatermarkError::TooManyPixels.to_string(),
            "L'image est trop grande : elle ne doit pas dépasser 50 millions de pixels."
        );
    }
}
