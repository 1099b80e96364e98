//! The inference worker: one thread that takes jobs (finals first), transcribes them, applies
//! the hallucination guards and publishes the JSON messages. A partial gives way to a final:
//! it stops at its next decoder step once a final or an early final is queued (counted as a
//! skipped partial).
//! An early final (the audio of a pause the endpointer has not confirmed yet) is transcribed
//! and kept, unpublished; its final then publishes that transcript at once. It stops when
//! speech resumes or another utterance's final is waiting.
//!
//! The guards never swallow speech. A transcript is withheld only on evidence that there was
//! no speech: no words at all, or Whisper's joint rule (`no_speech_prob` above its threshold
//! **and** average log-probability below its threshold, as the reference's `transcribe()`
//! skips a window) while the VAD's own mean speech probability over the utterance is also
//! below `min_vad_speech_prob`. Everything else is published; a transcript with a low
//! average log-probability, a high compression ratio, or only Whisper's no-speech vote
//! against the VAD's is marked `"confidence": "low"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percept_models::whisper::{
    LeftContext, TranscribeOptions, Transcriber, Transcript, WhisperError, collapse_repeated_ngrams,
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
    /// Below this average log-probability a transcript is low-confidence (and, with a high
    /// `no_speech_prob` and weak VAD evidence, no speech).
    pub logprob_threshold: f32,
    /// Above this `no_speech_prob` (with a low log-probability) Whisper votes "no speech".
    pub no_speech_threshold: f32,
    /// The VAD's mean speech probability over the utterance at or above which Whisper's
    /// no-speech vote is overruled (the transcript is published, marked low-confidence).
    pub min_vad_speech_prob: f32,
    /// Above this compression ratio a transcript is low-confidence.
    pub compression_ratio_threshold: f32,
    /// Repeats of a phrase kept by the n-gram guard.
    pub max_ngram_repeats: usize,
    /// An utterance starting at most this many 16 kHz samples after the source's previous
    /// (confident) final ended is prompted with that final's text; 0: never.
    pub prompt_previous_samples: u64,
    /// A final starting at most `context_gap_samples` after the source's previous confident
    /// final is transcribed after that final's audio and text ([`LeftContext`]), when that
    /// audio is at most this many samples long; 0: never.
    pub context_previous_samples: u64,
    /// See `context_previous_samples`.
    pub context_gap_samples: u64,
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
                match queue.pop(Duration::from_millis(200)) {
                    Ok(Some(job)) => worker.handle(job),
                    Ok(None) => {}
                    Err(Closed) => break,
                }
            }
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

/// A source's last confident final, the prompt or the left context of what it says next.
#[derive(Debug)]
struct PreviousFinal {
    end_offset: u64,
    text_tokens: Vec<u32>,
    audio: Arc<[f32]>,
}

/// The left context of a final: its source's previous confident final, when that ended at
/// most `context_gap_samples` before the final's audio starts, is at most
/// `context_previous_samples` long, and the VAD heard speech in the final (so that the context
/// cannot talk Whisper's no-speech vote out of a noise). Audio both hold (padding) is cut from
/// the context's end.
fn left_context<'a>(
    previous: &'a PreviousFinal,
    job: &Job,
    settings: &WorkerSettings,
) -> Option<LeftContext<'a>> {
    let limit = settings.context_previous_samples;
    let gap = job.start_offset.saturating_sub(previous.end_offset);
    let overlap = previous.end_offset.saturating_sub(job.start_offset) as usize;
    let keep = previous.audio.len().saturating_sub(overlap);
    let usable = limit > 0
        && job.is_final
        && gap <= settings.context_gap_samples
        && previous.audio.len() as u64 <= limit
        && keep > 0
        && !previous.text_tokens.is_empty()
        && job.vad_speech_prob >= settings.min_vad_speech_prob;
    usable.then(|| LeftContext {
        audio: &previous.audio[..keep],
        tokens: &previous.text_tokens,
    })
}

/// Text tokens of a transcript (timestamps and other special tokens left out).
fn text_tokens(transcript: &Transcript, eot: u32) -> Vec<u32> {
    transcript
        .segments
        .iter()
        .flat_map(|s| s.tokens.iter().copied().filter(|&t| t < eot))
        .collect()
}

impl Worker {
    fn handle(&mut self, job: Job) {
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
            tracing::debug!("final transcribed early");
            self.metrics.incr(Counter::FinalsEarly);
            Ok(early.transcript)
        } else if job.is_final {
            self.transcribe_final(&job, options, &|| false)
        } else {
            let queue = &self.queue;
            self.transcriber
                .transcribe_until(&job.audio, options, &|| queue.has_finals())
        };
        tracing::debug!(
            audio_ms = job.audio.len() / 16,
            infer_ms = started.elapsed().as_millis() as u64,
            "transcribed"
        );
        let transcript = match result {
            Ok(t) => t,
            Err(WhisperError::Stopped) => {
                tracing::debug!("partial stopped: a final is waiting");
                self.metrics.incr(Counter::PartialsSkipped);
                return;
            }
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
        let verdict = judge(&self.settings, &transcript, &text, job.vad_speech_prob);
        let published_before = self.revisions.contains_key(&job.utterance_id);
        if !job.is_final {
            if let Verdict::Publish(confidence) = verdict {
                self.publish(&job, &transcript, text, confidence, None);
            }
            return;
        }
        match verdict {
            Verdict::NoSpeech if !published_before => {
                tracing::info!(
                    vad_speech_prob = job.vad_speech_prob,
                    "no speech: final withheld"
                );
                self.metrics.incr(Counter::FinalsSuppressed);
            }
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
                tracing::debug!(
                    audio_ms = job.audio.len() / 16,
                    infer_ms = started.elapsed().as_millis() as u64,
                    "early final transcribed"
                );
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
            Err(WhisperError::Stopped) => {
                tracing::debug!("early final stopped");
                self.metrics.incr(Counter::EarlyFinalsDropped);
            }
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
        match previous.and_then(|p| left_context(p, job, &self.settings)) {
            Some(context) => {
                tracing::debug!(
                    context_ms = context.audio.len() / 16,
                    "transcribing after the previous final"
                );
                self.transcriber
                    .transcribe_after(&context, &job.audio, options, stop)
            }
            None => self.transcriber.transcribe_until(&job.audio, options, stop),
        }
    }

    /// The prompt for `job`: the text of its source's previous confident final, when that
    /// ended at most `prompt_previous_samples` before the job's audio starts.
    fn prompt_for(&self, job: &Job) -> Option<Vec<u32>> {
        let limit = self.settings.prompt_previous_samples;
        let previous = self.previous_finals.get(&job.source)?;
        let gap = job.start_offset.saturating_sub(previous.end_offset);
        (limit > 0 && gap <= limit && !previous.text_tokens.is_empty())
            .then(|| previous.text_tokens.clone())
    }

    /// Keeps a confident final as its source's next prompt; anything else ends the chain.
    fn remember_final(&mut self, job: &Job, transcript: &Transcript, verdict: Verdict) {
        if self.settings.prompt_previous_samples == 0 && self.settings.context_previous_samples == 0
        {
            return;
        }
        if verdict == Verdict::Publish(Confidence::High) {
            let eot = self.transcriber.model().tokenizer().specials().eot;
            self.previous_finals.insert(
                job.source.clone(),
                PreviousFinal {
                    end_offset: job.end_offset,
                    text_tokens: text_tokens(transcript, eot),
                    audio: job.audio.clone(),
                },
            );
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

/// How sure the guards are that a transcript is what was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// Nothing against it.
    High,
    /// Published, but low average log-probability, a high compression ratio, or Whisper's
    /// no-speech vote overruled by the VAD.
    Low,
}

impl Confidence {
    fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Low => "low",
        }
    }
}

/// What the guards make of one transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Publish it, with this confidence.
    Publish(Confidence),
    /// Evidence of no speech: no words, or Whisper's joint no-speech rule with weak VAD evidence.
    NoSpeech,
}

/// The guards (module docs): `text` is the transcript after the repeated n-gram filter,
/// `vad_speech_prob` the VAD's mean speech probability over the utterance.
pub fn judge(
    settings: &WorkerSettings,
    transcript: &Transcript,
    text: &str,
    vad_speech_prob: f32,
) -> Verdict {
    let Some(first) = transcript.segments.first() else {
        return Verdict::NoSpeech;
    };
    if text.chars().all(|c| !c.is_alphanumeric()) {
        return Verdict::NoSpeech;
    }
    let avg_logprob = mean_logprob(transcript);
    let low_logprob = avg_logprob < settings.logprob_threshold;
    let whisper_says_silence = first.no_speech_prob > settings.no_speech_threshold && low_logprob;
    if whisper_says_silence && vad_speech_prob < settings.min_vad_speech_prob {
        return Verdict::NoSpeech;
    }
    let repetitive = transcript
        .segments
        .iter()
        .any(|s| s.compression_ratio > settings.compression_ratio_threshold);
    if low_logprob || repetitive || whisper_says_silence {
        Verdict::Publish(Confidence::Low)
    } else {
        Verdict::Publish(Confidence::High)
    }
}

/// Average log-probability over the transcript's segments, weighted by their tokens.
fn mean_logprob(transcript: &Transcript) -> f32 {
    let (sum, n) = transcript
        .segments
        .iter()
        .fold((0.0f32, 0usize), |(s, n), seg| {
            let tokens = seg.tokens.len().max(1);
            (s + seg.avg_logprob * tokens as f32, n + tokens)
        });
    if n == 0 { 0.0 } else { sum / n as f32 }
}

/// Rounds to three decimals for readable JSON.
fn round_3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
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

#[cfg(test)]
mod tests {
    use percept_models::whisper::Segment;

    use super::*;

    fn settings() -> WorkerSettings {
        WorkerSettings {
            model_name: "tiny.en".into(),
            final_options: TranscribeOptions::default(),
            partial_options: TranscribeOptions::default(),
            logprob_threshold: -1.0,
            no_speech_threshold: 0.6,
            min_vad_speech_prob: 0.6,
            compression_ratio_threshold: 2.4,
            max_ngram_repeats: 2,
            prompt_previous_samples: 0,
            context_previous_samples: 0,
            context_gap_samples: 0,
            topic_root: "perceptd/box".into(),
            qos_final: Qos::AtLeastOnce,
            qos_partial: Qos::AtMostOnce,
        }
    }

    fn transcript(text: &str, avg_logprob: f32, no_speech_prob: f32, ratio: f32) -> Transcript {
        Transcript {
            language: None,
            segments: vec![Segment {
                start: 0.0,
                end: 2.0,
                text: text.into(),
                avg_logprob,
                no_speech_prob,
                temperature: 0.0,
                compression_ratio: ratio,
                tokens: vec![1, 2, 3],
            }],
            duration_secs: 2.0,
        }
    }

    fn verdict(avg_logprob: f32, no_speech_prob: f32, ratio: f32, vad: f32) -> Verdict {
        let t = transcript(" Front center.", avg_logprob, no_speech_prob, ratio);
        judge(&settings(), &t, &t.text(), vad)
    }

    #[test]
    fn a_confident_transcript_is_published_with_high_confidence() {
        assert_eq!(
            verdict(-0.3, 0.05, 1.2, 0.9),
            Verdict::Publish(Confidence::High)
        );
    }

    #[test]
    fn low_log_probability_alone_is_published_marked_low_never_withheld() {
        // The real-speech issue: short phrases at -0.9 .. -1.6 with no_speech_prob 0.02-0.38.
        for (logprob, no_speech) in [(-1.6, 0.02), (-1.2, 0.38), (-3.0, 0.59)] {
            assert_eq!(
                verdict(logprob, no_speech, 1.3, 0.5),
                Verdict::Publish(Confidence::Low)
            );
        }
    }

    #[test]
    fn a_repetitive_transcript_is_published_marked_low() {
        assert_eq!(
            verdict(-0.4, 0.1, 3.0, 0.9),
            Verdict::Publish(Confidence::Low)
        );
    }

    #[test]
    fn whisper_and_the_vad_agreeing_on_no_speech_withhold_it() {
        assert_eq!(verdict(-1.5, 0.8, 1.0, 0.4), Verdict::NoSpeech);
    }

    #[test]
    fn the_vad_overrules_whispers_no_speech_vote_when_it_heard_speech() {
        assert_eq!(
            verdict(-1.5, 0.8, 1.0, 0.85),
            Verdict::Publish(Confidence::Low)
        );
        // A high no_speech_prob with a good log-probability is not a no-speech vote at all.
        assert_eq!(
            verdict(-0.5, 0.9, 1.0, 0.3),
            Verdict::Publish(Confidence::High)
        );
    }

    #[test]
    fn no_words_is_no_speech() {
        let t = transcript(" ...", -0.2, 0.1, 1.0);
        assert_eq!(judge(&settings(), &t, &t.text(), 0.9), Verdict::NoSpeech);
        let empty = Transcript {
            language: None,
            segments: Vec::new(),
            duration_secs: 1.0,
        };
        assert_eq!(judge(&settings(), &empty, "", 0.9), Verdict::NoSpeech);
    }

    fn job_at(start_offset: u64, end_offset: u64, vad: f32) -> Job {
        let now = std::time::SystemTime::now();
        Job {
            source: "mic".into(),
            utterance_id: "mic-1-2".into(),
            is_final: true,
            audio: vec![0.0; (end_offset - start_offset) as usize].into(),
            start_offset,
            end_offset,
            start_wall: now,
            end_wall: now,
            speech_end: Instant::now(),
            dropped_audio_ms: 0,
            vad_speech_prob: vad,
            early: None,
        }
    }

    #[test]
    fn the_previous_final_is_the_left_context_only_when_close_short_and_speech() {
        let s = WorkerSettings {
            context_previous_samples: 8 * 16_000,
            context_gap_samples: 16_000,
            ..settings()
        };
        let previous = PreviousFinal {
            end_offset: 48_000,
            text_tokens: vec![7, 8],
            audio: vec![0.5; 32_000].into(),
        };
        // Starts 0.5 s after it ended: the whole previous audio.
        let c = left_context(&previous, &job_at(56_000, 80_000, 0.9), &s).unwrap();
        assert_eq!((c.audio.len(), c.tokens), (32_000, &[7u32, 8][..]));
        // Starts 0.1 s before it ended (both hold the padding): that 0.1 s is cut.
        let c = left_context(&previous, &job_at(46_400, 80_000, 0.9), &s).unwrap();
        assert_eq!(c.audio.len(), 30_400);
        // Too far after it, weak VAD evidence, a partial, off, too long a previous final.
        assert!(left_context(&previous, &job_at(70_000, 90_000, 0.9), &s).is_none());
        assert!(left_context(&previous, &job_at(56_000, 80_000, 0.3), &s).is_none());
        let partial = Job {
            is_final: false,
            ..job_at(56_000, 80_000, 0.9)
        };
        assert!(left_context(&previous, &partial, &s).is_none());
        assert!(left_context(&previous, &job_at(56_000, 80_000, 0.9), &settings()).is_none());
        let short = WorkerSettings {
            context_previous_samples: 16_000,
            ..s.clone()
        };
        assert!(left_context(&previous, &job_at(56_000, 80_000, 0.9), &short).is_none());
    }
}
