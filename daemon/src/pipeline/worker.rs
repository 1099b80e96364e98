//! The inference worker: one thread that takes jobs (finals first), transcribes them, applies
//! the hallucination guards and publishes the JSON messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percept_models::whisper::{
    TranscribeOptions, Transcriber, Transcript, collapse_repeated_ngrams,
};

use super::clock::{rfc3339_millis, samples_to_secs};
use super::job::Job;
use super::payload::{SegmentMessage, TranscriptMessage};
use super::queue::{Closed, JobQueue};
use crate::health::{Counter, Metrics};
use crate::publish::{Message, MessageKind, PublishError, Publisher, Qos};

/// What the worker needs besides the model.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Model name for the payload.
    pub model_name: String,
    /// Options for finals (temperature fallback included).
    pub final_options: TranscribeOptions,
    /// Options for partials (greedy only: a partial is cheap or skipped).
    pub partial_options: TranscribeOptions,
    /// Finals below this average log-probability are suppressed.
    pub logprob_threshold: f32,
    /// Finals above this compression ratio are suppressed.
    pub compression_ratio_threshold: f32,
    /// Repeats of a phrase kept by the n-gram guard.
    pub max_ngram_repeats: usize,
    /// `{prefix}/{device}`: the topic root.
    pub topic_root: String,
    /// QoS of finals.
    pub qos_final: Qos,
    /// QoS of partials.
    pub qos_partial: Qos,
}

/// The transcript topic of a source (`/partial` appended for partials).
pub fn transcript_topic(topic_root: &str, source: &str, is_final: bool) -> String {
    let base = format!("{topic_root}/audio/{source}/transcript");
    if is_final { base } else { base + "/partial" }
}

/// Starts the worker thread; it returns once the queue is closed and drained.
pub fn spawn_worker(
    transcriber: Transcriber,
    queue: Arc<JobQueue>,
    publisher: Arc<dyn Publisher>,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || {
            let mut worker = Worker {
                transcriber,
                publisher,
                settings,
                metrics,
                revisions: HashMap::new(),
            };
            loop {
                match queue.pop(Duration::from_millis(200)) {
                    Ok(Some(job)) => worker.handle(job),
                    Ok(None) => {}
                    Err(Closed) => break,
                }
            }
        })
}

struct Worker {
    transcriber: Transcriber,
    publisher: Arc<dyn Publisher>,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    /// Next revision per open utterance (removed at its final).
    revisions: HashMap<Arc<str>, u32>,
}

impl Worker {
    fn handle(&mut self, job: Job) {
        let span = tracing::info_span!("decode", source = %job.source, utterance = %job.utterance_id, is_final = job.is_final);
        let _guard = span.enter();
        let options = if job.is_final {
            &self.settings.final_options
        } else {
            &self.settings.partial_options
        };
        let started = Instant::now();
        let result = self.transcriber.transcribe(&job.audio, options);
        tracing::debug!(
            audio_ms = job.audio.len() / 16,
            infer_ms = started.elapsed().as_millis() as u64,
            "transcribed"
        );
        let transcript = match result {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "transcription failed; utterance dropped");
                if job.is_final {
                    self.metrics.incr(Counter::FinalsSuppressed);
                    self.revisions.remove(&job.utterance_id);
                }
                return;
            }
        };
        let (text, _) =
            collapse_repeated_ngrams(&transcript.text(), self.settings.max_ngram_repeats);
        let suppressed = self.suppression(&transcript, &text);
        let published_before = self.revisions.contains_key(&job.utterance_id);
        if !job.is_final {
            if suppressed.is_none() {
                self.publish(&job, &transcript, text, None);
            }
            return;
        }
        match suppressed {
            Some(reason) if !published_before => {
                tracing::info!(reason, "final suppressed by the guards");
                self.metrics.incr(Counter::FinalsSuppressed);
            }
            Some(reason) => self.publish(&job, &transcript, String::new(), Some(reason)),
            None => self.publish(&job, &transcript, text, None),
        }
        self.revisions.remove(&job.utterance_id);
    }

    /// Why a transcript must not be published as text, if it must not.
    fn suppression(&self, transcript: &Transcript, text: &str) -> Option<&'static str> {
        let Some(first) = transcript.segments.first() else {
            return Some("no_speech");
        };
        if text.chars().all(|c| !c.is_alphanumeric()) {
            return Some("no_speech");
        }
        if first.avg_logprob < self.settings.logprob_threshold {
            return Some("low_confidence");
        }
        if first.compression_ratio > self.settings.compression_ratio_threshold {
            return Some("repetitive");
        }
        None
    }

    fn publish(
        &mut self,
        job: &Job,
        transcript: &Transcript,
        text: String,
        suppressed: Option<&'static str>,
    ) {
        let revision = self.revisions.entry(job.utterance_id.clone()).or_insert(0);
        let this_revision = *revision;
        *revision += 1;
        let offset = samples_to_secs(job.start_offset);
        let first = transcript.segments.first();
        let message = TranscriptMessage {
            utterance_id: job.utterance_id.to_string(),
            revision: this_revision,
            is_final: job.is_final,
            text,
            segments: if suppressed.is_some() {
                Vec::new()
            } else {
                transcript
                    .segments
                    .iter()
                    .map(|s| SegmentMessage {
                        start_s: round_ms(offset + f64::from(s.start)),
                        end_s: round_ms(offset + f64::from(s.end)),
                        text: s.text.trim().to_string(),
                    })
                    .collect()
            },
            language: transcript.language.clone().unwrap_or_else(|| "en".into()),
            avg_logprob: first.map_or(0.0, |s| s.avg_logprob),
            no_speech_prob: first.map_or(1.0, |s| s.no_speech_prob),
            model: self.settings.model_name.clone(),
            source: job.source.to_string(),
            start: rfc3339_millis(job.start_wall),
            end: rfc3339_millis(job.end_wall),
            start_offset_s: round_ms(offset),
            end_offset_s: round_ms(samples_to_secs(job.end_offset)),
            latency_ms: Instant::now()
                .saturating_duration_since(job.speech_end)
                .as_millis() as u64,
            dropped_audio_ms: job.dropped_audio_ms,
            suppressed,
        };
        let payload = match serde_json::to_vec(&message) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a transcript");
                return;
            }
        };
        let (qos, kind) = if job.is_final {
            (self.settings.qos_final, MessageKind::Final)
        } else {
            (self.settings.qos_partial, MessageKind::Partial)
        };
        let msg = Message {
            topic: transcript_topic(&self.settings.topic_root, &job.source, job.is_final),
            payload,
            qos,
            retain: false,
            kind,
        };
        if job.is_final {
            tracing::info!(latency_ms = message.latency_ms, text = %message.text, "final transcript");
            self.metrics.incr(Counter::UtterancesFinal);
            publish_blocking(self.publisher.as_ref(), msg);
        } else {
            tracing::debug!(revision = this_revision, text = %message.text, "partial transcript");
            match self.publisher.try_publish(msg) {
                Ok(()) => self.metrics.incr(Counter::PartialsPublished),
                Err(_) => self.metrics.incr(Counter::PartialsSkipped),
            }
        }
    }
}

/// Hands a final to the publisher, waiting while its queue is full: finals are never skipped.
fn publish_blocking(publisher: &dyn Publisher, mut msg: Message) {
    loop {
        match publisher.try_publish(msg) {
            Ok(()) => return,
            Err(PublishError::Full(back)) => {
                msg = back;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(PublishError::Closed(back)) => {
                tracing::error!(topic = %back.topic, "publisher closed; final not sent");
                return;
            }
            Err(other) => {
                tracing::error!(error = %other, "final rejected by the publisher");
                return;
            }
        }
    }
}

/// Rounds seconds to milliseconds for readable JSON.
fn round_ms(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}
