//! `[vision]` compiled: the model to load and what the vision stage publishes.

use std::path::Path;
use std::time::Duration;

use percept_dsp::image::DecodeLimits;
use percept_models::clip::{ClipFiles, DEFAULT_VOCAB, default_templates};
use percept_models::registry::ModelFamily;
use percept_models::vision::{ClipSettings, VisionModel, VisionSettings};

use super::vision::{ClipConfig, VisionConfig};
use crate::vision::StagePolicy;
use crate::vision::caption::CaptionPolicy;
use crate::vision::embedding::EmbeddingDtype;
use crate::vision::labels::LabelPolicy;

/// The `[vision] model` name that selects the configured CLIP export.
pub const CLIP_MODEL: &str = "clip";

/// The checked `[vision]` section (used when a `[[camera]]` exists).
#[derive(Debug, Clone, PartialEq)]
pub struct VisionPlan {
    /// The model and how many labels it keeps.
    pub model: VisionSettings,
    /// What the vision stage publishes and how often.
    pub stage: StagePolicy,
    /// The largest image a file source may decode (`max_image_megapixels`).
    pub decode_limits: DecodeLimits,
}

impl VisionConfig {
    /// Checks every rule, pushing `vision.…: rule` lines onto `problems`; the plan when they
    /// pass. The CLIP vocabulary defaults to its place in `models_dir`.
    pub fn compile(&self, models_dir: &Path, problems: &mut Vec<String>) -> Option<VisionPlan> {
        let before = problems.len();
        let v = self;
        let is_clip = v.model == CLIP_MODEL;
        let known = percept_models::registry::known_model(&v.model)
            .is_some_and(|m| m.family == ModelFamily::ImageNet);
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
        let dtype = v
            .embedding_dtype
            .parse::<EmbeddingDtype>()
            .map_err(|rule| problems.push(format!("vision.embedding_dtype: {rule}")))
            .ok();
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
        let clip = match (&v.clip, is_clip) {
            (None, true) => {
                problems.push(
                    "vision.clip: required when vision.model = \"clip\" (the ONNX paths and labels)"
                        .into(),
                );
                None
            }
            (Some(c), _) => c.compile(models_dir, problems),
            (None, false) => None,
        };
        if problems.len() != before {
            return None;
        }
        let model = match clip {
            Some(clip) if is_clip => VisionModel::Clip(clip),
            _ => VisionModel::ImageNet(v.model.clone()),
        };
        Some(VisionPlan {
            model: VisionSettings {
                model,
                top_k: v.top_k,
            },
            stage: StagePolicy {
                labels: LabelPolicy {
                    enter_threshold: v.enter_threshold,
                    exit_threshold: v.exit_threshold,
                    min_dwell: Duration::from_millis(v.min_dwell_ms),
                },
                caption: CaptionPolicy {
                    top_k: v.caption_top_k,
                    min_probability: v.caption_min_probability,
                },
                embedding_interval: Duration::from_millis(v.embedding_interval_ms),
                embedding_dtype: dtype?,
                embedding_l2_normalize: v.embedding_l2_normalize,
                snapshot_max_side: v.snapshot.then_some(v.snapshot_max_side),
            },
            decode_limits: DecodeLimits {
                max_pixels: v.max_image_megapixels as usize * 1_000_000,
                ..DecodeLimits::default()
            },
        })
    }
}

impl ClipConfig {
    /// Checks `[vision.clip]`, pushing `vision.clip…: rule` lines onto `problems`; the settings
    /// when they pass.
    fn compile(&self, models_dir: &Path, problems: &mut Vec<String>) -> Option<ClipSettings> {
        let before = problems.len();
        let c = self;
        let files = match (&c.model, &c.vision_model, &c.text_model) {
            (Some(model), None, None) => Some(ClipFiles::Combined(model.clone())),
            (None, Some(vision), Some(text)) => Some(ClipFiles::Separate {
                vision: vision.clone(),
                text: text.clone(),
            }),
            _ => {
                problems.push(
                    "vision.clip: give either `model` (one combined graph) or both `vision_model` \
                     and `text_model`"
                        .into(),
                );
                None
            }
        };
        if c.labels.is_empty() || c.labels.iter().any(|l| l.trim().is_empty()) {
            problems.push("vision.clip.labels: must list at least one non-empty label".into());
        }
        if let Some(templates) = &c.templates {
            if templates.is_empty() {
                problems.push(
                    "vision.clip.templates: must not be empty (leave it out for the defaults)"
                        .into(),
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
        let files = files.filter(|_| problems.len() == before)?;
        Some(ClipSettings {
            name: c.name.clone(),
            files,
            vocab: c
                .vocab
                .clone()
                .unwrap_or_else(|| models_dir.join(DEFAULT_VOCAB)),
            labels: c.labels.clone(),
            templates: c.templates.clone().unwrap_or_else(default_templates),
            logit_scale: c.logit_scale,
        })
    }
}
