//! The inference worker: one thread that takes jobs (finals first), transcribes them, applies
//! the hallucination guards and publishes the JSON messages. A partial gives way to a final:
//! it stops at its next decoder step once a final or an early final is queued (counted as a
//! skipped partial).
//! An early final (the audio of a pause the endpointer has not confirmed yet) is transcribed
//! and kept, unpublished; its final then publishes that transcript at once. It stops when
//! speech resumes or another utterance's final is waiting.
//!
//! The guards ([`super::guards`]) decide what is published and how it is marked.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use percept_models::whisper::{
    TranscribeOptions, Transcriber, Transcript, WhisperError, collapse_repeated_ngrams,
};

use super::events::{
    EarlyFinalStopped, FinalFromEarly, FinalTranscript, FinalWithheld, PartialStopped, Transcribed,
    TranscriptionFailed,
};
use super::guards::{Confidence, GuardThresholds, Verdict, judge};
use super::job::Job;
use super::payload::{SegmentMessage, TranscriptMessage};
use super::previous::{ContextLimits, PreviousFinal};
use super::queue::JobQueue;
use crate::health::{Counter, Heartbeat, InferenceKind, Metrics};
use crate::publish::{Message, MessageKind, Publisher, Qos, Topics};
use crate::reload::Mailbox;
use crate::time_format::rfc3339_millis;
use percept_dsp::rate::{samples_to_ms, samples_to_secs};

/// What the worker needs besides the model.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Model name for the payload.
    pub model_name: String,
    /// Options for finals (temperature fallback included).
    pub final_options: TranscribeOptions,
    /// Options for partials (greedy only: a partial is cheap or skipped).
    pub partial_options: TranscribeOptions,
    /// The guards' thresholds.
    pub guards: GuardThresholds,
    /// Repeats of a phrase kept by the n-gram guard.
    pub max_ngram_repeats: usize,
    /// When a final is prompted with, or transcribed after, the previous final.
    pub context: ContextLimits,
    /// Where finals and partials go.
    pub topics: Topics,
    /// QoS of finals.
    pub qos_final: Qos,
    /// QoS of partials.
    pub qos_partial: Qos,
    /// New decoding settings from a config reload, taken before the next job.
    pub updates: Mailbox<Decoding>,
}

/// The decoding settings a config reload can change while the worker runs.
#[derive(Debug, Clone)]
pub struct Decoding {
    /// Options for finals.
    pub final_options: TranscribeOptions,
    /// Options for partials.
    pub partial_options: TranscribeOptions,
    /// The guards' thresholds.
    pub guards: GuardThresholds,
    /// Repeats of a phrase kept by the n-gram guard.
    pub max_ngram_repeats: usize,
    /// When a final is prompted with, or transcribed after, the previous final.
    pub context: ContextLimits,
}

/// Starts the worker thread; it returns once the queue is closed and drained. `heartbeat` is
/// active during each job and waiting while nothing is queued.
pub fn spawn_worker(
    transcriber: Transcriber,
    queue: Arc<JobQueue>,
    publisher: Arc<dyn Publisher>,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    heartbeat: Heartbeat,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || {
            let mut worker = Worker {
                queue: queue.clone(),
                transcriber,
                publisher,
                settings,
                metrics,
                revisions: HashMap::new(),
                previous_finals: HashMap::new(),
                early: HashMap::new(),
            };
            loop {
                heartbeat.waiting();
                let Ok(job) = queue.pop() else { break };
                heartbeat.active();
                worker.handle(job);
            }
            heartbeat.done();
        })
}

struct Worker {
    queue: Arc<JobQueue>,
    transcriber: Transcriber,
    publisher: Arc<dyn Publisher>,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    /// Next revision per open utterance (removed at its final).
    revisions: HashMap<Arc<str>, u32>,
    /// Per source: where its last confident final ended and that final's text tokens.
    previous_finals: HashMap<Arc<str>, PreviousFinal>,
    /// Per source: the transcript of its latest early final, waiting for the final.
    early: HashMap<Arc<str>, EarlyResult>,
}

/// A transcribed early final and the audio it covers.
#[derive(Debug)]
struct EarlyResult {
    utterance_id: Arc<str>,
    start_offset: u64,
    end_offset: u64,
    transcript: Transcript,
}

impl EarlyResult {
    /// Whether `job` (a final) covers exactly this audio.
    fn is_for(&self, job: &Job) -> bool {
        self.utterance_id == job.utterance_id
            && self.start_offset == job.start_offset
            && self.end_offset == job.end_offset
    }
}

impl Worker {
    fn handle(&mut self, job: Job) {
        if let Some(d) = self.settings.updates.take() {
            self.settings.final_options = d.final_options;
            self.settings.partial_options = d.partial_options;
            self.settings.guards = d.guards;
            self.settings.max_ngram_repeats = d.max_ngram_repeats;
            self.settings.context = d.context;
        }
        let span = tracing::info_span!("decode", source = %job.source, utterance = %job.utterance_id, is_final = job.is_final);
        let _guard = span.enter();
        let mut options = if job.is_final {
            &self.settings.final_options
        } else {
            &self.settings.partial_options
        };
        let prompted;
        if let Some(prompt) = self.prompt_for(&job) {
            prompted = TranscribeOptions {
                initial_prompt: prompt,
                ..options.clone()
            };
            options = &prompted;
        }
        let started = Instant::now();
        if let Some(epoch) = job.early {
            let options = options.clone();
            self.transcribe_early(&job, &options, epoch);
            return;
        }
        let early = if job.is_final {
            self.early.remove(&job.source).filter(|e| {
                let fits = e.is_for(&job);
                if !fits {
                    self.metrics.incr(Counter::EarlyFinalsDropped);
                }
                fits
            })
        } else {
            None
        };
        let result = if let Some(early) = early {
            FinalFromEarly.emit(&self.metrics);
            Ok(early.transcript)
        } else {
            let result = if job.is_final {
                self.transcribe_final(&job, options, &|| false)
            } else {
                let queue = &self.queue;
                self.transcriber
                    .transcribe_until(&job.audio, options, &|| queue.has_finals())
            };
            if result.is_ok() {
                Transcribed {
                    kind: if job.is_final {
                        InferenceKind::Final
                    } else {
                        InferenceKind::Partial
                    },
                    audio_samples: job.audio.len() as u64,
                    took: started.elapsed(),
                }
                .emit(&self.metrics);
            }
            result
        };
        let transcript = match result {
            Ok(t) => t,
            Err(WhisperError::Stopped) => {
                PartialStopped.emit(&self.metrics);
                return;
            }
            Err(e) => {
                TranscriptionFailed {
                    error: &e,
                    is_final: job.is_final,
                }
                .emit(&self.metrics);
                if job.is_final {
                    self.revisions.remove(&job.utterance_id);
                }
                return;
            }
        };
        let (text, _) =
            collapse_repeated_ngrams(&transcript.text(), self.settings.max_ngram_repeats);
        let verdict = judge(
            &self.settings.guards,
            &transcript,
            &text,
            job.vad_speech_prob,
        );
        let published_before = self.revisions.contains_key(&job.utterance_id);
        if !job.is_final {
            if let Verdict::Publish(confidence) = verdict {
                self.publish(&job, &transcript, text, confidence, None);
            }
            return;
        }
        match verdict {
            Verdict::NoSpeech if !published_before => FinalWithheld {
                vad_speech_prob: job.vad_speech_prob,
            }
            .emit(&self.metrics),
            Verdict::NoSpeech => self.publish(
                &job,
                &transcript,
                String::new(),
                Confidence::Low,
                Some("no_speech"),
            ),
            Verdict::Publish(confidence) => {
                if confidence == Confidence::Low {
                    self.metrics.incr(Counter::FinalsLowConfidence);
                }
                self.publish(&job, &transcript, text, confidence, None)
            }
        }
        self.revisions.remove(&job.utterance_id);
        self.remember_final(&job, &transcript, verdict);
    }

    /// Transcribes an early final and keeps it for its final; gives up when speech resumed
    /// (the epoch moved on) or another utterance's final is waiting.
    fn transcribe_early(&mut self, job: &Job, options: &TranscribeOptions, epoch: u64) {
        let queue = &self.queue;
        let stop = || {
            !queue.early_final_stands(&job.source, epoch)
                || queue.has_finals_besides(&job.utterance_id)
        };
        let started = Instant::now();
        match self.transcribe_final(job, options, &stop) {
            Ok(transcript) => {
                Transcribed {
                    kind: InferenceKind::Early,
                    audio_samples: job.audio.len() as u64,
                    took: started.elapsed(),
                }
                .emit(&self.metrics);
                let replaced = self.early.insert(
                    job.source.clone(),
                    EarlyResult {
                        utterance_id: job.utterance_id.clone(),
                        start_offset: job.start_offset,
                        end_offset: job.end_offset,
                        transcript,
                    },
                );
                if replaced.is_some() {
                    self.metrics.incr(Counter::EarlyFinalsDropped);
                }
            }
            Err(WhisperError::Stopped) => EarlyFinalStopped.emit(&self.metrics),
            // The final will try again and report it.
            Err(e) => tracing::debug!(error = %e, "early final failed"),
        }
    }

    /// Transcribes a final (or an early final), after its left context when it has one.
    fn transcribe_final(
        &self,
        job: &Job,
        options: &TranscribeOptions,
        stop: &dyn Fn() -> bool,
    ) -> Result<Transcript, WhisperError> {
        let previous = self.previous_finals.get(&job.source);
        let context = previous.and_then(|p| {
            p.left_context(
                job,
                &self.settings.context,
                self.settings.guards.min_vad_speech_prob,
            )
        });
        match context {
            Some(context) => {
                tracing::debug!(
                    context_ms = samples_to_ms(context.audio.len() as u64),
                    "transcribing after the previous final"
                );
                self.transcriber
                    .transcribe_after(&context, &job.audio, options, stop)
            }
            None => self.transcriber.transcribe_until(&job.audio, options, stop),
        }
    }

    /// The prompt for `job`: its source's previous confident final's text, when close enough.
    fn prompt_for(&self, job: &Job) -> Option<Vec<u32>> {
        self.previous_finals
            .get(&job.source)?
            .prompt_for(job, &self.settings.context)
    }

    /// Keeps a confident final as its source's next prompt; anything else ends the chain.
    fn remember_final(&mut self, job: &Job, transcript: &Transcript, verdict: Verdict) {
        if !self.settings.context.any() {
            return;
        }
        if verdict == Verdict::Publish(Confidence::High) {
            let eot = self.transcriber.model().tokenizer().specials().eot;
            self.previous_finals
                .insert(job.source.clone(), PreviousFinal::of(job, transcript, eot));
        } else {
            self.previous_finals.remove(&job.source);
        }
    }

    fn publish(
        &mut self,
        job: &Job,
        transcript: &Transcript,
        text: String,
        confidence: Confidence,
        suppressed: Option<&'static str>,
    ) {
        let latency = Instant::now().saturating_duration_since(job.speech_end);
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
            latency_ms: latency.as_millis() as u64,
            dropped_audio_ms: job.dropped_audio_ms,
            confidence: confidence.as_str(),
            vad_speech_prob: round_3(job.vad_speech_prob),
            compression_ratio: first.map_or(0.0, |s| round_3(s.compression_ratio)),
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
            topic: self.settings.topics.transcript(&job.source, job.is_final),
            payload,
            qos,
            retain: false,
            kind,
        };
        if job.is_final {
            FinalTranscript {
                source: &job.source,
                latency,
                text: &message.text,
            }
            .emit(&self.metrics);
            if let Err(e) = self.publisher.publish_wait(msg) {
                tracing::error!(error = %e, "final not sent");
            }
        } else {
            tracing::debug!(revision = this_revision, text = %message.text, "partial transcript");
            match self.publisher.try_publish(msg) {
                Ok(()) => self.metrics.incr(Counter::PartialsPublished),
                Err(_) => self.metrics.incr(Counter::PartialsSkipped),
            }
        }
    }
}

/// Rounds to three decimals for readable JSON.
fn round_3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Rounds seconds to milliseconds for readable JSON.
fn round_ms(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}
