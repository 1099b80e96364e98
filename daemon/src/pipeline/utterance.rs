//! Per-source endpointing: 16 kHz audio in, VAD per 32 ms chunk, utterances out as partial and
//! final jobs on the [`JobQueue`]. Never blocks: when inference falls behind by more than the
//! allowed backlog, incoming audio is replaced by silence, counted, and marked on the final.

use std::collections::VecDeque;
use std::sync::Arc;

use percept_models::vad::{
    CHUNK_SAMPLES, EndpointConfig, EndpointConfigError, Endpointer, VadEvent,
};

use percept_dsp::rate::{SAMPLE_RATE, ms_to_samples, samples_to_ms_ceil};

use super::clock::StreamClock;
use super::job::Job;
use super::queue::JobQueue;
use crate::health::{Counter, Heartbeat, Metrics};
use crate::sources::AudioBlock;

/// Anything that scores a 512-sample chunk as speech (Silero in production, a stand-in in tests).
pub trait SpeechProbability: Send {
    /// The probability that `chunk` (exactly 512 samples at 16 kHz) is speech.
    fn probability(&mut self, chunk: &[f32]) -> Result<f32, String>;
}

impl SpeechProbability for percept_models::vad::VadSession {
    fn probability(&mut self, chunk: &[f32]) -> Result<f32, String> {
        self.process_chunk(chunk).map_err(|e| e.to_string())
    }
}

/// Settings of one tracker, from the config.
#[derive(Debug, Clone)]
pub struct TrackerSettings {
    /// The endpointer's settings.
    pub endpoint: EndpointConfig,
    /// Samples of audio between partials; 0 turns partials off.
    pub partial_interval_samples: u64,
    /// Audio held by queued finals above which new audio is shed.
    pub max_backlog_samples: u64,
    /// Samples after the speech that the endpointer adds as padding (subtracted for latency).
    pub speech_pad_samples: u64,
    /// The source can wait (a file read as fast as possible): when the backlog is too large the
    /// tracker waits for inference instead of shedding audio, so nothing is lost.
    pub wait_for_backlog: bool,
    /// Offer each pause's final early (the endpointer's `pending_end`), so it is transcribed
    /// while the endpointer waits out `min_silence_ms`.
    pub early_finals: bool,
}

/// Longest gap (overrun) filled with silence to keep the timeline; longer gaps are counted
/// but only this much silence is inserted.
const MAX_GAP_FILL_SAMPLES: u64 = ms_to_samples(5_000);
/// Audio kept before the current VAD position while no utterance is open (covers the
/// endpointer's look-back: minimum speech plus padding).
const KEEP_BEFORE_SAMPLES: u64 = ms_to_samples(3_000);

#[derive(Debug)]
struct OpenUtterance {
    id: Arc<str>,
    start: u64,
    last_partial_end: u64,
    dropped_ms: u64,
}

/// Endpointing state for one audio stream.
pub struct UtteranceTracker {
    source: Arc<str>,
    run_id: u64,
    sequence: u64,
    vad: Box<dyn SpeechProbability>,
    endpointer: Endpointer,
    settings: TrackerSettings,
    /// Audio kept, starting at stream offset `buf_start`.
    buf: Vec<f32>,
    buf_start: u64,
    /// Offset of the next VAD chunk.
    vad_pos: u64,
    /// (chunk start, speech probability) of the VAD chunks still in `buf`.
    probs: VecDeque<(u64, f32)>,
    clock: StreamClock,
    open: Option<OpenUtterance>,
    /// Dropped audio not yet attached to an utterance, milliseconds.
    pending_dropped_ms: u64,
    /// Whether the latest VAD chunk was speech: partials are only worth their CPU while someone
    /// is talking (in the trailing silence the final is about to come).
    speaking: bool,
    /// The `(start, end)` of the early final offered for the open utterance's pause, if any.
    early: Option<(u64, u64)>,
    /// Paused by the listening switch: every sample is replaced by silence before the VAD,
    /// which is not run (the stream's timeline goes on, nothing of the audio is kept).
    paused: bool,
    queue: Arc<JobQueue>,
    metrics: Arc<Metrics>,
    /// The endpointer stage's progress: waiting while it waits for the backlog to drain.
    heartbeat: Heartbeat,
}

impl UtteranceTracker {
    /// A tracker for `source`; `run_id` makes utterance ids unique across restarts.
    pub fn new(
        source: &str,
        run_id: u64,
        vad: Box<dyn SpeechProbability>,
        settings: TrackerSettings,
        queue: Arc<JobQueue>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, EndpointConfigError> {
        Ok(Self {
            source: source.into(),
            run_id,
            sequence: 0,
            vad,
            endpointer: Endpointer::new(settings.endpoint)?,
            settings,
            buf: Vec::new(),
            buf_start: 0,
            vad_pos: 0,
            probs: VecDeque::new(),
            clock: StreamClock::start(),
            open: None,
            pending_dropped_ms: 0,
            speaking: false,
            early: None,
            paused: false,
            queue,
            metrics,
            heartbeat: Heartbeat::detached(),
        })
    }

    /// Whether an utterance is open (someone is speaking, as the endpointer sees it).
    pub fn utterance_open(&self) -> bool {
        self.open.is_some()
    }

    /// Whether the listening switch has paused this stream.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Pauses or resumes listening. Pausing closes the open utterance as a final (what was said
    /// before the pause is transcribed); while paused every sample becomes silence.
    pub fn set_paused(&mut self, paused: bool) {
        if paused && !self.paused {
            self.finish();
        }
        self.paused = paused;
    }

    /// The same tracker, marking `heartbeat` waiting while it waits for inference
    /// (`wait_for_backlog`): the worker is watched then, not the endpointer.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Stream offset one past the last sample received.
    pub fn stream_end(&self) -> u64 {
        self.buf_start + self.buf.len() as u64
    }

    /// Takes one block: fills overrun gaps with silence, sheds load when the backlog is too
    /// large, runs the VAD on every complete chunk, and queues partials and finals.
    pub fn push_block(&mut self, block: AudioBlock) -> Result<(), String> {
        if block.dropped_samples > 0 {
            self.note_dropped(block.dropped_samples);
            let fill = block.dropped_samples.min(MAX_GAP_FILL_SAMPLES) as usize;
            self.buf.extend(std::iter::repeat_n(0.0, fill));
        }
        if self.settings.wait_for_backlog {
            self.heartbeat.waiting();
            self.queue
                .wait_backlog_at_most(self.settings.max_backlog_samples);
            self.heartbeat.active();
        }
        let shedding = self.queue.backlog_samples() > self.settings.max_backlog_samples;
        if self.paused {
            self.buf
                .extend(std::iter::repeat_n(0.0, block.samples.len()));
        } else if shedding {
            self.note_dropped(block.samples.len() as u64);
            self.metrics.add(
                Counter::DroppedAudioMs,
                samples_to_ms_ceil(block.samples.len() as u64),
            );
            self.buf
                .extend(std::iter::repeat_n(0.0, block.samples.len()));
        } else {
            self.buf.extend(
                block
                    .samples
                    .iter()
                    .map(|&s| if s.is_finite() { s } else { 0.0 }),
            );
        }
        self.clock.observe(self.stream_end());
        while self.vad_pos + CHUNK_SAMPLES as u64 <= self.stream_end() {
            let at = (self.vad_pos - self.buf_start) as usize;
            let probability = if self.paused {
                0.0
            } else {
                self.vad.probability(&self.buf[at..at + CHUNK_SAMPLES])?
            };
            tracing::trace!(at = self.vad_pos, probability, "vad");
            self.probs.push_back((self.vad_pos, probability));
            self.vad_pos += CHUNK_SAMPLES as u64;
            self.speaking = probability >= self.settings.endpoint.threshold;
            for event in self.endpointer.push(probability) {
                self.handle(event);
            }
            if self.settings.early_finals {
                self.update_early_final();
            }
        }
        self.maybe_offer_partial();
        self.trim();
        Ok(())
    }

    /// Ends the stream: an open utterance becomes a final.
    pub fn finish(&mut self) {
        for event in self.endpointer.finish() {
            self.handle(event);
        }
    }

    fn note_dropped(&mut self, samples: u64) {
        let ms = samples_to_ms_ceil(samples);
        match &mut self.open {
            Some(open) => open.dropped_ms += ms,
            None => self.pending_dropped_ms += ms,
        }
    }

    fn handle(&mut self, event: VadEvent) {
        match event {
            VadEvent::Start { start_sample } => {
                self.sequence += 1;
                let id = format!("{}-{}-{}", self.source, self.run_id, self.sequence);
                let start = start_sample.max(self.buf_start);
                self.open = Some(OpenUtterance {
                    id: id.into(),
                    start,
                    last_partial_end: start,
                    dropped_ms: std::mem::take(&mut self.pending_dropped_ms),
                });
            }
            VadEvent::End {
                start_sample,
                end_sample,
                split,
            } => {
                let Some(open) = self.open.take() else {
                    return;
                };
                if self.early.take() != Some((start_sample, end_sample)) {
                    // Not the end that was announced (a split): that early work is void.
                    self.queue.withdraw_early_final(&self.source);
                }
                let job = self.final_job(&open, start_sample, end_sample, split);
                self.queue.push_final(job);
            }
        }
    }

    /// Offers the final of a pause that has begun (its audio is complete), or withdraws the
    /// offer when speech resumed.
    fn update_early_final(&mut self) {
        let pending = self.endpointer.pending_end();
        if pending == self.early {
            return;
        }
        if self.early.take().is_some() {
            self.queue.withdraw_early_final(&self.source);
        }
        let (Some((start_sample, end_sample)), Some(open)) = (pending, &self.open) else {
            return;
        };
        let job = self.final_job(open, start_sample, end_sample, false);
        self.queue.offer_early_final(job);
        self.early = pending;
    }

    /// The final of `open` for the endpointer's `[start_sample, end_sample)`, clamped to the
    /// audio held; its speech ends before the end padding unless it was `split`.
    fn final_job(
        &self,
        open: &OpenUtterance,
        start_sample: u64,
        end_sample: u64,
        split: bool,
    ) -> Job {
        let start = start_sample.max(open.start).max(self.buf_start);
        let end = end_sample.min(self.stream_end()).max(start);
        let speech_end = if split {
            end
        } else {
            end.saturating_sub(self.settings.speech_pad_samples)
                .max(start)
        };
        let mut job = self.job(open, start, end, true);
        job.speech_end = self.clock.instant_of(speech_end);
        job
    }

    fn maybe_offer_partial(&mut self) {
        let interval = self.settings.partial_interval_samples;
        let Some(open) = &self.open else {
            return;
        };
        let end = self.vad_pos;
        if interval == 0 || !self.speaking || end < open.last_partial_end + interval {
            return;
        }
        let job = self.job(open, open.start, end, false);
        if let Some(open) = &mut self.open {
            open.last_partial_end = end;
        }
        self.queue.offer_partial(job);
    }

    fn job(&self, open: &OpenUtterance, start: u64, end: u64, is_final: bool) -> Job {
        let from = (start - self.buf_start) as usize;
        let to = (end - self.buf_start) as usize;
        Job {
            source: self.source.clone(),
            utterance_id: open.id.clone(),
            is_final,
            audio: self.buf[from..to].into(),
            start_offset: start,
            end_offset: end,
            start_wall: self.clock.wall_of(start),
            end_wall: self.clock.wall_of(end),
            speech_end: self.clock.instant_of(end),
            dropped_audio_ms: open.dropped_ms,
            vad_speech_prob: self.mean_probability(start, end),
            early: None,
        }
    }

    /// Mean speech probability of the VAD chunks that start within `[start, end)`.
    fn mean_probability(&self, start: u64, end: u64) -> f32 {
        let (sum, n) = self
            .probs
            .iter()
            .filter(|(at, _)| (start..end).contains(at))
            .fold((0.0f32, 0u32), |(s, n), (_, p)| (s + p, n + 1));
        if n == 0 { 0.0 } else { sum / n as f32 }
    }

    /// Drops audio nobody can need any more.
    fn trim(&mut self) {
        let keep_from = match &self.open {
            Some(open) => open.start,
            None => self.vad_pos.saturating_sub(KEEP_BEFORE_SAMPLES),
        }
        .min(self.vad_pos);
        let excess = keep_from.saturating_sub(self.buf_start);
        if excess >= u64::from(SAMPLE_RATE) {
            self.buf.drain(..excess as usize);
            self.buf_start += excess;
            while self
                .probs
                .front()
                .is_some_and(|(at, _)| *at < self.buf_start)
            {
                self.probs.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech where the chunk's RMS is above 0.1 (a stand-in for Silero in these unit tests).
    struct Loudness;

    impl SpeechProbability for Loudness {
        fn probability(&mut self, chunk: &[f32]) -> Result<f32, String> {
            let rms = (chunk.iter().map(|s| s * s).sum::<f32>() / chunk.len() as f32).sqrt();
            Ok(if rms > 0.1 { 0.9 } else { 0.01 })
        }
    }

    fn tone(secs: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| 0.5 * (i as f32 * 0.2).sin())
            .collect()
    }

    fn tracker(queue: &Arc<JobQueue>, max_backlog_secs: u64) -> UtteranceTracker {
        let settings = TrackerSettings {
            // Utterances of these tests run 2–3 s: with the soft limit at 5 s they end only
            // at `min_silence_ms`, with the whole 200 ms padding.
            endpoint: EndpointConfig {
                soft_max_utterance_ms: 5_000,
                ..EndpointConfig::default()
            },
            partial_interval_samples: 16_000,
            max_backlog_samples: max_backlog_secs * 16_000,
            speech_pad_samples: 200 * 16,
            wait_for_backlog: false,
            early_finals: true,
        };
        UtteranceTracker::new(
            "t",
            7,
            Box::new(Loudness),
            settings,
            queue.clone(),
            Metrics::new(),
        )
        .unwrap()
    }

    fn feed(tracker: &mut UtteranceTracker, samples: &[f32]) {
        for block in samples.chunks(320) {
            tracker
                .push_block(AudioBlock {
                    samples: block.to_vec(),
                    dropped_samples: 0,
                })
                .unwrap();
        }
    }

    fn drain(queue: &JobQueue) -> Vec<Job> {
        std::iter::from_fn(|| queue.try_pop().unwrap()).collect()
    }

    #[test]
    fn two_spoken_bursts_become_two_finals_with_partials_and_stream_offsets() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 60);
        let mut audio = vec![0.0; 16_000];
        audio.extend(tone(2.5));
        audio.extend(vec![0.0; 24_000]);
        feed(&mut t, &audio);
        let first = drain(&queue);
        let finals: Vec<&Job> = first.iter().filter(|j| j.is_final).collect();
        assert_eq!(finals.len(), 1, "{first:?}");
        let f = finals[0];
        assert_eq!(&*f.utterance_id, "t-7-1");
        // Speech from 1.0 s to 3.5 s, padded by 0.2 s each side (32 ms chunk granularity).
        assert!(
            (f.start_offset as i64 - 12_800).abs() <= 512,
            "{}",
            f.start_offset
        );
        assert!(
            (f.end_offset as i64 - 59_200).abs() <= 512,
            "{}",
            f.end_offset
        );
        assert_eq!(f.audio.len() as u64, f.end_offset - f.start_offset);
        feed(&mut t, &tone(1.5));
        let partials = drain(&queue);
        assert!(
            partials.iter().any(|j| !j.is_final),
            "a partial during 1.5 s of speech"
        );
        t.finish();
        let second = drain(&queue);
        let last = second.last().unwrap();
        assert!(last.is_final);
        assert_eq!(&*last.utterance_id, "t-7-2");
        assert!(last.start_offset > f.end_offset);
    }

    #[test]
    fn a_pause_closes_the_utterance_and_hears_nothing_until_resumed() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 60);
        feed(&mut t, &tone(1.5));
        assert!(t.utterance_open());
        t.set_paused(true);
        assert!(!t.utterance_open(), "pausing closes the utterance");
        let closed = drain(&queue);
        assert!(closed.last().is_some_and(|j| j.is_final), "{closed:?}");
        feed(&mut t, &tone(3.0));
        assert!(!t.utterance_open(), "speech while paused opens nothing");
        assert!(drain(&queue).is_empty(), "nothing queued while paused");
        t.set_paused(false);
        feed(&mut t, &tone(1.5));
        assert!(t.utterance_open(), "speech after resuming is heard");
        t.finish();
        let after = drain(&queue);
        let last = after.last().unwrap();
        assert!(last.is_final && last.audio.iter().any(|&s| s != 0.0));
    }

    #[test]
    fn an_early_final_is_the_final_to_the_sample_and_is_void_when_speech_resumes() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 60);
        let mut audio = vec![0.0; 16_000];
        audio.extend(tone(2.0));
        audio.extend(vec![0.0; 4_800]); // 300 ms: the pause holds the 200 ms padding
        feed(&mut t, &audio);
        let early: Vec<Job> = drain(&queue)
            .into_iter()
            .filter(|j| j.early.is_some())
            .collect();
        assert_eq!(early.len(), 1, "one early final for the pause");
        feed(&mut t, &vec![0.0; 8_000]);
        let finals: Vec<Job> = drain(&queue).into_iter().filter(|j| j.is_final).collect();
        assert_eq!(finals.len(), 1);
        let (e, f) = (&early[0], &finals[0]);
        assert!(e.is_final && f.early.is_none());
        assert_eq!(e.utterance_id, f.utterance_id);
        assert_eq!(
            (e.start_offset, e.end_offset),
            (f.start_offset, f.end_offset)
        );
        assert_eq!(e.audio, f.audio);
        assert_eq!(e.vad_speech_prob, f.vad_speech_prob);
        let epoch = e.early.unwrap();
        assert!(
            queue.early_final_stands("t", epoch),
            "its final came: it stands"
        );

        // A pause that is not an end: the early final is void once speech resumes.
        feed(&mut t, &tone(2.0));
        feed(&mut t, &vec![0.0; 4_800]);
        let early = drain(&queue)
            .into_iter()
            .find(|j| j.early.is_some())
            .expect("an early final for the second pause");
        let epoch = early.early.unwrap();
        feed(&mut t, &tone(0.5));
        assert!(!queue.early_final_stands("t", epoch));
    }

    #[test]
    fn audio_is_shed_and_marked_when_the_backlog_is_too_large() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 0);
        // A final is waiting: the backlog (its audio) exceeds the zero allowance.
        let mut audio = tone(1.0);
        audio.extend(vec![0.0; 16_000]);
        feed(&mut t, &audio);
        assert!(queue.backlog_samples() > 0);
        // This speech is shed: replaced by silence, so no utterance, and counted.
        feed(&mut t, &tone(1.0));
        feed(&mut t, &vec![0.0; 16_000]);
        let jobs = drain(&queue);
        assert_eq!(jobs.iter().filter(|j| j.is_final).count(), 1);
        // The next utterance carries the dropped audio.
        feed(&mut t, &tone(1.0));
        t.finish();
        let next = drain(&queue);
        let last = next.last().unwrap();
        assert!(last.is_final);
        assert!(last.dropped_audio_ms >= 2_000, "{}", last.dropped_audio_ms);
    }

    #[test]
    fn an_overrun_gap_is_filled_with_silence_and_marked() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 60);
        feed(&mut t, &tone(1.0));
        t.push_block(AudioBlock {
            samples: tone(0.5),
            dropped_samples: 1_600,
        })
        .unwrap();
        assert_eq!(t.stream_end(), 16_000 + 1_600 + 8_000);
        t.finish();
        let last = drain(&queue).pop().unwrap();
        assert!(last.is_final);
        assert_eq!(last.dropped_audio_ms, 100);
    }

    #[test]
    fn non_finite_samples_are_treated_as_silence() {
        let queue = JobQueue::new(Metrics::new());
        let mut t = tracker(&queue, 60);
        feed(&mut t, &vec![f32::NAN; 32_000]);
        t.finish();
        assert!(drain(&queue).is_empty());
    }
}
