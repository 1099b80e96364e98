//! Model input preprocessing: resize the shortest side, centre crop, scale to `[0, 1]`,
//! normalise per channel, and write NCHW `f32` `[1, 3, crop, crop]`.
//!
//! This is torchvision's `Resize(int)` + `CenterCrop(int)` + `ToTensor()` + `Normalize(mean, std)`
//! on a PIL image, as CLIP and the ImageNet classifiers use it:
//! - `Resize(s)`: the shorter side (the width when they are equal) becomes `s`, the longer one
//!   `int(s * long / short)` (truncated), resized with Pillow's antialiased filter ([`resize`]).
//! - `CenterCrop(c)`: `top = int(round((height - c) / 2.0))`, with Python's `round` (half to even),
//!   and the same for `left`.
//! - `ToTensor` + `Normalize`: `(v / 255 - mean) / std` in `f32`.
//!
//! Every model's constants live here, one `const` [`PreprocessSpec`] per model. Only the cropped
//! part of the resized image is computed (same bytes as resizing everything, then cropping).
//!
//! [`resize`]: super::resize

use thiserror::Error;

use super::RgbImage;
use super::resize::{Interpolation, Region, ResizeError, Resizer, check_source};

/// CLIP's per-channel mean (RGB), from OpenAI CLIP's `_transform`.
#[allow(clippy::excessive_precision)] // the published values, digit for digit
pub const CLIP_MEAN: [f32; 3] = [0.48145466, 0.4578275, 0.40821073];
/// CLIP's per-channel standard deviation (RGB).
#[allow(clippy::excessive_precision)] // the published values, digit for digit
pub const CLIP_STD: [f32; 3] = [0.26862954, 0.26130258, 0.27577711];
/// The ImageNet per-channel mean (RGB) used by torchvision models.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// The ImageNet per-channel standard deviation (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// CLIP (ViT-B/32 and friends at 224 px): bicubic resize of the shortest side to 224, centre crop
/// 224, CLIP mean/std.
pub const CLIP_PREPROCESS: PreprocessSpec = PreprocessSpec {
    resize_shortest: 224,
    crop: 224,
    mean: CLIP_MEAN,
    std: CLIP_STD,
    interpolation: Interpolation::Bicubic,
};

/// EfficientNet-Lite0 (the TF checkpoint's convention, `(pixel - 127) / 128`): bicubic resize of
/// the shortest side to 256, centre crop 224.
pub const EFFNET_LITE0_PREPROCESS: PreprocessSpec = PreprocessSpec {
    resize_shortest: 256,
    crop: 224,
    mean: [127.0 / 255.0; 3],
    std: [128.0 / 255.0; 3],
    interpolation: Interpolation::Bicubic,
};

/// What a model wants done to an image before it sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreprocessSpec {
    /// The shorter side is resized to this many pixels (torchvision `Resize(int)`).
    pub resize_shortest: u32,
    /// Side of the square centre crop taken from the resized image; at most `resize_shortest`.
    pub crop: u32,
    /// Per-channel (RGB) mean subtracted from values scaled to `[0, 1]`.
    pub mean: [f32; 3],
    /// Per-channel (RGB) standard deviation divided by after the mean is subtracted.
    pub std: [f32; 3],
    /// Resize filter.
    pub interpolation: Interpolation,
}

impl PreprocessSpec {
    /// Checks the spec's rules (see [`SpecError`]).
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.resize_shortest == 0 {
            return Err(SpecError::ZeroResize);
        }
        if self.crop == 0 {
            return Err(SpecError::ZeroCrop);
        }
        if self.crop > self.resize_shortest {
            return Err(SpecError::CropLargerThanResize {
                crop: self.crop,
                resize_shortest: self.resize_shortest,
            });
        }
        for channel in 0..3 {
            if !self.mean[channel].is_finite() {
                return Err(SpecError::Mean {
                    channel,
                    value: self.mean[channel],
                });
            }
            if !(self.std[channel].is_finite() && self.std[channel] > 0.0) {
                return Err(SpecError::Std {
                    channel,
                    value: self.std[channel],
                });
            }
        }
        Ok(())
    }

    /// The NCHW output shape: `[1, 3, crop, crop]`.
    pub fn output_shape(&self) -> [usize; 4] {
        let crop = self.crop as usize;
        [1, 3, crop, crop]
    }

    /// Number of `f32`s in the output: `3 * crop * crop`.
    pub fn output_len(&self) -> usize {
        3 * self.crop as usize * self.crop as usize
    }

    /// Size `(width, height)` after resizing a `width` x `height` image (torchvision's rule:
    /// `int(resize_shortest * long / short)` for the longer side).
    pub fn resized_size(&self, width: usize, height: usize) -> (usize, usize) {
        let short_new = self.resize_shortest as usize;
        let (short, long) = if width <= height {
            (width, height)
        } else {
            (height, width)
        };
        // f64 division is correctly rounded like Python's int / int; `as` truncates like int().
        let long_new = (short_new as f64 * long as f64 / short.max(1) as f64) as usize;
        if width <= height {
            (short_new, long_new)
        } else {
            (long_new, short_new)
        }
    }

    /// The crop inside a resized `width` x `height` image (torchvision's `CenterCrop`:
    /// `int(round((size - crop) / 2.0))`, rounding half to even like Python).
    pub fn crop_region(&self, width: usize, height: usize) -> Region {
        let crop = self.crop as usize;
        let offset =
            |size: usize| (size.saturating_sub(crop) as f64 / 2.0).round_ties_even() as usize;
        Region {
            x: offset(width),
            y: offset(height),
            width: crop,
            height: crop,
        }
    }
}

/// A [`PreprocessSpec`] that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum SpecError {
    /// `resize_shortest` is 0.
    #[error("resize_shortest must be > 0, got 0")]
    ZeroResize,
    /// `crop` is 0.
    #[error("crop must be > 0, got 0")]
    ZeroCrop,
    /// The crop would not fit in the resized image.
    #[error("crop must be <= resize_shortest ({resize_shortest}), got {crop}")]
    CropLargerThanResize {
        /// The crop side.
        crop: u32,
        /// The resized short side.
        resize_shortest: u32,
    },
    /// A mean is NaN or infinite.
    #[error("mean[{channel}] must be finite, got {value}")]
    Mean {
        /// Channel index (0 = R).
        channel: usize,
        /// The value.
        value: f32,
    },
    /// A standard deviation is not a finite positive number.
    #[error("std[{channel}] must be finite and > 0, got {value}")]
    Std {
        /// Channel index (0 = R).
        channel: usize,
        /// The value.
        value: f32,
    },
}

/// Why one image could not be preprocessed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PreprocessError {
    /// The image has no pixels.
    #[error("image must be at least 1x1, got {width}x{height}")]
    EmptyImage {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
    },
    /// The image's data does not hold `width * height * 3` bytes.
    #[error("image data must be width * height * 3 = {expected} bytes, got {actual}")]
    DataLength {
        /// `width * height * 3` (saturating).
        expected: usize,
        /// `data.len()`.
        actual: usize,
    },
    /// The output slice is not `3 * crop * crop` long.
    #[error("output must hold 3 * crop * crop = {expected} floats, got {actual}")]
    OutputLength {
        /// `3 * crop * crop`.
        expected: usize,
        /// The slice's length.
        actual: usize,
    },
    /// The resize refused (not expected once the checks above pass).
    #[error("resize failed: {0}")]
    Resize(ResizeError),
}

impl From<ResizeError> for PreprocessError {
    fn from(err: ResizeError) -> Self {
        match err {
            ResizeError::EmptySource { width, height } => Self::EmptyImage { width, height },
            ResizeError::SourceLength { expected, actual } => Self::DataLength { expected, actual },
            other => Self::Resize(other),
        }
    }
}

/// Runs one [`PreprocessSpec`] on images. It owns the resizer's coefficient tables, the scratch
/// buffers and the normalisation tables, so frames of an unchanged size are preprocessed without
/// allocating (see [`Preprocessor::allocations`]).
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: PreprocessSpec,
    resizer: Resizer,
    /// The resized, cropped image, RGB interleaved.
    cropped: Vec<u8>,
    /// `(v / 255 - mean[c]) / std[c]` for every byte value `v`, per channel.
    normalise: [[f32; 256]; 3],
    allocations: u64,
}

impl Preprocessor {
    /// A preprocessor for `spec`, or why the spec is invalid.
    pub fn new(spec: PreprocessSpec) -> Result<Self, SpecError> {
        spec.validate()?;
        let mut normalise = [[0.0_f32; 256]; 3];
        for (channel, table) in normalise.iter_mut().enumerate() {
            for (v, out) in table.iter_mut().enumerate() {
                // Same f32 operations as ToTensor (div 255) then Normalize (sub mean, div std).
                *out = (v as f32 / 255.0 - spec.mean[channel]) / spec.std[channel];
            }
        }
        Ok(Self {
            spec,
            resizer: Resizer::new(spec.interpolation),
            cropped: Vec::new(),
            normalise,
            allocations: 0,
        })
    }

    /// The spec this preprocessor runs.
    pub fn spec(&self) -> &PreprocessSpec {
        &self.spec
    }

    /// How many times a coefficient table was built or a scratch buffer grew, so far. It does
    /// not change while the input size stays the same: the no-allocation check for tests.
    pub fn allocations(&self) -> u64 {
        self.allocations + self.resizer.allocations()
    }

    /// Preprocesses `image` into `out` (NCHW `[1, 3, crop, crop]`, `3 * crop * crop` floats).
    /// Allocates nothing once warmed up on an image of the same size.
    pub fn process_into(
        &mut self,
        image: &RgbImage,
        out: &mut [f32],
    ) -> Result<(), PreprocessError> {
        check_source(image)?;
        let expected = self.spec.output_len();
        if out.len() != expected {
            return Err(PreprocessError::OutputLength {
                expected,
                actual: out.len(),
            });
        }
        let (width, height) = self.spec.resized_size(image.width, image.height);
        let region = self.spec.crop_region(width, height);
        let pixels = region.width * region.height;
        if self.cropped.capacity() < pixels * 3 {
            self.allocations += 1;
        }
        self.cropped.resize(pixels * 3, 0);
        self.resizer
            .resize_region_into(image, width, height, region, &mut self.cropped)?;
        for (channel, plane) in out.chunks_exact_mut(pixels).enumerate() {
            let table = &self.normalise[channel];
            for (o, px) in plane.iter_mut().zip(self.cropped.chunks_exact(3)) {
                *o = table[usize::from(px[channel])];
            }
        }
        Ok(())
    }

    /// Preprocesses `image` into a new `Vec` (allocating convenience over
    /// [`Preprocessor::process_into`]).
    pub fn process(&mut self, image: &RgbImage) -> Result<Vec<f32>, PreprocessError> {
        check_source(image)?;
        let mut out = vec![0.0; self.spec.output_len()];
        self.process_into(image, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_side_is_truncated_like_torchvision_resize() {
        // franz-kafka.jpg is 450x655: int(224 * 655 / 450) = int(326.04) = 326.
        assert_eq!(CLIP_PREPROCESS.resized_size(450, 655), (224, 326));
        assert_eq!(CLIP_PREPROCESS.resized_size(640, 480), (298, 224));
        assert_eq!(CLIP_PREPROCESS.resized_size(100, 100), (224, 224));
        assert_eq!(CLIP_PREPROCESS.resized_size(1, 3), (224, 672));
    }

    #[test]
    fn the_centre_crop_rounds_half_to_even_like_python() {
        let spec = PreprocessSpec {
            crop: 10,
            ..CLIP_PREPROCESS
        };
        // (11 - 10) / 2 = 0.5 -> 0; (13 - 10) / 2 = 1.5 -> 2; (15 - 10) / 2 = 2.5 -> 2.
        assert_eq!(spec.crop_region(11, 13).x, 0);
        assert_eq!(spec.crop_region(11, 13).y, 2);
        assert_eq!(spec.crop_region(15, 10).x, 2);
        assert_eq!(spec.crop_region(15, 10).y, 0);
    }

    #[test]
    fn invalid_specs_are_refused_with_the_rule() {
        let bad = |spec: PreprocessSpec| Preprocessor::new(spec).unwrap_err().to_string();
        assert_eq!(
            bad(PreprocessSpec {
                resize_shortest: 0,
                ..CLIP_PREPROCESS
            }),
            "resize_shortest must be > 0, got 0"
        );
        assert_eq!(
            bad(PreprocessSpec {
                crop: 256,
                ..CLIP_PREPROCESS
            }),
            "crop must be <= resize_shortest (224), got 256"
        );
        assert_eq!(
            bad(PreprocessSpec {
                std: [0.2, 0.0, 0.2],
                ..CLIP_PREPROCESS
            }),
            "std[1] must be finite and > 0, got 0"
        );
        assert_eq!(
            bad(PreprocessSpec {
                mean: [f32::NAN, 0.0, 0.0],
                ..CLIP_PREPROCESS
            }),
            "mean[0] must be finite, got NaN"
        );
    }

    #[test]
    fn bad_images_and_outputs_are_errors_that_state_the_rule() {
        let mut pre = Preprocessor::new(CLIP_PREPROCESS).unwrap();
        let err = pre.process(&RgbImage::default()).unwrap_err();
        assert_eq!(err.to_string(), "image must be at least 1x1, got 0x0");
        let short = RgbImage {
            width: 4,
            height: 2,
            data: vec![0; 23],
        };
        let err = pre.process(&short).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image data must be width * height * 3 = 24 bytes, got 23"
        );
        let err = pre
            .process_into(&RgbImage::filled(4, 4, [0; 3]), &mut [0.0; 10])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "output must hold 3 * crop * crop = 150528 floats, got 10"
        );
    }

    #[test]
    fn a_constant_image_normalises_to_its_channel_values() {
        let mut pre = Preprocessor::new(CLIP_PREPROCESS).unwrap();
        let out = pre
            .process(&RgbImage::filled(300, 200, [255, 0, 128]))
            .unwrap();
        let plane = 224 * 224;
        let want = [
            (1.0 - CLIP_MEAN[0]) / CLIP_STD[0],
            (0.0 - CLIP_MEAN[1]) / CLIP_STD[1],
            (128.0 / 255.0 - CLIP_MEAN[2]) / CLIP_STD[2],
        ];
        for c in 0..3 {
            assert!(
                out[c * plane..(c + 1) * plane]
                    .iter()
                    .all(|&v| v == want[c])
            );
        }
    }
}
