//! Zero-shot labels with CLIP: each label is written into every prompt template, the text
//! embeddings are normalised and averaged (prompt ensembling) and normalised again; an image's
//! label probabilities are `softmax(logit_scale × cosine(image, label))`.
//!
//! Text embeddings are cached per prompt, so changing the labels embeds only the new prompts.

use std::collections::HashMap;
use std::sync::Arc;

use super::ClipError;
use super::model::ClipModel;
use super::tokenizer::ClipTokenizer;
use crate::vision::{LabelScore, l2_normalized, softmax, top_k};

/// CLIP's trained logit scale (exp(4.6052)): the factor on cosine similarities.
pub const DEFAULT_LOGIT_SCALE: f32 = 100.0;

/// [`DEFAULT_TEMPLATES`] as owned strings (what [`ZeroShot::set_labels`] takes).
pub fn default_templates() -> Vec<String> {
    DEFAULT_TEMPLATES.iter().map(|t| t.to_string()).collect()
}

/// Prompt templates used when none are configured: a few of CLIP's ImageNet templates.
pub const DEFAULT_TEMPLATES: &[&str] = &[
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a dark photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
];

/// Labels, their ensembled text embeddings, and the prompt cache.
#[derive(Debug, Default)]
pub struct ZeroShot {
    labels: Vec<Arc<str>>,
    templates: Vec<String>,
    label_embeddings: Vec<Vec<f32>>,
    prompt_cache: HashMap<String, Vec<f32>>,
    logit_scale: f32,
}

impl ZeroShot {
    /// An empty classifier with this logit scale (use [`ZeroShot::set_labels`]).
    pub fn new(logit_scale: f32) -> Self {
        Self {
            logit_scale,
            ..Self::default()
        }
    }

    /// Sets the labels and templates (each template holds one `{}`). Embeds the prompts that
    /// are not cached yet; returns whether anything changed.
    pub fn set_labels(
        &mut self,
        model: &ClipModel,
        tokenizer: &ClipTokenizer,
        labels: &[String],
        templates: &[String],
    ) -> Result<bool, ClipError> {
        if labels.is_empty() {
            return Err(ClipError::NoLabels);
        }
        if let Some(t) = templates.iter().find(|t| t.matches("{}").count() != 1) {
            return Err(ClipError::BadTemplate(t.clone()));
        }
        let same_labels = self
            .labels
            .iter()
            .map(|l| &**l)
            .eq(labels.iter().map(String::as_str));
        if same_labels && self.templates == templates {
            return Ok(false);
        }
        let mut label_embeddings = Vec::with_capacity(labels.len());
        for label in labels {
            let mut sum = vec![0.0f32; model.dim()];
            for template in templates {
                let prompt = template.replace("{}", label);
                let embedding = match self.prompt_cache.get(&prompt) {
                    Some(e) => e.clone(),
                    None => {
                        let e = model.embed_text_normalized(tokenizer, &prompt)?;
                        self.prompt_cache.insert(prompt, e.clone());
                        e
                    }
                };
                sum.iter_mut().zip(&embedding).for_each(|(s, e)| *s += e);
            }
            label_embeddings.push(l2_normalized(&sum));
        }
        self.labels = labels.iter().map(|l| Arc::from(l.as_str())).collect();
        self.templates = templates.to_vec();
        self.label_embeddings = label_embeddings;
        Ok(true)
    }

    /// The labels in order.
    pub fn labels(&self) -> &[Arc<str>] {
        &self.labels
    }

    /// How many distinct prompts have been embedded so far.
    pub fn cached_prompts(&self) -> usize {
        self.prompt_cache.len()
    }

    /// Probabilities of every label for an image embedding (any scale), in label order.
    pub fn probabilities(&self, image_embedding: &[f32]) -> Vec<f32> {
        let image = l2_normalized(image_embedding);
        let logits: Vec<f32> = self
            .label_embeddings
            .iter()
            .map(|t| self.logit_scale * t.iter().zip(&image).map(|(a, b)| a * b).sum::<f32>())
            .collect();
        softmax(&logits)
    }

    /// The `k` most probable labels for an image embedding.
    pub fn top_k(&self, image_embedding: &[f32], k: usize) -> Vec<LabelScore> {
        top_k(&self.labels, &self.probabilities(image_embedding), k)
    }
}
