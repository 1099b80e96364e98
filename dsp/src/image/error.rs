//! Why an image could not be decoded, converted or encoded.

use thiserror::Error;

use super::decode::DecodeLimits;

/// The container format of an encoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (JFIF/EXIF, and MJPEG camera frames).
    Jpeg,
    /// PNG.
    Png,
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
        })
    }
}

/// An image that cannot be turned into an [`RgbImage`](super::RgbImage), or one that cannot be
/// encoded. Every message states the rule that was broken.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ImageError {
    /// The bytes start with neither the JPEG nor the PNG signature.
    #[error(
        "unsupported image format: expected JPEG (FF D8 FF) or PNG (89 50 4E 47) magic bytes, got {got}"
    )]
    UnknownFormat {
        /// The first bytes, in hex.
        got: String,
    },
    /// The data ends early or is damaged.
    #[error("truncated or corrupt {format} data: {reason}")]
    Corrupt {
        /// The container format.
        format: ImageFormat,
        /// What the decoder found.
        reason: String,
    },
    /// The header declares an empty image.
    #[error("image width and height must be > 0, got {width}x{height}")]
    ZeroSize {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
    /// The header declares an image larger than the decode limits (checked before any pixel
    /// memory is allocated).
    #[error(
        "image is {width}x{height}, larger than the decode limit of {}x{} and {} pixels",
        limit.max_width, limit.max_height, limit.max_pixels
    )]
    TooLarge {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
        /// The limits that were exceeded.
        limit: DecodeLimits,
    },
    /// A valid file whose coding or pixel layout is not supported (e.g. 12-bit or lossless JPEG).
    #[error("unsupported {format} pixel format: {detail}")]
    UnsupportedPixelFormat {
        /// The container format.
        format: ImageFormat,
        /// What is unsupported.
        detail: String,
    },
    /// A raw camera/video buffer does not have the size its dimensions require.
    #[error("{layout} buffer for {width}x{height} must be {expected} bytes, got {actual}")]
    BufferLength {
        /// The raw layout (`YUYV`, `I420`).
        layout: &'static str,
        /// Frame width.
        width: usize,
        /// Frame height.
        height: usize,
        /// Bytes the layout needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Raw frame dimensions that the layout cannot hold.
    #[error("{layout} frame size is invalid: {rule}")]
    BadDimensions {
        /// The raw layout (`YUYV`, `I420`).
        layout: &'static str,
        /// The rule, e.g. "width must be even, got 641".
        rule: String,
    },
    /// A parameter is out of range, e.g. a motion threshold.
    #[error("{rule}")]
    InvalidParameter {
        /// The rule, e.g. "motion threshold must be within 0..=1, got 2".
        rule: String,
    },
    /// The encoder refused the image.
    #[error("cannot encode JPEG: {reason}")]
    Encode {
        /// What the encoder said.
        reason: String,
    },
}
