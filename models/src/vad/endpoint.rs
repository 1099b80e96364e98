//! Utterance boundaries from per-chunk speech probabilities: a pure state machine, no model.
//!
//! [`Endpointer::push`] takes the probability of each [`CHUNK_SAMPLES`]-sample chunk of one
//! 16 kHz stream, in order; chunk `i` covers samples `[i·512, (i+1)·512)`. The rules follow the
//! hysteresis of Silero's own streaming iterator (reimplemented here, with a minimum speech
//! duration and a maximum utterance length added):
//!
//! - A chunk is **speech** when its probability is ≥ `threshold`, and **silence** only when it is
//!   < `neg_threshold`. Chunks in between continue speech, but do not cancel a silence that has
//!   already begun. A NaN probability counts as silence.
//! - Speech starts a *candidate* at its first speech chunk. The candidate becomes an utterance
//!   (and [`VadEvent::Start`] is emitted) once its speech span — from its first speech chunk to
//!   the end of its last chunk that was not inside a silence — reaches `min_speech_ms`. The
//!   event's `start_sample` is that first chunk's start minus `speech_pad_ms`, clamped to 0 and
//!   to the end of the previous utterance, so it lies in the past.
//! - A silence that has lasted `min_silence_ms` (counted from the start of its first chunk)
//!   ends the candidate or utterance; an utterance emits [`VadEvent::End`] with `end_sample` =
//!   the silence's start plus `speech_pad_ms`, clamped to the samples seen. A candidate ends
//!   without events, so speech shorter than `min_speech_ms` never produces any.
//! - Once an utterance is `soft_max_utterance_ms` long (counted from its first sample), a short
//!   pause ends it: a silence that has lasted `soft_min_silence_ms` ends it exactly as a
//!   `min_silence_ms` silence would. In continuous speech (two people talking, no 500 ms gap) this
//!   bounds how long a final waits, without cutting words: speech rarely runs for seconds without
//!   a 150 ms pause. Silero marks such a pause with three or four chunks below `neg_threshold`
//!   (the chunks at its edges still hold speech), so the default, 96 ms (three chunks), finds
//!   pauses of about 150 ms and longer. `soft_max_utterance_ms = 0` turns it off.
//! - No utterance grows longer than `max_utterance_ms`. When the next chunk would make it longer
//!   (and no silence in progress would end it within the limit; if one does and speech resumes,
//!   the check happens on that chunk), it is split at the start of its quietest chunk (lowest
//!   probability, the earliest of equals) among the chunks of its **second half** that come
//!   after its first chunk, before any silence still in progress, and start within the limit.
//!   The split emits `End { split: true }` and a `Start` at the same sample, so the two pieces
//!   cover the audio without gap or overlap. The second half is the search window because it
//!   keeps the first piece at least half the limit long whatever `max_utterance_ms` is, and a
//!   pause that just ended falls inside it.

use serde::{Deserialize, Serialize};

use super::{CHUNK_SAMPLES, ms_to_samples};

/// Chunk length in milliseconds (512 samples at 16 kHz).
const CHUNK_MS: u64 = 32;
/// `neg_threshold` when unset is `threshold` minus this.
const DEFAULT_HYSTERESIS: f32 = 0.15;
/// The most padding an utterance gets on each side.
const MAX_SPEECH_PAD_MS: u32 = 2_000;
/// Where `max_utterance_ms` may lie: an utterance fits one 30 s Whisper window.
const MAX_UTTERANCE_RANGE_MS: std::ops::RangeInclusive<u32> = 2_000..=30_000;

/// How speech probabilities become utterances. Durations are in milliseconds of 16 kHz audio.
///
/// This is also the daemon's `[vad]` table: each field's doc is its reference documentation,
/// and [`EndpointConfig::validate`] is the one set of rules for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    /// Speech probability at or above which a 32 ms chunk is speech. In (0, 1). Default: 0.5.
    pub threshold: f32,
    /// Probability below which a chunk counts as silence (hysteresis); between the two, speech
    /// continues. In (0, threshold]. Default: threshold − 0.15.
    pub neg_threshold: Option<f32>,
    /// Speech must last this long before an utterance starts; shorter speech is ignored. At
    /// least 32 (one VAD chunk). Default: 250.
    pub min_speech_ms: u32,
    /// Silence that ends an utterance. At least 32 (one VAD chunk). Default: 500.
    pub min_silence_ms: u32,
    /// Audio kept before the first and after the last speech chunk of an utterance. At most
    /// 2000. Default: 200.
    pub speech_pad_ms: u32,
    /// Once an utterance is this long, a short pause (`soft_min_silence_ms`) ends it, so finals
    /// keep coming in continuous conversation; 0 turns it off. At most `max_utterance_ms`.
    /// Default: 2000 (on the corpus's conversation, 5000 left finals p95 2.9 s late: a final
    /// then covers two or three turns; BENCHMARKS.md).
    pub soft_max_utterance_ms: u32,
    /// The short pause that ends an utterance past `soft_max_utterance_ms`, as VAD silence
    /// (96 = three 32 ms chunks, what a pause of about 150 ms in the audio gives). At most
    /// `min_silence_ms`. Default: 96.
    pub soft_min_silence_ms: u32,
    /// An utterance this long is split at its quietest point (only when it had no pause at all
    /// past the soft limit). Within 2000..=30000 (one Whisper window), and at least
    /// 2 × (`speech_pad_ms` + `min_speech_ms` + `min_silence_ms` + 32). Default: 20000.
    pub max_utterance_ms: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            neg_threshold: None,
            min_speech_ms: 250,
            min_silence_ms: 500,
            speech_pad_ms: 200,
            soft_max_utterance_ms: 2_000,
            soft_min_silence_ms: 96,
            max_utterance_ms: 20_000,
        }
    }
}

/// Every problem with an [`EndpointConfig`], one line each, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid endpoint config: {}", .problems.join("; "))]
pub struct EndpointConfigError {
    /// One line per problem, e.g. `threshold: must be in (0, 1), got 1.5`.
    pub problems: Vec<String>,
}

impl EndpointConfig {
    /// The silence threshold in effect: `neg_threshold`, or `threshold − 0.15` when unset.
    pub fn effective_neg_threshold(&self) -> f32 {
        self.neg_threshold
            .unwrap_or(self.threshold - DEFAULT_HYSTERESIS)
    }

    /// The smallest valid `max_utterance_ms` for the other durations.
    pub fn min_max_utterance_ms(&self) -> u64 {
        2 * (u64::from(self.speech_pad_ms)
            + u64::from(self.min_speech_ms)
            + u64::from(self.min_silence_ms)
            + CHUNK_MS)
    }

    /// Checks the config and reports all of its problems at once.
    pub fn validate(&self) -> Result<(), EndpointConfigError> {
        let mut problems = Vec::new();
        let threshold_ok = self.threshold > 0.0 && self.threshold < 1.0;
        if !threshold_ok {
            problems.push(format!(
                "threshold: must be in (0, 1), got {}",
                self.threshold
            ));
        }
        let neg = self.effective_neg_threshold();
        if !(neg > 0.0 && (!threshold_ok || neg <= self.threshold)) {
            let unset = if self.neg_threshold.is_none() {
                " (unset, so threshold − 0.15)"
            } else {
                ""
            };
            problems.push(format!(
                "neg_threshold: must be in (0, threshold = {}], got {neg}{unset}",
                self.threshold
            ));
        }
        for (field, value) in [
            ("min_speech_ms", self.min_speech_ms),
            ("min_silence_ms", self.min_silence_ms),
        ] {
            if u64::from(value) < CHUNK_MS {
                problems.push(format!(
                    "{field}: must be ≥ {CHUNK_MS} (one VAD chunk), got {value}"
                ));
            }
        }
        if self.speech_pad_ms > MAX_SPEECH_PAD_MS {
            problems.push(format!(
                "speech_pad_ms: must be ≤ {MAX_SPEECH_PAD_MS}, got {}",
                self.speech_pad_ms
            ));
        }
        let min_max = self.min_max_utterance_ms();
        if u64::from(self.max_utterance_ms) < min_max {
            problems.push(format!(
                "max_utterance_ms: must be ≥ 2 × (speech_pad_ms + min_speech_ms + min_silence_ms + 32) = {min_max}, got {}",
                self.max_utterance_ms
            ));
        } else if !MAX_UTTERANCE_RANGE_MS.contains(&self.max_utterance_ms) {
            problems.push(format!(
                "max_utterance_ms: must be within {}..={} (one Whisper window), got {}",
                MAX_UTTERANCE_RANGE_MS.start(),
                MAX_UTTERANCE_RANGE_MS.end(),
                self.max_utterance_ms
            ));
        }
        if self.soft_min_silence_ms > self.min_silence_ms {
            problems.push(format!(
                "soft_min_silence_ms: must be ≤ min_silence_ms = {}, got {}",
                self.min_silence_ms, self.soft_min_silence_ms
            ));
        }
        if self.soft_max_utterance_ms > self.max_utterance_ms {
            problems.push(format!(
                "soft_max_utterance_ms: must be ≤ max_utterance_ms = {} (0 turns it off), got {}",
                self.max_utterance_ms, self.soft_max_utterance_ms
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EndpointConfigError { problems })
        }
    }
}

/// An utterance boundary. Sample offsets count from the start of the stream at 16 kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// An utterance has begun at `start_sample` (pre-padding included), which is in the past:
    /// the event comes once `min_speech_ms` of speech has confirmed it.
    Start {
        /// First sample of the utterance.
        start_sample: u64,
    },
    /// The utterance that began at `start_sample` ends at `end_sample` (exclusive, post-padding
    /// included). `split` is true when it was cut at `max_utterance_ms`; a `Start` at
    /// `end_sample` follows at once.
    End {
        /// First sample of the utterance (as in its `Start`).
        start_sample: u64,
        /// One past its last sample.
        end_sample: u64,
        /// Cut at the maximum length rather than ended by silence.
        split: bool,
    },
}

/// Speech in progress: a candidate until confirmed, then an open utterance.
#[derive(Debug, Clone)]
struct Utterance {
    /// Index of the piece's first chunk: its first speech chunk, or the chunk after a split.
    first_chunk: u64,
    /// First sample including pre-padding (the `Start` event's value).
    start: u64,
    /// `Start` has been emitted.
    confirmed: bool,
    /// End of the last chunk that was not part of a silence.
    speech_end: u64,
    /// Start of the silence in progress.
    silence_start: Option<u64>,
    /// Probabilities of the chunks from `first_chunk` on, for choosing a split point.
    probs: Vec<f32>,
}

/// Turns per-chunk speech probabilities of one stream into [`VadEvent`]s; see the module docs
/// for the rules.
#[derive(Debug, Clone)]
pub struct Endpointer {
    config: EndpointConfig,
    threshold: f32,
    neg_threshold: f32,
    min_speech: u64,
    min_silence: u64,
    soft_max: u64,
    soft_min_silence: u64,
    pad: u64,
    max_len: u64,
    /// Chunks pushed so far.
    chunks: u64,
    /// End of the last emitted utterance (pre-padding never reaches before it).
    last_end: u64,
    current: Option<Utterance>,
}

const CHUNK: u64 = CHUNK_SAMPLES as u64;

impl Endpointer {
    /// An endpointer at sample 0 of a new stream, if `config` is valid.
    pub fn new(config: EndpointConfig) -> Result<Self, EndpointConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            threshold: config.threshold,
            neg_threshold: config.effective_neg_threshold(),
            min_speech: ms_to_samples(config.min_speech_ms),
            min_silence: ms_to_samples(config.min_silence_ms),
            soft_max: ms_to_samples(config.soft_max_utterance_ms),
            soft_min_silence: ms_to_samples(config.soft_min_silence_ms),
            pad: ms_to_samples(config.speech_pad_ms),
            max_len: ms_to_samples(config.max_utterance_ms),
            chunks: 0,
            last_end: 0,
            current: None,
        })
    }

    /// The config it runs with.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Samples consumed so far (chunks pushed × 512).
    pub fn position(&self) -> u64 {
        self.chunks * CHUNK
    }

    /// Whether an utterance has started (its `Start` was emitted) and not yet ended.
    pub fn is_open(&self) -> bool {
        self.current.as_ref().is_some_and(|u| u.confirmed)
    }

    /// While an open utterance is in a pause that already holds its end padding
    /// (`speech_pad_ms`, and at least `soft_min_silence_ms`) but has not ended it: the
    /// `(start_sample, end_sample)` of the `End` this pause will give if it goes on long enough.
    /// The audio of that final is complete now, so a caller can transcribe it while the
    /// endpointer waits out `min_silence_ms`; `None` again (with the utterance still open)
    /// means speech resumed and that work is void.
    pub fn pending_end(&self) -> Option<(u64, u64)> {
        let u = self.current.as_ref().filter(|u| u.confirmed)?;
        let silence_start = u.silence_start?;
        let held = self.position() - silence_start >= self.pad.max(self.soft_min_silence);
        held.then_some((u.start, silence_start + self.pad))
    }

    /// Takes the speech probability of the next 512-sample chunk and returns the events it
    /// causes, in order: nothing, an `End`, a `Start`, or for a split an `End` and a `Start`.
    pub fn push(&mut self, prob: f32) -> Vec<VadEvent> {
        let prob = if prob.is_nan() { 0.0 } else { prob };
        let chunk = self.chunks;
        self.chunks += 1;
        let chunk_start = chunk * CHUNK;
        let now = chunk_start + CHUNK;
        let mut events = Vec::new();

        match &mut self.current {
            None => {
                if prob >= self.threshold {
                    self.current = Some(Utterance {
                        first_chunk: chunk,
                        start: chunk_start.saturating_sub(self.pad).max(self.last_end),
                        confirmed: false,
                        speech_end: now,
                        silence_start: None,
                        probs: vec![prob],
                    });
                }
            }
            Some(u) => {
                u.probs.push(prob);
                if prob >= self.threshold {
                    u.silence_start = None;
                    u.speech_end = now;
                } else if prob < self.neg_threshold || u.silence_start.is_some() {
                    // Below neg_threshold starts (or continues) a silence; a chunk between the two
                    // thresholds continues a silence already begun, so it can also end it (else a
                    // long run of such chunks would hold the utterance open past every limit).
                    let silence_start = *u.silence_start.get_or_insert(chunk_start);
                    let silence = now - silence_start;
                    let long_enough = self.soft_max > 0 && now - u.start >= self.soft_max;
                    if silence >= self.min_silence
                        || (u.confirmed && long_enough && silence >= self.soft_min_silence)
                    {
                        if u.confirmed {
                            let end_sample = (silence_start + self.pad).min(now);
                            events.push(VadEvent::End {
                                start_sample: u.start,
                                end_sample,
                                split: false,
                            });
                            self.last_end = end_sample;
                        }
                        self.current = None;
                    }
                } else if u.silence_start.is_none() {
                    u.speech_end = now;
                }
            }
        }

        if let Some(u) = &mut self.current {
            let first_sample = u.first_chunk * CHUNK;
            if !u.confirmed && u.speech_end - first_sample >= self.min_speech {
                u.confirmed = true;
                events.push(VadEvent::Start {
                    start_sample: u.start,
                });
            }
            let limit = u.start + self.max_len;
            let pause_ends_in_time = u.silence_start.is_some_and(|s| s + self.pad <= limit);
            if u.confirmed
                && now + CHUNK > limit
                && !pause_ends_in_time
                && let Some(at) = split(u, now, limit, &mut events)
            {
                self.last_end = at;
            }
        }
        events
    }

    /// Ends the stream: an open utterance ends at its last speech plus padding (clamped to the
    /// samples seen), an unconfirmed candidate is dropped. The position keeps counting; use
    /// [`Endpointer::reset`] to start a new stream at sample 0.
    pub fn finish(&mut self) -> Vec<VadEvent> {
        let now = self.position();
        match self.current.take() {
            Some(u) if u.confirmed => {
                let end_sample = (u.speech_end + self.pad).min(now);
                self.last_end = end_sample;
                vec![VadEvent::End {
                    start_sample: u.start,
                    end_sample,
                    split: false,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Forgets everything, without events: the next chunk is sample 0 of a new stream.
    pub fn reset(&mut self) {
        self.chunks = 0;
        self.last_end = 0;
        self.current = None;
    }
}

/// Splits the open utterance `u` at the start of its quietest chunk in the search window (see
/// the module docs), pushes `End { split: true }` and `Start`, and returns the split sample.
/// Returns `None` without splitting if the window is empty, which a validated config rules out:
/// a piece that reaches the maximum length holds at least two speech chunks (see
/// [`EndpointConfig::min_max_utterance_ms`]).
fn split(u: &mut Utterance, now: u64, limit: u64, events: &mut Vec<VadEvent>) -> Option<u64> {
    let midpoint = u.start + (now - u.start) / 2;
    // Chunks before `hi` end no later than the last speech and start no later than the limit.
    let hi = (u.speech_end / CHUNK).min(limit / CHUNK + 1);
    let after_first = u.first_chunk + 1;
    let mut lo = midpoint.div_ceil(CHUNK).max(after_first);
    if lo >= hi {
        lo = after_first;
    }
    let (quietest, _) = (lo..hi)
        .filter_map(|c| {
            let index = usize::try_from(c - u.first_chunk).ok()?;
            u.probs.get(index).map(|&p| (c, p))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let at = quietest * CHUNK;
    events.push(VadEvent::End {
        start_sample: u.start,
        end_sample: at,
        split: true,
    });
    events.push(VadEvent::Start { start_sample: at });
    let dropped = usize::try_from(quietest - u.first_chunk).unwrap_or(usize::MAX);
    u.probs.drain(..dropped.min(u.probs.len()));
    u.first_chunk = quietest;
    u.start = at;
    Some(at)
}

#[cfg(test)]
mod tests;
