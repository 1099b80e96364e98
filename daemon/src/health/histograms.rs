//! The latency histograms behind `/metrics` (prometheus-client's, whose handles are cheap to
//! share): end of speech to final, inference time per job, frame analysis time. Observed once
//! per final, job or frame, never per sample.

use std::time::Duration;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the end-of-speech → final buckets, seconds (the streamed tests' p95 is ~1 s).
const FINAL_LATENCY_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// Upper bounds of the inference-time buckets, seconds (a partial takes tens of ms, a final of a
/// full window through every temperature about a minute on base).
const INFERENCE_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0,
];
/// Upper bounds of the frame-analysis buckets, seconds.
const FRAME_ANALYSIS_BUCKETS: [f64; 11] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// A `{source}` or `{camera}` label: a configured name, so the set stays bounded.
type NameLabel = [(&'static str, String); 1];
/// The `{kind}` label of inference jobs.
type KindLabel = [(&'static str, &'static str); 1];
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// What an inference job transcribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceKind {
    /// A final (not one published from its early final, which costs nothing).
    Final,
    /// A partial that ran to its end.
    Partial,
    /// An early final, transcribed during the pause.
    Early,
}

impl InferenceKind {
    /// Every kind.
    pub const ALL: [InferenceKind; 3] = [Self::Final, Self::Partial, Self::Early];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Final => "final",
            Self::Partial => "partial",
            Self::Early => "early",
        }
    }
}

/// The histograms; one instance lives in [`super::Metrics`].
#[derive(Debug)]
pub struct LatencyHistograms {
    final_latency: Histograms<NameLabel>,
    inference: Histograms<KindLabel>,
    frame_analysis: Histograms<NameLabel>,
}

impl Default for LatencyHistograms {
    fn default() -> Self {
        Self {
            final_latency: Family::new_with_constructor(|| Histogram::new(FINAL_LATENCY_BUCKETS)),
            inference: Family::new_with_constructor(|| Histogram::new(INFERENCE_BUCKETS)),
            frame_analysis: Family::new_with_constructor(|| Histogram::new(FRAME_ANALYSIS_BUCKETS)),
        }
    }
}

impl LatencyHistograms {
    /// Creates every series that will exist (each source, camera and job kind) at zero, so a
    /// scrape before the first final already shows them.
    pub fn prepare<'a>(
        &self,
        sources: impl IntoIterator<Item = &'a str>,
        cameras: impl IntoIterator<Item = &'a str>,
    ) {
        for source in sources {
            drop(
                self.final_latency
                    .get_or_create(&[("source", source.to_owned())]),
            );
        }
        for kind in InferenceKind::ALL {
            drop(self.inference.get_or_create(&[("kind", kind.as_str())]));
        }
        for camera in cameras {
            drop(
                self.frame_analysis
                    .get_or_create(&[("camera", camera.to_owned())]),
            );
        }
    }

    /// A final of `source` was handed to the publisher `latency` after its speech ended.
    pub fn final_latency(&self, source: &str, latency: Duration) {
        self.final_latency
            .get_or_create(&[("source", source.to_owned())])
            .observe(latency.as_secs_f64());
    }

    /// An inference job of `kind` took `took`.
    pub fn inference(&self, kind: InferenceKind, took: Duration) {
        self.inference
            .get_or_create(&[("kind", kind.as_str())])
            .observe(took.as_secs_f64());
    }

    /// The image model took `took` on a frame of `camera`.
    pub fn frame_analysis(&self, camera: &str, took: Duration) {
        self.frame_analysis
            .get_or_create(&[("camera", camera.to_owned())])
            .observe(took.as_secs_f64());
    }

    /// Registers the three histograms (sharing their state) under `registry`'s prefix.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "final_latency_seconds",
            "Time from the end of speech to the final transcript handed to the publisher",
            self.final_latency.clone(),
        );
        registry.register(
            "inference_seconds",
            "Time to transcribe one job (final, partial or early final)",
            self.inference.clone(),
        );
        registry.register(
            "frame_analysis_seconds",
            "Time the image model took on one frame",
            self.frame_analysis.clone(),
        );
    }
}
