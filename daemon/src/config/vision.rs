//! `[vision]`, `[vision.clip]` and `[[camera]]`: the image side of the config file.

use std::path::PathBuf;

use serde::Deserialize;

use crate::vision::embedding::EmbeddingDtype;

/// `[vision]`: the image model and what is published from its results.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionConfig {
    /// `efficientnet-lite0` (ImageNet labels, real weights) or `clip` (zero-shot labels from
    /// `[vision.clip]`). Default: `efficientnet-lite0`.
    #[serde(default = "defaults::model")]
    pub model: String,
    /// Labels kept per frame (the label tracker and the caption see these). Default: 5.
    #[serde(default = "defaults::top_k")]
    pub top_k: usize,
    /// A label becomes present at this probability. Default: 0.5.
    #[serde(default = "defaults::enter_threshold")]
    pub enter_threshold: f32,
    /// A present label leaves below this probability (hysteresis; at most
    /// `enter_threshold`). Default: 0.3.
    #[serde(default = "defaults::exit_threshold")]
    pub exit_threshold: f32,
    /// A label stays present at least this long once it entered, milliseconds. Default: 3000.
    #[serde(default = "defaults::min_dwell_ms")]
    pub min_dwell_ms: u64,
    /// Labels in a caption, at most. Default: 2.
    #[serde(default = "defaults::caption_top_k")]
    pub caption_top_k: usize,
    /// Labels below this probability stay out of the caption. Default: 0.05.
    #[serde(default = "defaults::caption_min_probability")]
    pub caption_min_probability: f32,
    /// At most one embedding per source per this many milliseconds; 0 publishes one for every
    /// analysed frame. Default: 10000.
    #[serde(default = "defaults::embedding_interval_ms")]
    pub embedding_interval_ms: u64,
    /// `f16` (half the bytes) or `f32` (exact). Default: `f16`.
    #[serde(default = "defaults::embedding_dtype")]
    pub embedding_dtype: String,
    /// Scale embeddings to unit length before sending (cosine similarity is then a dot
    /// product). Default: true.
    #[serde(default = "defaults::yes")]
    pub embedding_l2_normalize: bool,
    /// Publish a JPEG thumbnail of the frame that triggered each label event. Default: false.
    #[serde(default)]
    pub snapshot: bool,
    /// The thumbnail's longer side, pixels. Default: 320.
    #[serde(default = "defaults::snapshot_max_side")]
    pub snapshot_max_side: u32,
    /// The largest image a source may decode, megapixels (a bigger header is rejected before
    /// any allocation). Default: 40.
    #[serde(default = "defaults::max_image_megapixels")]
    pub max_image_megapixels: u32,
    /// Zero-shot CLIP; required when `model = "clip"`.
    pub clip: Option<ClipConfig>,
}

impl Default for VisionConfig {
    fn default() -> Self {
        toml::from_str("").expect("every VisionConfig field has a default")
    }
}

/// `[vision.clip]`: a CLIP ONNX export and its zero-shot labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipConfig {
    /// The name published with results. Default: `clip`.
    #[serde(default = "defaults::clip_name")]
    pub name: String,
    /// One ONNX graph with both towers (`input_ids`, `attention_mask`, `pixel_values` →
    /// `image_embeds`, `text_embeds`). Give either this or both `vision_model` and `text_model`.
    pub model: Option<PathBuf>,
    /// The image tower (`pixel_values` → `image_embeds`).
    pub vision_model: Option<PathBuf>,
    /// The text tower (`input_ids` [, `attention_mask`] → `text_embeds`).
    pub text_model: Option<PathBuf>,
    /// The BPE vocabulary. Default: `clip-assets/bpe_simple_vocab_16e6.txt.gz` in the models
    /// directory (`perceptd models fetch` installs it).
    pub vocab: Option<PathBuf>,
    /// The zero-shot labels, e.g. `["person", "cat", "empty room"]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Prompt templates with one `{}` each; their text embeddings are averaged per label.
    /// Default: seven of CLIP's ImageNet templates ("a photo of a {}." …).
    pub templates: Option<Vec<String>>,
    /// Factor on cosine similarities before the softmax. Default: 100 (CLIP's trained value).
    #[serde(default = "defaults::logit_scale")]
    pub logit_scale: f32,
}

/// One `[[camera]]`: `kind = "camera" | "images" | "y4m" | "synthetic"` plus that kind's fields
/// and the frame policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// The source's name: the `{source}` part of its topics. Default: the kind.
    pub name: Option<String>,
    /// `camera` (V4L2 device), `images` (JPEG/PNG files), `y4m` (a YUV4MPEG2 file) or
    /// `synthetic` (generated test frames).
    pub kind: String,
    /// `camera`: the device (default `/dev/video0`). `images`: a file or a directory.
    /// `y4m`: the file.
    pub path: Option<PathBuf>,
    /// `camera`, `synthetic`: frame width in pixels. Default: 640.
    pub width: Option<u32>,
    /// `camera`, `synthetic`: frame height in pixels. Default: 480.
    pub height: Option<u32>,
    /// Frames per second the source produces (`camera`: asked of the device; `images`,
    /// `synthetic`: the pace). Default: 1 for images, 5 otherwise.
    pub fps: Option<f32>,
    /// `camera`: `mjpeg` or `yuyv`. Default: `mjpeg`.
    pub format: Option<String>,
    /// `images`: keep polling the directory for new files. Default: false.
    #[serde(default)]
    pub watch: bool,
    /// `images`, `y4m`: start again at the end. Default: false.
    #[serde(default, rename = "loop")]
    pub looping: bool,
    /// At most this many frames per second reach the model; 0 means no limit. Default: 2.
    #[serde(default = "defaults::max_fps")]
    pub max_fps: f32,
    /// Frames whose downscaled grey difference to the last analysed frame is below this (mean
    /// absolute difference, 0–1) are skipped; 0 analyses every frame. Default: 0.02.
    #[serde(default = "defaults::motion_threshold")]
    pub motion_threshold: f32,
}

/// The kinds a `[[camera]]` may have.
pub const CAMERA_KINDS: &[&str] = &["camera", "images", "y4m", "synthetic"];

impl CameraConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.kind)
    }
}

/// Every rule of the vision sections, as `key.path: rule` lines.
pub fn check_vision(vision: &VisionConfig, cameras: &[CameraConfig], problems: &mut Vec<String>) {
    let v = vision;
    let is_clip = v.model == "clip";
    let known = percept_models::registry::known_model(&v.model)
        .is_some_and(|m| m.family == percept_models::registry::ModelFamily::ImageNet);
    if !is_clip && !known {
        problems.push(format!(
            "vision.model: must be \"efficientnet-lite0\" or \"clip\", got {:?}",
            v.model
        ));
    }
    if v.top_k == 0 {
        problems.push("vision.top_k: must be >= 1, got 0".into());
    }
    for (key, p) in [
        ("enter_threshold", v.enter_threshold),
        ("exit_threshold", v.exit_threshold),
        ("caption_min_probability", v.caption_min_probability),
    ] {
        if !(0.0..=1.0).contains(&p) {
            problems.push(format!("vision.{key}: must be in [0, 1], got {p}"));
        }
    }
    if v.exit_threshold > v.enter_threshold {
        problems.push(format!(
            "vision.exit_threshold: must be <= enter_threshold ({}), got {}",
            v.enter_threshold, v.exit_threshold
        ));
    }
    if let Err(rule) = v.embedding_dtype.parse::<EmbeddingDtype>() {
        problems.push(format!("vision.embedding_dtype: {rule}"));
    }
    if !(16..=4096).contains(&v.snapshot_max_side) {
        problems.push(format!(
            "vision.snapshot_max_side: must be in 16..=4096, got {}",
            v.snapshot_max_side
        ));
    }
    if v.max_image_megapixels == 0 || v.max_image_megapixels > 1000 {
        problems.push(format!(
            "vision.max_image_megapixels: must be in 1..=1000, got {}",
            v.max_image_megapixels
        ));
    }
    match (&v.clip, is_clip) {
        (None, true) => problems.push(
            "vision.clip: required when vision.model = \"clip\" (the ONNX paths and labels)".into(),
        ),
        (Some(c), _) => check_clip(c, problems),
        (None, false) => {}
    }
    let mut names = std::collections::HashSet::new();
    for (i, camera) in cameras.iter().enumerate() {
        check_camera(&format!("camera[{i}]"), camera, problems);
        if !names.insert(camera.name().to_string()) {
            problems.push(format!(
                "camera[{i}].name: {:?} is used by another camera",
                camera.name()
            ));
        }
    }
}

fn check_clip(c: &ClipConfig, problems: &mut Vec<String>) {
    match (&c.model, &c.vision_model, &c.text_model) {
        (Some(_), None, None) | (None, Some(_), Some(_)) => {}
        _ => problems.push(
            "vision.clip: give either `model` (one combined graph) or both `vision_model` and \
             `text_model`"
                .into(),
        ),
    }
    if c.labels.is_empty() || c.labels.iter().any(|l| l.trim().is_empty()) {
        problems.push("vision.clip.labels: must list at least one non-empty label".into());
    }
    if let Some(templates) = &c.templates {
        if templates.is_empty() {
            problems.push(
                "vision.clip.templates: must not be empty (leave it out for the defaults)".into(),
            );
        }
        for t in templates {
            if t.matches("{}").count() != 1 {
                problems.push(format!(
                    "vision.clip.templates: each template must contain exactly one {{}}, got {t:?}"
                ));
            }
        }
    }
    if !(c.logit_scale.is_finite() && c.logit_scale > 0.0 && c.logit_scale <= 1000.0) {
        problems.push(format!(
            "vision.clip.logit_scale: must be in (0, 1000], got {}",
            c.logit_scale
        ));
    }
}

fn check_camera(key: &str, c: &CameraConfig, problems: &mut Vec<String>) {
    if !CAMERA_KINDS.contains(&c.kind.as_str()) {
        problems.push(format!(
            "{key}.kind: must be one of {}, got {:?}",
            CAMERA_KINDS.join(", "),
            c.kind
        ));
        return;
    }
    if !super::validate::is_topic_safe(c.name()) {
        problems.push(format!(
            "{key}.name: must be 1-64 letters, digits, '-' or '_', got {:?}",
            c.name()
        ));
    }
    if c.watch && c.looping {
        problems.push(format!(
            "{key}: `watch` and `loop` cannot both be true (a watched directory keeps growing)"
        ));
    }
    if matches!(c.kind.as_str(), "images" | "y4m") && c.path.is_none() {
        problems.push(format!("{key}.path: required for kind = {:?}", c.kind));
    }
    for (field, value) in [("width", c.width), ("height", c.height)] {
        if let Some(v) = value
            && !(16..=8192).contains(&v)
        {
            problems.push(format!("{key}.{field}: must be in 16..=8192, got {v}"));
        }
    }
    if let Some(fps) = c.fps
        && !(fps.is_finite() && fps > 0.0 && fps <= 240.0)
    {
        problems.push(format!("{key}.fps: must be in (0, 240], got {fps}"));
    }
    if let Some(format) = &c.format
        && !matches!(format.as_str(), "mjpeg" | "yuyv")
    {
        problems.push(format!(
            "{key}.format: must be \"mjpeg\" or \"yuyv\", got {format:?}"
        ));
    }
    if !(c.max_fps.is_finite() && (0.0..=240.0).contains(&c.max_fps)) {
        problems.push(format!(
            "{key}.max_fps: must be in [0, 240] (0: no limit), got {}",
            c.max_fps
        ));
    }
    if !(0.0..=1.0).contains(&c.motion_threshold) {
        problems.push(format!(
            "{key}.motion_threshold: must be in [0, 1], got {}",
            c.motion_threshold
        ));
    }
    let unused = |field: &str, set: bool, kinds: &[&str]| {
        (set && !kinds.contains(&c.kind.as_str()))
            .then(|| format!("{key}.{field}: not used by kind = {:?}", c.kind))
    };
    problems.extend(
        [
            unused("format", c.format.is_some(), &["camera"]),
            unused("watch", c.watch, &["images"]),
            unused("loop", c.looping, &["images", "y4m"]),
            unused("width", c.width.is_some(), &["camera", "synthetic"]),
            unused("height", c.height.is_some(), &["camera", "synthetic"]),
            unused("path", c.path.is_some(), &["camera", "images", "y4m"]),
            unused("fps", c.fps.is_some(), &["camera", "images", "synthetic"]),
        ]
        .into_iter()
        .flatten(),
    );
}

mod defaults {
    pub fn model() -> String {
        "efficientnet-lite0".into()
    }
    pub fn top_k() -> usize {
        5
    }
    pub fn enter_threshold() -> f32 {
        0.5
    }
    pub fn exit_threshold() -> f32 {
        0.3
    }
    pub fn min_dwell_ms() -> u64 {
        3000
    }
    pub fn caption_top_k() -> usize {
        2
    }
    pub fn caption_min_probability() -> f32 {
        0.05
    }
    pub fn embedding_interval_ms() -> u64 {
        10_000
    }
    pub fn embedding_dtype() -> String {
        "f16".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn snapshot_max_side() -> u32 {
        320
    }
    pub fn max_image_megapixels() -> u32 {
        40
    }
    pub fn clip_name() -> String {
        "clip".into()
    }
    pub fn logit_scale() -> f32 {
        100.0
    }
    pub fn max_fps() -> f32 {
        2.0
    }
    pub fn motion_threshold() -> f32 {
        0.02
    }
}
