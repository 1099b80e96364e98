//! What the inference worker reports, as small structs whose `emit` logs and counts in one call.

use std::fmt::Display;

use crate::health::{Counter, Metrics};

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

/// A final transcript is about to be published.
pub(crate) struct FinalTranscript<'a> {
    pub(crate) latency_ms: u64,
    pub(crate) text: &'a str,
}

impl FinalTranscript<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::info!(latency_ms = self.latency_ms, text = %self.text, "final transcript");
        metrics.incr(Counter::UtterancesFinal);
    }
}
