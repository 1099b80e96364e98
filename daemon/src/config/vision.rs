//! `[vision]` and `[vision.clip]`: the image model and what is published from it, as written.

use std::path::PathBuf;

use serde::Deserialize;

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

/// Default values, one function per field (serde needs functions).
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
}
