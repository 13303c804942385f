//! Images: their size, read from the first bytes while an upload streams, and a small JPEG
//! preview made afterwards, off the request path, under limits that a decompression bomb (a
//! small file that claims a huge picture) cannot get past.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

/// The most of an upload kept in memory to find an image's size (a JPEG's size follows its
/// EXIF block, which phones fill with a thumbnail of their own).
const PROBE_BYTES: usize = 256 * 1024;

/// A preview's longest side, in pixels.
pub const PREVIEW_EDGE: u32 = 320;

/// The largest picture a preview is made of: decoding holds 3 to 4 bytes a pixel.
const MAX_PREVIEW_PIXELS: u64 = 40_000_000;

/// The longest side a preview is made of.
const MAX_PREVIEW_SIDE: u32 = 16_384;

/// The most a decoder may allocate for one preview (the decoder's own backstop under the
/// pixel limit).
const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;

/// JPEG quality of previews: small files, no visible blocks at 320 pixels.
const PREVIEW_QUALITY: u8 = 80;

/// An image's size as displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl Dimensions {
    /// Whether a preview is made of an image this large.
    pub fn previewable(self) -> bool {
        self.width <= MAX_PREVIEW_SIDE
            && self.height <= MAX_PREVIEW_SIDE
            && u64::from(self.width) * u64::from(self.height) <= MAX_PREVIEW_PIXELS
    }
}

/// Finds an image's size in the first bytes of an upload as they stream past; holds at most
/// [`PROBE_BYTES`], and nothing once the size is known or for files that are not images.
#[derive(Debug)]
pub struct DimensionProbe {
    /// The bytes so far; `None` once done.
    buffer: Option<Vec<u8>>,
    found: Option<Dimensions>,
}

impl DimensionProbe {
    /// A probe for a file of `content_type` (as read from its bytes).
    pub fn new(content_type: &str) -> Self {
        Self {
            buffer: content_type.starts_with("image/").then(Vec::new),
            found: None,
        }
    }

    /// Looks at the next bytes of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        let Some(buffer) = self.buffer.as_mut() else {
            return;
        };
        let take = chunk.len().min(PROBE_BYTES - buffer.len());
        buffer.extend_from_slice(&chunk[..take]);
        if let Some(found) = read_dimensions(buffer) {
            self.found = Some(found);
            self.buffer = None;
        } else if buffer.len() >= PROBE_BYTES {
            self.buffer = None;
        }
    }

    /// The size, if the bytes so far told it.
    pub fn dimensions(&self) -> Option<Dimensions> {
        self.found
    }
}

/// The size an image's header declares, turned as its EXIF orientation says (as browsers
/// show it); `None` when the header is not all there or not an image's.
fn read_dimensions(bytes: &[u8]) -> Option<Dimensions> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return None;
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Some(if turns_sideways(orientation) {
        Dimensions {
            width: height,
            height: width,
        }
    } else {
        Dimensions { width, height }
    })
}

fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Why no preview could be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The bytes do not decode, or break a limit.
    #[error("the image does not decode: {0}")]
    Image(#[from] image::ImageError),
    /// The picture is larger than previews are made of.
    #[error("the picture is too large for a preview ({width}×{height})")]
    TooLarge {
        /// Pixels across, as declared.
        width: u32,
        /// Pixels down, as declared.
        height: u32,
    },
}

/// A JPEG of the image in `bytes`, at most [`PREVIEW_EDGE`] pixels on a side (never larger
/// than the image), turned upright, transparency over white. CPU-bound: run it on a blocking
/// thread.
pub fn make_preview(bytes: &[u8]) -> Result<Vec<u8>, PreviewError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PREVIEW_SIDE);
    limits.max_image_height = Some(MAX_PREVIEW_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if !(Dimensions { width, height }).previewable() || decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(PreviewError::TooLarge { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder)?;
    picture.apply_orientation(orientation);
    if picture.width() > PREVIEW_EDGE || picture.height() > PREVIEW_EDGE {
        picture = picture.thumbnail(PREVIEW_EDGE, PREVIEW_EDGE);
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, PREVIEW_QUALITY)
        .encode_image(&over_white(&picture))?;
    Ok(jpeg)
}

/// The picture with its transparency laid over white (JPEG has none).
fn over_white(picture: &DynamicImage) -> RgbImage {
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [red, green, blue, alpha] = rgba.get_pixel(x, y).0;
        let blend = |channel: u8| {
            let alpha = u16::from(alpha);
            let mixed = (u16::from(channel) * alpha + 255 * (255 - alpha)) / 255;
            u8::try_from(mixed).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(red), blend(green), blend(blue)])
    })
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbaImage::from_pixel(width, height, Rgba([200, 10, 10, 255]));
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(
                picture.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgba8,
            )
            .expect("encode");
        bytes
    }

    /// A JPEG whose EXIF says "turn 90° to show" (orientation 6), as phones write portraits.
    fn sideways_jpeg(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_pixel(width, height, image::Rgb([10, 200, 10]));
        let mut bytes = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 90);
        let exif = [
            0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF, IFD at 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, // orientation, SHORT, 1 value
            0x00, 0x06, 0x00, 0x00, // 6: turn 90° clockwise
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        encoder.set_exif_metadata(exif.to_vec()).expect("exif");
        encoder
            .write_image(
                picture.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .expect("encode");
        bytes
    }

    fn probe(bytes: &[u8], chunk: usize) -> Option<Dimensions> {
        let mut probe = DimensionProbe::new("image/png");
        for piece in bytes.chunks(chunk) {
            probe.feed(piece);
        }
        probe.dimensions()
    }

    #[test]
    fn the_size_is_read_from_the_first_bytes_even_in_small_pieces() {
        let found = probe(&png(640, 480), 7);
        assert_eq!(
            found,
            Some(Dimensions {
                width: 640,
                height: 480
            })
        );
    }

    #[test]
    fn a_portrait_photo_is_as_tall_as_it_is_shown() {
        let found = probe(&sideways_jpeg(64, 48), 1024);
        assert_eq!(
            found,
            Some(Dimensions {
                width: 48,
                height: 64
            })
        );
        let preview = make_preview(&sideways_jpeg(640, 480)).expect("preview");
        let shown = image::load_from_memory(&preview).expect("a JPEG");
        assert_eq!((shown.width(), shown.height()), (240, 320));
    }

    #[test]
    fn previews_fit_in_320_pixels_and_small_images_stay_small() {
        let preview = make_preview(&png(1000, 500)).expect("preview");
        let shown = image::load_from_memory(&preview).expect("a JPEG");
        assert_eq!((shown.width(), shown.height()), (320, 160));
        let preview = make_preview(&png(100, 50)).expect("preview");
        let shown = image::load_from_memory(&preview).expect("a JPEG");
        assert_eq!((shown.width(), shown.height()), (100, 50));
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_decoded() {
        // 20,000 × 20,000 pixels (1.6 GB decoded) in a few hundred bytes: the header claims
        // it, and the probe reports it, but no preview is made.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000_u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000_u32.to_be_bytes());
        let crc = crc32fast::hash(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let found = probe(&bomb, 4096).expect("the declared size");
        assert!(!found.previewable());
        assert!(matches!(
            make_preview(&bomb),
            Err(PreviewError::TooLarge { .. } | PreviewError::Image(_))
        ));
    }

    #[test]
    fn files_that_are_not_images_are_not_probed() {
        let mut probe = DimensionProbe::new("application/pdf");
        probe.feed(&png(10, 10));
        assert_eq!(probe.dimensions(), None);
    }
}
