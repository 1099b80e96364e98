//! The vision stage: for each frame that passed its source's frame policy, run the model and
//! publish what changed: label events (with hysteresis), captions, rate-limited embeddings and
//! optional snapshots. One instance serves every camera; state is kept per source.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use percept_dsp::RgbImage;
use percept_models::vision::{ImageAnalysis, l2_normalized};

use super::caption::{Caption, CaptionPolicy, caption_for};
use super::embedding::{EmbeddingDtype, EmbeddingEnvelope, EmbeddingLimiter, encode_vector};
use super::events::{FrameNotAnalysed, MessageNotQueued};
use super::labels::{LabelChange, LabelPolicy, LabelTracker};
use super::payload::{CaptionMessage, LabelsMessage, labels_json};
use super::snapshot::snapshot_jpeg;
use crate::health::{Counter, Metrics};
use crate::publish::{CameraTopic, Message, MessageKind, Publisher, Qos, Topics};
use crate::time_format::rfc3339_millis;
use percept_models::vision::ImageModel;

/// What the stage publishes and where.
#[derive(Debug, Clone)]
pub struct StageSettings {
    /// Where the camera topics go.
    pub topics: Topics,
    /// What it publishes and how often (`[vision]`).
    pub policy: StagePolicy,
}

/// What the stage publishes and how often: the checked `[vision]` publishing rules.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePolicy {
    /// Label hysteresis.
    pub labels: LabelPolicy,
    /// Caption making.
    pub caption: CaptionPolicy,
    /// Minimum time between embeddings of one source; zero: every frame.
    pub embedding_interval: Duration,
    /// Embedding value type.
    pub embedding_dtype: EmbeddingDtype,
    /// Normalise embeddings before sending.
    pub embedding_l2_normalize: bool,
    /// Thumbnail longest side when snapshots are on.
    pub snapshot_max_side: Option<u32>,
}

/// One analysed frame, as the stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo<'a> {
    /// The camera source's name.
    pub source: &'a str,
    /// Sequence number within the source.
    pub seq: u64,
    /// Capture time.
    pub captured_at: std::time::SystemTime,
    /// The pixels.
    pub image: &'a RgbImage,
}

struct SourceState {
    tracker: LabelTracker,
    caption: Option<String>,
    embeddings: EmbeddingLimiter,
}

/// The model plus per-source publishing state.
pub struct VisionStage {
    image_model: ImageModel,
    publisher: Arc<dyn Publisher>,
    settings: StageSettings,
    metrics: Arc<Metrics>,
    sources: HashMap<String, SourceState>,
}

impl VisionStage {
    /// A stage with no per-source state yet.
    pub fn new(
        image_model: ImageModel,
        publisher: Arc<dyn Publisher>,
        settings: StageSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            image_model,
            publisher,
            settings,
            metrics,
            sources: HashMap::new(),
        }
    }

    /// Analyses one frame and publishes what changed. A model error is logged and counted;
    /// the next frame is tried as usual.
    pub fn handle(&mut self, frame: FrameInfo<'_>) {
        let started = Instant::now();
        let analysis = match self.image_model.analyze(frame.image) {
            Ok(a) => {
                self.metrics
                    .histograms()
                    .frame_analysis(frame.source, started.elapsed());
                a
            }
            Err(e) => {
                // anyhow's `{:#}` prints the causes the model error keeps as sources.
                let error = anyhow::Error::new(e);
                FrameNotAnalysed {
                    source: frame.source,
                    seq: frame.seq,
                    error: &error,
                }
                .emit(&self.metrics);
                return;
            }
        };
        self.metrics.add(Counter::FramesAnalyzed, 1);
        let now = Instant::now();
        let policy = self.settings.policy.labels;
        let interval = self.settings.policy.embedding_interval;
        let state = self
            .sources
            .entry(frame.source.to_string())
            .or_insert_with(|| SourceState {
                tracker: LabelTracker::new(policy),
                caption: None,
                embeddings: EmbeddingLimiter::new(interval),
            });
        let change = state.tracker.update(&analysis.labels, now);
        let caption = caption_for(&analysis.labels, self.settings.policy.caption)
            .filter(|c| state.caption.as_deref() != Some(c.text.as_str()));
        if let Some(c) = &caption {
            state.caption = Some(c.text.clone());
        }
        let embedding_due = state.embeddings.due(now);
        if let Some(change) = &change {
            self.publish_labels(frame, &analysis, change);
        }
        if let Some(caption) = caption {
            self.publish_caption(frame, caption);
        }
        if embedding_due {
            self.publish_embedding(frame, &analysis);
        }
    }

    fn topic(&self, source: &str, topic: CameraTopic) -> String {
        self.settings.topics.camera(source, topic)
    }

    fn publish_labels(&self, frame: FrameInfo<'_>, analysis: &ImageAnalysis, change: &LabelChange) {
        let message = LabelsMessage {
            source: frame.source.to_string(),
            model: self.image_model.name().to_string(),
            synthetic: self.image_model.synthetic(),
            labels: labels_json(&change.present),
            entered: change.entered.iter().map(|l| l.to_string()).collect(),
            exited: change.exited.iter().map(|l| l.to_string()).collect(),
            top: labels_json(&analysis.labels),
            timestamp: rfc3339_millis(frame.captured_at),
            frame_seq: frame.seq,
        };
        tracing::info!(
            source = frame.source,
            entered = ?message.entered,
            exited = ?message.exited,
            "labels changed"
        );
        self.send(
            self.topic(frame.source, CameraTopic::Labels),
            json(&message),
            Qos::AtLeastOnce,
            true,
            MessageKind::Labels,
        );
        if let Some(max_side) = self.settings.policy.snapshot_max_side {
            match snapshot_jpeg(frame.image, max_side) {
                Ok(jpeg) => self.send(
                    self.topic(frame.source, CameraTopic::Snapshot),
                    jpeg,
                    Qos::AtMostOnce,
                    false,
                    MessageKind::Snapshot,
                ),
                Err(e) => tracing::warn!(source = frame.source, "snapshot not made: {e}"),
            }
        }
    }

    fn publish_caption(&self, frame: FrameInfo<'_>, caption: Caption) {
        let message = CaptionMessage {
            source: frame.source.to_string(),
            model: self.image_model.name().to_string(),
            synthetic: self.image_model.synthetic(),
            caption: caption.text,
            labels: labels_json(&caption.labels),
            timestamp: rfc3339_millis(frame.captured_at),
            frame_seq: frame.seq,
        };
        self.send(
            self.topic(frame.source, CameraTopic::Caption),
            json(&message),
            Qos::AtLeastOnce,
            true,
            MessageKind::Labels,
        );
    }

    fn publish_embedding(&self, frame: FrameInfo<'_>, analysis: &ImageAnalysis) {
        let values = if self.settings.policy.embedding_l2_normalize {
            l2_normalized(&analysis.embedding)
        } else {
            analysis.embedding.clone()
        };
        let envelope = EmbeddingEnvelope {
            model: self.image_model.name().to_string(),
            synthetic: self.image_model.synthetic(),
            dim: values.len(),
            dtype: self.settings.policy.embedding_dtype,
            l2_normalized: self.settings.policy.embedding_l2_normalize,
            data: encode_vector(&values, self.settings.policy.embedding_dtype),
            timestamp: rfc3339_millis(frame.captured_at),
            source: frame.source.to_string(),
            frame_seq: frame.seq,
        };
        self.send(
            self.topic(frame.source, CameraTopic::Embedding),
            json(&envelope),
            Qos::AtMostOnce,
            false,
            MessageKind::Embedding,
        );
    }

    fn send(&self, topic: String, payload: Vec<u8>, qos: Qos, retain: bool, kind: MessageKind) {
        let message = Message {
            topic,
            payload,
            qos,
            retain,
            kind,
        };
        if let Err(error) = self.publisher.try_publish(message) {
            MessageNotQueued { error: &error }.emit(&self.metrics);
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("vision payloads are plain structs of strings and numbers")
}
