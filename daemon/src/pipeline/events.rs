//! What the inference worker reports, as small structs whose `emit` logs and counts in one call.

use std::fmt::Display;
use std::time::Duration;

use percept_dsp::rate::samples_to_ms;

use crate::health::{Counter, InferenceKind, Metrics};

/// A final is published from the transcript of its early final.
pub(crate) struct FinalFromEarly;

impl FinalFromEarly {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::debug!("final transcribed early");
        metrics.incr(Counter::FinalsEarly);
    }
}

/// A partial gave way to a waiting final.
pub(crate) struct PartialStopped;

impl PartialStopped {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::debug!("partial stopped: a final is waiting");
        metrics.incr(Counter::PartialsSkipped);
    }
}

/// Transcription failed; the utterance is dropped (a final counts as suppressed).
pub(crate) struct TranscriptionFailed<'a> {
    pub(crate) error: &'a dyn Display,
    pub(crate) is_final: bool,
}

impl TranscriptionFailed<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::error!(error = %self.error, "transcription failed; utterance dropped");
        if self.is_final {
            metrics.incr(Counter::FinalsSuppressed);
        }
    }
}

/// The guards found no speech in an utterance that published nothing yet: no final.
pub(crate) struct FinalWithheld {
    pub(crate) vad_speech_prob: f32,
}

impl FinalWithheld {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::info!(
            vad_speech_prob = self.vad_speech_prob,
            "no speech: final withheld"
        );
        metrics.incr(Counter::FinalsSuppressed);
    }
}

/// An early final stopped: speech resumed, or another utterance's final is waiting.
pub(crate) struct EarlyFinalStopped;

impl EarlyFinalStopped {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::debug!("early final stopped");
        metrics.incr(Counter::EarlyFinalsDropped);
    }
}

/// A final transcript is about to be published, `latency` after its speech ended.
pub(crate) struct FinalTranscript<'a> {
    pub(crate) source: &'a str,
    pub(crate) latency: Duration,
    pub(crate) text: &'a str,
}

impl FinalTranscript<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        let latency_ms = self.latency.as_millis() as u64;
        tracing::info!(latency_ms, text = %self.text, "final transcript");
        metrics.incr(Counter::UtterancesFinal);
        metrics
            .histograms()
            .final_latency(self.source, self.latency);
    }
}

/// A job was transcribed (to its end) in `took`.
pub(crate) struct Transcribed {
    pub(crate) kind: InferenceKind,
    pub(crate) audio_samples: u64,
    pub(crate) took: Duration,
}

impl Transcribed {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::debug!(
            kind = self.kind.as_str(),
            audio_ms = samples_to_ms(self.audio_samples),
            infer_ms = self.took.as_millis() as u64,
            "transcribed"
        );
        metrics.histograms().inference(self.kind, self.took);
    }
}
