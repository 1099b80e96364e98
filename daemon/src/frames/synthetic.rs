//! Generated test frames: a moving pattern or one solid colour, at a configured size and rate.
//! For tests and demos without a camera or image files.

use percept_dsp::RgbImage;
use percept_dsp::image::DecodeLimits;
use serde::Deserialize;

use super::config::{check_config_fps, check_size, defaults};
use super::pacer::{Pacer, check_fps};
use super::{
    FrameContext, FrameEnd, FrameSource, FrameSourceError, FrameSourceKind, FrameSourceSpec, offer,
};

/// What the generated frames show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntheticPattern {
    /// A colour gradient with a bright square that moves 4 pixels per frame (every frame
    /// differs, so the motion gate lets them through).
    Moving,
    /// One colour, every frame identical (the motion gate lets only the first through).
    Solid([u8; 3]),
}

/// Generated frames.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Frames per second.
    pub fps: f64,
    /// What the frames show.
    pub pattern: SyntheticPattern,
    /// Stop after this many frames; `None` runs until shutdown.
    pub frames: Option<u64>,
}

impl Default for SyntheticSpec {
    /// 320x240 moving pattern at 10 fps, forever.
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            fps: 10.0,
            pattern: SyntheticPattern::Moving,
            frames: None,
        }
    }
}

/// Generates frames.
#[derive(Debug)]
pub struct SyntheticSource {
    spec: SyntheticSpec,
}

impl SyntheticSource {
    /// Checks the size (within the default decode limits) and the rate.
    pub fn open(spec: SyntheticSpec) -> Result<Self, FrameSourceError> {
        check_fps("synthetic", spec.fps)?;
        DecodeLimits::default()
            .check(spec.width, spec.height)
            .map_err(|e| FrameSourceError::InvalidConfig {
                rule: format!("synthetic: {e}"),
            })?;
        Ok(Self { spec })
    }
}

/// Draws frame `n` of `pattern` into `image` (resized as needed).
pub(crate) fn render(
    pattern: SyntheticPattern,
    width: usize,
    height: usize,
    n: u64,
    image: &mut RgbImage,
) {
    image.width = width;
    image.height = height;
    image.data.resize(width * height * 3, 0);
    match pattern {
        SyntheticPattern::Solid(rgb) => {
            for pixel in image.data.chunks_exact_mut(3) {
                pixel.copy_from_slice(&rgb);
            }
        }
        SyntheticPattern::Moving => {
            let side = (width.min(height) / 4).max(1);
            let travel = (width - side + 1) as u64;
            let left = ((n * 4) % travel) as usize;
            let top = (height - side) / 2;
            for (y, row) in image.data.chunks_exact_mut(width * 3).enumerate() {
                for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
                    let inside = (left..left + side).contains(&x) && (top..top + side).contains(&y);
                    let rgb = if inside {
                        [250, 250, 250]
                    } else {
                        [(x * 200 / width) as u8, (y * 200 / height) as u8, 60]
                    };
                    pixel.copy_from_slice(&rgb);
                }
            }
        }
    }
}

impl FrameSource for SyntheticSource {
    fn spec(&self) -> FrameSourceSpec {
        FrameSourceSpec {
            name: match self.spec.pattern {
                SyntheticPattern::Moving => "synthetic:moving".into(),
                SyntheticPattern::Solid([r, g, b]) => format!("synthetic:solid({r},{g},{b})"),
            },
            kind: FrameSourceKind::Synthetic,
            size: Some((self.spec.width, self.spec.height)),
            fps: self.spec.fps,
        }
    }

    fn run(self: Box<Self>, cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
        let spec = self.spec;
        let mut pacer = Pacer::new(spec.fps);
        let mut buffer = RgbImage::default();
        for n in 0.. {
            if spec.frames.is_some_and(|limit| n >= limit) {
                return Ok(FrameEnd::EndOfInput);
            }
            if pacer.wait(cx.shutdown()) {
                return Ok(FrameEnd::Shutdown);
            }
            render(spec.pattern, spec.width, spec.height, n, &mut buffer);
            match offer(&cx, std::mem::take(&mut buffer)) {
                Ok(reuse) => buffer = reuse,
                Err(end) => return Ok(end),
            }
        }
        Ok(FrameEnd::EndOfInput)
    }
}

/// `[[camera]] kind = "synthetic"`: generated test frames.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// The source's name: the `{source}` part of its topics. Default: `synthetic`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Frame width, pixels. Default: 640.
    #[serde(default = "defaults::width")]
    pub width: u32,
    /// Frame height, pixels. Default: 480.
    #[serde(default = "defaults::height")]
    pub height: u32,
    /// Frames per second. Default: 5.
    #[serde(default = "defaults::fps")]
    pub fps: f32,
    /// At most this many frames per second reach the model; 0 means no limit. Default: 2.
    #[serde(default = "defaults::max_fps")]
    pub max_fps: f32,
    /// Frames whose downscaled grey difference to the last analysed frame is below this (mean
    /// absolute difference, 0–1) are skipped; 0 analyses every frame. Default: 0.02.
    #[serde(default = "defaults::motion_threshold")]
    pub motion_threshold: f32,
}

fn default_name() -> String {
    "synthetic".into()
}

impl SyntheticConfig {
    /// Checks the kind's fields (problems under `key`); the spec when they pass.
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<SyntheticSpec> {
        let before = problems.len();
        check_size(key, self.width, self.height, problems);
        check_config_fps(key, self.fps, problems);
        (problems.len() == before).then(|| SyntheticSpec {
            width: self.width as usize,
            height: self.height as usize,
            fps: f64::from(self.fps),
            ..SyntheticSpec::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_moving_frames_differ_and_solid_frames_do_not() {
        let (mut a, mut b) = (RgbImage::default(), RgbImage::default());
        render(SyntheticPattern::Moving, 64, 48, 0, &mut a);
        render(SyntheticPattern::Moving, 64, 48, 1, &mut b);
        assert_eq!(a.data.len(), 64 * 48 * 3);
        assert_ne!(a, b);
        render(SyntheticPattern::Solid([1, 2, 3]), 4, 2, 0, &mut a);
        render(SyntheticPattern::Solid([1, 2, 3]), 4, 2, 9, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.pixel(3, 1), [1, 2, 3]);
    }

    #[test]
    fn tiny_and_oversized_frames_are_handled() {
        let mut image = RgbImage::default();
        render(SyntheticPattern::Moving, 1, 1, 7, &mut image);
        assert_eq!(image.data.len(), 3);
        let error = SyntheticSource::open(SyntheticSpec {
            width: 0,
            ..SyntheticSpec::default()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "synthetic: image width and height must be > 0, got 0x240"
        );
    }
}
