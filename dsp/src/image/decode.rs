//! JPEG and PNG decoding to [`RgbImage`], with size limits checked before any pixel memory is
//! allocated.
//!
//! The format is sniffed from the magic bytes (the file name is not trusted). The frame size
//! is read from the JPEG frame header (SOF) or the PNG IHDR by a few lines of code here, and
//! checked against [`DecodeLimits`] before the decoder sees the data, so a header claiming
//! 60000x60000 costs nothing. JPEG is decoded by `zune-jpeg` in strict mode (a truncated or
//! damaged scan is an error, not a grey-filled picture); PNG by `zune-png`, whose inflater stops
//! at the size the header declares, so a PNG bomb (a small file that inflates to gigabytes) fails
//! cleanly. Grey, CMYK, palette, 16-bit and alpha inputs all come out as 8-bit RGB (alpha is
//! dropped, as PIL's `convert("RGB")` does).

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;
use zune_jpeg::errors::DecodeErrors;
use zune_png::PngDecoder;

use super::RgbImage;
use super::error::{ImageError, ImageFormat};

const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];
const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The largest image [`decode_image`] accepts. All three limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Widest accepted image, in pixels.
    pub max_width: usize,
    /// Tallest accepted image, in pixels.
    pub max_height: usize,
    /// Most pixels (`width * height`) accepted.
    pub max_pixels: usize,
}

impl Default for DecodeLimits {
    /// 8192x8192 and 40 megapixels: any camera or photo, while one decode stays below about
    /// 0.5 GB even for a 16-bit RGBA PNG.
    fn default() -> Self {
        Self {
            max_width: 8192,
            max_height: 8192,
            max_pixels: 40_000_000,
        }
    }
}

impl DecodeLimits {
    /// Limits that accept exactly one frame size and nothing larger (a camera's negotiated size).
    pub fn exactly(width: usize, height: usize) -> Self {
        Self {
            max_width: width,
            max_height: height,
            max_pixels: width.saturating_mul(height),
        }
    }

    /// Checks a declared size: zero sizes and sizes over the limits are errors.
    pub fn check(&self, width: usize, height: usize) -> Result<(), ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSize { width, height });
        }
        if width > self.max_width
            || height > self.max_height
            || width.saturating_mul(height) > self.max_pixels
        {
            return Err(ImageError::TooLarge {
                width,
                height,
                limit: *self,
            });
        }
        Ok(())
    }
}

/// Decodes a JPEG or PNG file held in memory into 8-bit RGB.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, ImageError> {
    let mut image = RgbImage::default();
    decode_image_into(bytes, limits, &mut image)?;
    Ok(image)
}

/// Like [`decode_image`], but writes into `out`, reusing its pixel buffer for JPEG input (the
/// camera path decodes every frame into the same image). On error `out` is left unspecified.
pub fn decode_image_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    if bytes.starts_with(&JPEG_MAGIC) {
        decode_jpeg_into(bytes, limits, out)
    } else if bytes.starts_with(&PNG_MAGIC) {
        decode_png_into(bytes, limits, out)
    } else {
        let got = bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ");
        Err(ImageError::UnknownFormat {
            got: if got.is_empty() {
                "no bytes".into()
            } else {
                got
            },
        })
    }
}

/// What the JPEG frame header (SOF) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegFrameHeader {
    /// The SOF marker's low nibble: 0 baseline, 1 extended, 2 progressive, others unsupported.
    sof: u8,
    precision: u8,
    width: usize,
    height: usize,
    components: u8,
}

fn jpeg_corrupt(reason: impl Into<String>) -> ImageError {
    ImageError::Corrupt {
        format: ImageFormat::Jpeg,
        reason: reason.into(),
    }
}

/// Walks the marker segments from SOI to the first SOF and reads it, without decoding anything.
fn read_jpeg_frame_header(bytes: &[u8]) -> Result<JpegFrameHeader, ImageError> {
    let truncated = || jpeg_corrupt("the data ends before the frame header (SOF)");
    let mut at = 2; // after SOI
    loop {
        if *bytes.get(at).ok_or_else(truncated)? != 0xFF {
            return Err(jpeg_corrupt(format!(
                "expected a marker at byte {at}, found 0x{:02X}",
                bytes[at]
            )));
        }
        // Any number of 0xFF fill bytes may precede the marker code.
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        at += 1;
        match marker {
            // Standalone markers without a length: TEM, RSTn, SOI.
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 | 0xDA => {
                return Err(jpeg_corrupt(
                    "no frame header (SOF) before the scan data or end of image",
                ));
            }
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at).ok_or_else(truncated)?,
            *bytes.get(at + 1).ok_or_else(truncated)?,
        ]));
        if length < 2 {
            return Err(jpeg_corrupt(format!(
                "segment length must be >= 2, got {length}"
            )));
        }
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let field = |i: usize| bytes.get(at + 2 + i).copied().ok_or_else(truncated);
            return Ok(JpegFrameHeader {
                sof: marker - 0xC0,
                precision: field(0)?,
                height: usize::from(u16::from_be_bytes([field(1)?, field(2)?])),
                width: usize::from(u16::from_be_bytes([field(3)?, field(4)?])),
                components: field(5)?,
            });
        }
        at += length;
    }
}

fn decode_jpeg_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    let header = read_jpeg_frame_header(bytes)?;
    let unsupported = |detail: String| ImageError::UnsupportedPixelFormat {
        format: ImageFormat::Jpeg,
        detail,
    };
    if header.sof > 2 {
        let kind = match header.sof {
            3 | 7 | 11 | 15 => "lossless",
            5..=7 | 13..=15 => "hierarchical",
            _ => "arithmetic-coded",
        };
        return Err(unsupported(format!(
            "{kind} JPEG (SOF{}) is not supported; only baseline, extended and progressive Huffman JPEG are",
            header.sof
        )));
    }
    if header.precision != 8 {
        return Err(unsupported(format!(
            "sample precision must be 8 bits, got {}",
            header.precision
        )));
    }
    if !matches!(header.components, 1 | 3 | 4) {
        return Err(unsupported(format!(
            "component count must be 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK/YCCK), got {}",
            header.components
        )));
    }
    limits.check(header.width, header.height)?;

    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(limits.max_width)
        .set_max_height(limits.max_height)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| jpeg_corrupt("no frame header after decoding the headers"))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    // The decoder read the same header; a second SOF with another size would show here.
    limits.check(width, height)?;
    let len = width * height * 3;
    if decoder.output_buffer_size() != Some(len) {
        return Err(unsupported(format!(
            "the decoder would not produce {width}x{height} RGB"
        )));
    }
    out.data.resize(len, 0);
    decoder.decode_into(&mut out.data).map_err(jpeg_error)?;
    out.width = width;
    out.height = height;
    Ok(())
}

fn jpeg_error(error: DecodeErrors) -> ImageError {
    match error {
        DecodeErrors::Unsupported(scheme) => ImageError::UnsupportedPixelFormat {
            format: ImageFormat::Jpeg,
            detail: format!("{scheme:?}"),
        },
        other => jpeg_corrupt(one_line(&other.to_string())),
    }
}

fn png_corrupt(reason: impl Into<String>) -> ImageError {
    ImageError::Corrupt {
        format: ImageFormat::Png,
        reason: reason.into(),
    }
}

/// Reads the IHDR chunk, which the PNG specification requires to come first.
fn read_png_header(bytes: &[u8]) -> Result<(usize, usize, u8, u8), ImageError> {
    let ihdr = bytes
        .get(8..8 + 8 + 13)
        .ok_or_else(|| png_corrupt("the data ends inside the IHDR header"))?;
    if &ihdr[4..8] != b"IHDR" || ihdr[0..4] != 13u32.to_be_bytes() {
        return Err(png_corrupt("the first chunk must be a 13-byte IHDR"));
    }
    let u32_at = |i: usize| u32::from_be_bytes([ihdr[i], ihdr[i + 1], ihdr[i + 2], ihdr[i + 3]]);
    let width = usize::try_from(u32_at(8)).unwrap_or(usize::MAX);
    let height = usize::try_from(u32_at(12)).unwrap_or(usize::MAX);
    Ok((width, height, ihdr[16], ihdr[17]))
}

fn decode_png_into(
    bytes: &[u8],
    limits: &DecodeLimits,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    let (width, height, depth, colour) = read_png_header(bytes)?;
    let allowed: &[u8] = match colour {
        0 => &[1, 2, 4, 8, 16],
        3 => &[1, 2, 4, 8],
        2 | 4 | 6 => &[8, 16],
        _ => &[],
    };
    if !allowed.contains(&depth) {
        return Err(ImageError::UnsupportedPixelFormat {
            format: ImageFormat::Png,
            detail: format!(
                "colour type {colour} with bit depth {depth} is not a valid PNG combination"
            ),
        });
    }
    limits.check(width, height)?;

    let options = DecoderOptions::default()
        .set_max_width(limits.max_width)
        .set_max_height(limits.max_height)
        .png_set_strip_to_8bit(true)
        .png_set_confirm_crc(true)
        .inflate_set_confirm_adler(true);
    let mut decoder = PngDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| png_corrupt(one_line(&format!("{e:?}"))))?;
    let colorspace = decoder
        .colorspace()
        .ok_or_else(|| png_corrupt("no IHDR after decoding the headers"))?;
    // zune-png inflates at most the size IHDR declares, so a bomb stops here with an error.
    let raw = decoder
        .decode_raw()
        .map_err(|e| png_corrupt(one_line(&format!("{e:?}"))))?;
    let channels = colorspace.num_components();
    if raw.len() != width * height * channels {
        return Err(png_corrupt(format!(
            "decoded {} bytes, expected {width}x{height}x{channels}",
            raw.len()
        )));
    }
    out.width = width;
    out.height = height;
    out.data.clear();
    out.data.reserve(width * height * 3);
    match channels {
        1 => out.data.extend(raw.iter().flat_map(|&g| [g, g, g])),
        2 => out
            .data
            .extend(raw.chunks_exact(2).flat_map(|ga| [ga[0], ga[0], ga[0]])),
        3 => out.data.extend_from_slice(&raw),
        4 => out
            .data
            .extend(raw.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]])),
        n => {
            return Err(ImageError::UnsupportedPixelFormat {
                format: ImageFormat::Png,
                detail: format!("the decoder produced {n} channels"),
            });
        }
    }
    Ok(())
}

/// Decoder messages sometimes end in a newline; errors here are one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
