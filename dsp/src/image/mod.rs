//! Image front end: decoding (JPEG, PNG, camera YUYV), and model preprocessing
//! (resize, centre crop, normalise to NCHW f32).
//!
//! Everything works on byte slices and [`RgbImage`]s; nothing here does I/O.

pub mod decode;
pub mod encode;
mod error;
pub mod motion;
pub mod preprocess;
pub mod resize;
#[cfg(test)]
mod test_images;
pub mod yuyv;

pub use decode::{DecodeLimits, decode_image, decode_image_into};
pub use encode::encode_jpeg;
pub use error::{ImageError, ImageFormat};
pub use motion::{MotionDecision, MotionGate};
pub use preprocess::{CLIP_PREPROCESS, PreprocessError, PreprocessSpec, Preprocessor, SpecError};
pub use resize::{Interpolation, Region, ResizeError, Resizer};
pub use yuyv::{i420_frame_len, i420_to_rgb_into, yuyv_to_rgb_into};

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R, G, B`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// An image of the given size filled with one colour.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&rgb);
        }
        Self {
            width,
            height,
            data,
        }
    }

    /// The pixel at (x, y). Panics when out of bounds (a programming error, not user input).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}
