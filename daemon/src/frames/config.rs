//! `[[camera]]`: one tagged table per frame source, checked into a [`CameraPlan`].
//!
//! Each kind's table and its `build()` live next to the source itself (`camera.rs`,
//! `images.rs`, `y4m.rs`, `synthetic.rs`); adding a kind means a variant here and a file in
//! this folder. Every kind also takes `name`, `max_fps` and `motion_threshold` (the frame
//! policy), checked here.

use percept_dsp::image::DecodeLimits;
use serde::Deserialize;

use super::FramePolicy;
use super::camera::V4l2CameraConfig;
use super::images::ImagesConfig;
use super::spawn::FrameSourceConfig;
use super::synthetic::SyntheticConfig;
use super::y4m::Y4mConfig;

/// The kinds a `[[camera]]` may have, as written in `kind`.
pub const CAMERA_KINDS: &[&str] = &["camera", "images", "y4m", "synthetic"];

/// One `[[camera]]`: `kind = "camera" | "images" | "y4m" | "synthetic"` plus that kind's
/// fields and the frame policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum CameraConfig {
    /// A V4L2 device.
    Camera(V4l2CameraConfig),
    /// JPEG/PNG files.
    Images(ImagesConfig),
    /// A YUV4MPEG2 file.
    Y4m(Y4mConfig),
    /// Generated test frames.
    Synthetic(SyntheticConfig),
}

/// The fields every kind takes.
#[derive(Debug, Clone, Copy)]
pub struct CommonFields<'a> {
    /// `name`: the `{source}` part of the topics.
    pub name: &'a str,
    /// `max_fps`: at most this many frames per second reach the model; 0 means no limit.
    pub max_fps: f32,
    /// `motion_threshold`: the motion gate, 0–1; 0 analyses every frame.
    pub motion_threshold: f32,
}

/// `common()` for each kind's table. Each kind declares the shared fields itself: serde cannot
/// flatten them into a table that denies unknown fields.
macro_rules! common_fields {
    ($($kind:ty),*) => {$(
        impl $kind {
            /// The fields every kind takes.
            pub fn common(&self) -> CommonFields<'_> {
                CommonFields {
                    name: &self.name,
                    max_fps: self.max_fps,
                    motion_threshold: self.motion_threshold,
                }
            }
        }
    )*};
}

common_fields!(V4l2CameraConfig, ImagesConfig, Y4mConfig, SyntheticConfig);

/// A checked `[[camera]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraPlan {
    /// The `{source}` part of its topics.
    pub name: String,
    /// Which frames reach the model.
    pub policy: FramePolicy,
    /// What to open.
    pub source: FrameSourceConfig,
}

impl CameraConfig {
    /// `kind` as written.
    pub fn kind(&self) -> &'static str {
        match self {
            CameraConfig::Camera(_) => "camera",
            CameraConfig::Images(_) => "images",
            CameraConfig::Y4m(_) => "y4m",
            CameraConfig::Synthetic(_) => "synthetic",
        }
    }

    /// The fields every kind takes.
    pub fn common(&self) -> CommonFields<'_> {
        match self {
            CameraConfig::Camera(c) => c.common(),
            CameraConfig::Images(c) => c.common(),
            CameraConfig::Y4m(c) => c.common(),
            CameraConfig::Synthetic(c) => c.common(),
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        self.common().name
    }

    /// Checks every field, pushing `key.field: rule` lines onto `problems`; the plan when they
    /// pass. `limits` bounds decoded files (`vision.max_image_megapixels`). (Rules across
    /// cameras, such as unique names, are the config's.)
    pub fn build(
        &self,
        key: &str,
        limits: DecodeLimits,
        problems: &mut Vec<String>,
    ) -> Option<CameraPlan> {
        let before = problems.len();
        let common = self.common();
        if !crate::config::is_topic_safe(common.name) {
            problems.push(format!(
                "{key}.name: must be 1-64 letters, digits, '-' or '_', got {:?}",
                common.name
            ));
        }
        let source = match self {
            CameraConfig::Camera(c) => c.build(key, problems).map(FrameSourceConfig::Camera),
            CameraConfig::Images(c) => c
                .build(key, limits, problems)
                .map(FrameSourceConfig::Images),
            CameraConfig::Y4m(c) => c.build(key, limits, problems).map(FrameSourceConfig::Y4m),
            CameraConfig::Synthetic(c) => c.build(key, problems).map(FrameSourceConfig::Synthetic),
        };
        let max_fps = common.max_fps;
        if !(max_fps.is_finite() && (0.0..=240.0).contains(&max_fps)) {
            problems.push(format!(
                "{key}.max_fps: must be in [0, 240] (0: no limit), got {max_fps}"
            ));
        }
        if !(0.0..=1.0).contains(&common.motion_threshold) {
            problems.push(format!(
                "{key}.motion_threshold: must be in [0, 1], got {}",
                common.motion_threshold
            ));
        }
        let source = source.filter(|_| problems.len() == before)?;
        Some(CameraPlan {
            name: common.name.to_string(),
            policy: FramePolicy {
                max_fps: (max_fps > 0.0).then_some(f64::from(max_fps)),
                motion_threshold: common.motion_threshold,
            },
            source,
        })
    }
}

impl CameraPlan {
    /// The file or device path the source opens, if it has one.
    pub fn path_mut(&mut self) -> Option<&mut std::path::PathBuf> {
        match &mut self.source {
            FrameSourceConfig::Images(spec) => Some(&mut spec.path),
            FrameSourceConfig::Y4m(spec) => Some(&mut spec.path),
            FrameSourceConfig::Camera(spec) => Some(&mut spec.device),
            FrameSourceConfig::Synthetic(_) => None,
        }
    }
}

/// Reports `key.width` / `key.height` outside 16..=8192 pixels.
pub(super) fn check_size(key: &str, width: u32, height: u32, problems: &mut Vec<String>) {
    for (field, v) in [("width", width), ("height", height)] {
        if !(16..=8192).contains(&v) {
            problems.push(format!("{key}.{field}: must be in 16..=8192, got {v}"));
        }
    }
}

/// Reports `key.fps` outside (0, 240].
pub(super) fn check_config_fps(key: &str, fps: f32, problems: &mut Vec<String>) {
    if !(fps.is_finite() && fps > 0.0 && fps <= 240.0) {
        problems.push(format!("{key}.fps: must be in (0, 240], got {fps}"));
    }
}

/// Reports a missing `key.path`; the path when present.
pub(super) fn required_path<'a>(
    key: &str,
    kind: &str,
    path: &'a Option<std::path::PathBuf>,
    problems: &mut Vec<String>,
) -> Option<&'a std::path::PathBuf> {
    if path.is_none() {
        problems.push(format!("{key}.path: required for kind = {kind:?}"));
    }
    path.as_ref()
}

/// Serde defaults shared by the kinds.
pub(super) mod defaults {
    /// `max_fps`: 2.
    pub fn max_fps() -> f32 {
        2.0
    }
    /// `motion_threshold`: 0.02.
    pub fn motion_threshold() -> f32 {
        0.02
    }
    /// `width`: 640.
    pub fn width() -> u32 {
        640
    }
    /// `height`: 480.
    pub fn height() -> u32 {
        480
    }
    /// `fps` of a camera or synthetic source: 5.
    pub fn fps() -> f32 {
        5.0
    }
}
