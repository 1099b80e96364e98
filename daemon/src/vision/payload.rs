//! The JSON of `.../labels` and `.../caption` (documented in docs/mqtt.md).

use serde::Serialize;

use percept_models::vision::LabelScore;

/// A label with its probability, as published.
#[derive(Debug, Clone, Serialize)]
pub struct LabelJson {
    /// The label.
    pub label: String,
    /// Its probability in [0, 1], rounded to 4 decimals.
    pub probability: f32,
}

impl From<&LabelScore> for LabelJson {
    fn from(s: &LabelScore) -> Self {
        Self {
            label: s.label.to_string(),
            probability: (s.probability * 1e4).round() / 1e4,
        }
    }
}

/// A list of published labels.
pub fn labels_json(scores: &[LabelScore]) -> Vec<LabelJson> {
    scores.iter().map(LabelJson::from).collect()
}

/// `{prefix}/{device}/camera/{source}/labels`: the set of present labels changed.
#[derive(Debug, Clone, Serialize)]
pub struct LabelsMessage {
    /// The camera source.
    pub source: String,
    /// The model's name.
    pub model: String,
    /// True when the model has synthetic (random, untrained) weights.
    pub synthetic: bool,
    /// Every label present after this frame, most probable first.
    pub labels: Vec<LabelJson>,
    /// Labels that entered with this frame.
    pub entered: Vec<String>,
    /// Labels that left with this frame.
    pub exited: Vec<String>,
    /// This frame's top labels, present or not.
    pub top: Vec<LabelJson>,
    /// Capture time of the frame, RFC 3339 UTC.
    pub timestamp: String,
    /// The frame's sequence number within its source.
    pub frame_seq: u64,
}

/// `{prefix}/{device}/camera/{source}/caption`: the caption changed.
#[derive(Debug, Clone, Serialize)]
pub struct CaptionMessage {
    /// The camera source.
    pub source: String,
    /// The model's name.
    pub model: String,
    /// True when the model has synthetic (random, untrained) weights.
    pub synthetic: bool,
    /// The caption, e.g. "suit, Windsor tie".
    pub caption: String,
    /// The labels it was made from.
    pub labels: Vec<LabelJson>,
    /// Capture time of the frame, RFC 3339 UTC.
    pub timestamp: String,
    /// The frame's sequence number within its source.
    pub frame_seq: u64,
}
