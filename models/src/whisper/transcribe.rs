//! Long-form transcription: slide over the audio in 30 s windows, decode each window with
//! temperature fallback, split the result into timestamped segments, and move the window to the
//! last complete segment, as the reference `transcribe()` does.

use std::sync::Arc;

use percept_dsp::whisper_mel::{HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE, log_mel_spectrogram};
use serde::Serialize;

use super::decode::{DecodeOptions, DecodingResult, Task, decode_until, detect_language};
use super::error::WhisperError;
use super::model::WhisperModel;
use super::repeat_guard::{RepeatGuard, SuppressedSegment};
use super::{INPUT_STRIDE, TIME_PRECISION_SECS};

/// Options of a transcription, with the reference's defaults.
#[derive(Debug, Clone)]
pub struct TranscribeOptions {
    /// Transcribe or translate.
    pub task: Task,
    /// Spoken language; `None` detects it on the first window (multilingual models).
    pub language: Option<String>,
    /// Temperatures tried in order until a pass is acceptable.
    pub temperatures: Vec<f32>,
    /// A pass whose compression ratio is above this falls back to the next temperature.
    pub compression_ratio_threshold: Option<f32>,
    /// A pass whose average log-probability is below this falls back.
    pub logprob_threshold: Option<f32>,
    /// A window whose `no_speech_prob` is above this (and whose log-probability is low) is silence.
    pub no_speech_threshold: Option<f32>,
    /// Prompt each window with the text of the previous ones.
    pub condition_on_previous_text: bool,
    /// Text tokens said just before this audio (the reference's `initial_prompt`, as tokens):
    /// the first window's `<|startofprev|>` prompt. Empty: none.
    pub initial_prompt: Vec<u32>,
    /// How much audio the encoder sees per window: the reference always encodes a full, zero-padded
    /// 30 s window; `Span` encodes only the audio (plus a little padding), which is much cheaper for
    /// short utterances.
    pub window: EncodeWindow,
    /// Caps the tokens decoded per window at `16 + rate × seconds of audio in the window` (at most
    /// the reference's 224). Speech rarely needs 5 tokens a second, so a generous cap only stops
    /// runaway repetition loops, which otherwise cost seconds on short clips. `None`: the
    /// reference's fixed 224.
    pub max_tokens_per_second: Option<f32>,
    /// Skip a window the reference's rule calls silence (`no_speech_prob` above its threshold
    /// and the log-probability below its threshold), as the reference does. `false` keeps its
    /// text, for a caller with its own evidence (the daemon's VAD) to judge.
    pub skip_silence: bool,
}

/// How much of each 30 s window the encoder processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodeWindow {
    /// The full 3000-frame window, zero-padded, as the reference does.
    #[default]
    Full,
    /// Only the window's audio plus `pad_ms` of zero padding, and at least `min_ms` in all
    /// (at most the full window). A segment that lies mostly beyond the audio (in the padding
    /// or past the encoded frames: Whisper repeating itself, or `//` runs) is dropped.
    Span {
        /// Zero padding after the audio, milliseconds.
        pad_ms: u32,
        /// The least audio plus padding encoded, milliseconds: a short utterance is padded up
        /// to it (0: no minimum).
        min_ms: u32,
    },
}

impl EncodeWindow {
    /// Mel frames to encode for a window holding `content` frames of audio (even, at most 3000).
    pub fn frames_for(self, content: usize) -> usize {
        match self {
            EncodeWindow::Full => N_FRAMES,
            EncodeWindow::Span { pad_ms, min_ms } => {
                let frames_of = |ms: u32| ms as usize * SAMPLE_RATE as usize / 1000 / HOP_LENGTH;
                let frames = (content + frames_of(pad_ms))
                    .max(frames_of(min_ms))
                    .clamp(2, N_FRAMES);
                frames + frames % 2
            }
        }
    }
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            task: Task::Transcribe,
            language: None,
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            compression_ratio_threshold: Some(2.4),
            logprob_threshold: Some(-1.0),
            no_speech_threshold: Some(0.6),
            condition_on_previous_text: true,
            initial_prompt: Vec::new(),
            window: EncodeWindow::Full,
            max_tokens_per_second: None,
            skip_silence: true,
        }
    }
}

/// One timestamped piece of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Start, seconds from the start of the audio.
    pub start: f32,
    /// End, seconds from the start of the audio.
    pub end: f32,
    /// The segment's text (with its leading space, as Whisper writes it).
    pub text: String,
    /// Average log-probability of the pass the segment came from.
    pub avg_logprob: f32,
    /// `<|nospeech|>` probability of the pass the segment came from.
    pub no_speech_prob: f32,
    /// Temperature of that pass.
    pub temperature: f32,
    /// Compression ratio of that pass.
    pub compression_ratio: f32,
    /// The segment's tokens, timestamps included.
    #[serde(skip)]
    pub tokens: Vec<u32>,
}

/// A finished transcription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    /// Detected or given language (multilingual models).
    pub language: Option<String>,
    /// Segments in time order.
    pub segments: Vec<Segment>,
    /// Seconds of audio transcribed.
    pub duration_secs: f32,
    /// Segments the repetition guard left out ([`super::repeat_guard`]); none unless it ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<SuppressedSegment>,
}

impl Transcript {
    /// Runs the repetition guard over the segments: what it leaves out moves to `suppressed`.
    pub fn guard_repeats(&mut self, guard: &RepeatGuard) {
        let (kept, gone) = guard.apply(std::mem::take(&mut self.segments));
        self.segments = kept;
        self.suppressed.extend(gone);
    }

    /// All segment texts joined, trimmed.
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<String>()
            .trim()
            .to_string()
    }
}

/// Transcribes 16 kHz mono audio with a shared model.
#[derive(Debug, Clone)]
pub struct Transcriber {
    model: Arc<WhisperModel>,
}

impl Transcriber {
    /// A transcriber over a loaded model.
    pub fn new(model: Arc<WhisperModel>) -> Self {
        Self { model }
    }

    /// The model.
    pub fn model(&self) -> &Arc<WhisperModel> {
        &self.model
    }

    /// Transcribes `samples` (16 kHz mono, finite).
    pub fn transcribe(
        &self,
        samples: &[f32],
        options: &TranscribeOptions,
    ) -> Result<Transcript, WhisperError> {
        self.transcribe_until(samples, options, &|| false)
    }

    /// [`Transcriber::transcribe`], asking `stop` before each window's encoding and before
    /// every decoder step; when it says true the call ends with [`WhisperError::Stopped`].
    pub fn transcribe_until(
        &self,
        samples: &[f32],
        options: &TranscribeOptions,
        stop: &dyn Fn() -> bool,
    ) -> Result<Transcript, WhisperError> {
        self.run(samples, 0, &[], options, stop)
    }

    /// [`Transcriber::transcribe_until`] for audio that follows `context`, audio already
    /// transcribed: the first window holds the context's audio and then `samples`, its
    /// decoding starts with the context's text forced (as `<|0.00|> text <|end|>`), and only
    /// what follows is returned, timed from the start of `samples`. The model hears the
    /// sentence the audio continues, as a long window would have given it. A context that
    /// does not fit one window with `samples`, or has no text, is not used.
    pub fn transcribe_after(
        &self,
        context: &LeftContext<'_>,
        samples: &[f32],
        options: &TranscribeOptions,
        stop: &dyn Fn() -> bool,
    ) -> Result<Transcript, WhisperError> {
        let fits = context.audio.len() + samples.len() <= N_SAMPLES
            && !context.tokens.is_empty()
            && context.tokens.len() <= MAX_CONTEXT_TOKENS;
        if !fits {
            return self.run(samples, 0, &[], options, stop);
        }
        let joined: Vec<f32> = context.audio.iter().chain(samples).copied().collect();
        let mut transcript =
            self.run(&joined, context.audio.len(), context.tokens, options, stop)?;
        if transcript.text().trim().is_empty() {
            // The pass took the new audio for part of the context (or for nothing): hear it
            // alone rather than lose it.
            return self.run(samples, 0, &[], options, stop);
        }
        transcript.duration_secs = samples.len() as f32 / SAMPLE_RATE as f32;
        Ok(transcript)
    }

    /// Transcribes `samples`, whose first `context_len` samples are context with the text
    /// tokens `context_tokens` (none when `context_len` is 0).
    fn run(
        &self,
        samples: &[f32],
        context_len: usize,
        context_tokens: &[u32],
        options: &TranscribeOptions,
        stop: &dyn Fn() -> bool,
    ) -> Result<Transcript, WhisperError> {
        let config = self.model.config();
        let specials = *self.model.tokenizer().specials();
        let context_secs = context_len as f32 / SAMPLE_RATE as f32;
        let mel = log_mel_spectrogram(samples, config.n_mels, N_SAMPLES).map_err(|e| {
            WhisperError::Inference {
                graph: "log-mel",
                message: e.to_string(),
            }
        })?;
        let content_frames = mel.n_frames.saturating_sub(N_FRAMES);
        let mut language = options.language.clone();
        if !config.multilingual {
            language = None;
        }
        let mut segments = Vec::new();
        let mut all_tokens: Vec<u32> = options.initial_prompt.clone();
        let mut prompt_since = 0;
        // The first window's forced start: the context's text between two timestamps.
        let mut prefix = Vec::new();
        if context_len > 0 {
            let last = config.n_audio_ctx as u32;
            let end = ((context_secs / TIME_PRECISION_SECS) as u32).min(last);
            prefix.push(specials.timestamp_begin);
            prefix.extend(context_tokens.iter().copied().filter(|&t| t < specials.eot));
            prefix.push(specials.timestamp_begin + end);
        }
        let mut seek = 0;
        while seek < content_frames {
            let segment_size = N_FRAMES.min(content_frames - seek);
            // The first window holds the context: its text is forced, its time is before 0.
            let continues_context = seek == 0 && context_len > 0;
            let frames = options.window.frames_for(segment_size);
            let window = window_of(
                &mel.data,
                mel.n_frames,
                config.n_mels,
                seek,
                segment_size,
                frames,
            );
            if stop() {
                return Err(WhisperError::Stopped);
            }
            let cross = self.model.prepare(&window, frames)?;
            if config.multilingual && language.is_none() {
                language = Some(detect_language(&self.model, &cross)?.0);
            }
            let prompt = if options.condition_on_previous_text || seek == 0 {
                all_tokens[prompt_since..].to_vec()
            } else {
                Vec::new()
            };
            let window_secs = (segment_size * HOP_LENGTH) as f32 / SAMPLE_RATE as f32;
            let base = DecodeOptions {
                task: options.task,
                language: language.clone(),
                prompt,
                prefix: if continues_context {
                    prefix.clone()
                } else {
                    Vec::new()
                },
                sample_len: options
                    .max_tokens_per_second
                    .map(|rate| sample_len_for(rate, window_secs, self.model.config().n_text_ctx)),
                ..DecodeOptions::default()
            };
            let result = decode_with_fallback(&self.model, &cross, &base, options, stop)?;
            let time_offset = (seek * HOP_LENGTH) as f32 / SAMPLE_RATE as f32 - context_secs;
            if options.skip_silence && is_silence(&result, options) {
                seek += segment_size;
                continue;
            }
            let timestamp_begin = specials.timestamp_begin;
            let mut split = split_segments(&result.tokens, timestamp_begin, segment_size);
            if matches!(options.window, EncodeWindow::Span { .. }) {
                let before = split.pieces.len();
                split
                    .pieces
                    .retain(|(start, end, _)| mostly_in_audio(*start, *end, window_secs));
                if split.pieces.len() < before {
                    // What was dropped lay past the audio: nothing there to decode again.
                    split.advance_frames = segment_size;
                }
            }
            if continues_context {
                // The context's text is what the pass continues: a later window's prompt.
                all_tokens.extend_from_slice(&prefix);
            }
            for (mut start_pos, end_pos, tokens) in split.pieces {
                if continues_context {
                    // A pass without a timestamp pair starts at the window (the context's
                    // start); its own first timestamp says where the new audio's text begins.
                    if let Some(&first) = tokens.first().filter(|&&t| t >= timestamp_begin) {
                        start_pos = start_pos.max(first - timestamp_begin);
                    }
                }
                let text = self.model.tokenizer().decode(
                    &tokens
                        .iter()
                        .copied()
                        .filter(|&t| t < timestamp_begin)
                        .collect::<Vec<_>>(),
                );
                all_tokens.extend_from_slice(&tokens);
                if text.trim().is_empty() {
                    continue;
                }
                segments.push(Segment {
                    start: (time_offset + start_pos as f32 * TIME_PRECISION_SECS).max(0.0),
                    end: (time_offset + end_pos as f32 * TIME_PRECISION_SECS).max(0.0),
                    text,
                    avg_logprob: result.avg_logprob,
                    no_speech_prob: result.no_speech_prob,
                    temperature: result.temperature,
                    compression_ratio: result.compression_ratio,
                    tokens,
                });
            }
            if !options.condition_on_previous_text || result.temperature > 0.5 {
                prompt_since = all_tokens.len();
            }
            seek += if split.advance_frames == 0 {
                segment_size
            } else {
                split.advance_frames
            };
        }
        Ok(Transcript {
            language,
            segments,
            duration_secs: samples.len() as f32 / SAMPLE_RATE as f32,
            suppressed: Vec::new(),
        })
    }
}

/// Audio said just before the audio to transcribe, and what it said (text tokens; timestamps
/// and other special tokens are left out).
#[derive(Debug, Clone, Copy)]
pub struct LeftContext<'a> {
    /// 16 kHz mono samples, directly before the new audio.
    pub audio: &'a [f32],
    /// The context's transcript as tokens.
    pub tokens: &'a [u32],
}

/// The most context tokens forced before a window's own text: a quarter of the text context,
/// so the prompt and the window's text keep their room.
const MAX_CONTEXT_TOKENS: usize = 112;

/// Whether a segment from timestamp position `start` to `end` (units of 20 ms) lies at least
/// half within the window's `audio_secs` of audio. Past the audio there is only zero padding
/// (or nothing at all), where Whisper hallucinates: it repeats earlier sentences or emits `//`.
fn mostly_in_audio(start: u32, end: u32, audio_secs: f32) -> bool {
    let (start, end) = (
        start as f32 * TIME_PRECISION_SECS,
        (end as f32 * TIME_PRECISION_SECS).max(start as f32 * TIME_PRECISION_SECS),
    );
    if start >= audio_secs {
        return false;
    }
    let inside = end.min(audio_secs) - start;
    let length = end - start;
    length <= 0.0 || inside >= 0.5 * length
}

/// The token budget for a window of `secs` seconds: `16 + rate × secs`, at most half the text
/// context (224), as the reference's default.
fn sample_len_for(rate: f32, secs: f32, n_text_ctx: usize) -> usize {
    let budget = 16.0 + rate.max(0.0) * secs;
    (budget.ceil() as usize).min(n_text_ctx / 2)
}

/// Copies frames `[seek, seek+size)` of a row-major `[n_mels][n_frames]` mel into a zero-padded
/// `[n_mels][width]` window, as the reference's `pad_or_trim` does (`width` = 3000 there).
fn window_of(
    mel: &[f32],
    n_frames: usize,
    n_mels: usize,
    seek: usize,
    size: usize,
    width: usize,
) -> Vec<f32> {
    let size = size.min(width);
    let mut window = vec![0.0; n_mels * width];
    for bin in 0..n_mels {
        let src = &mel[bin * n_frames + seek..bin * n_frames + seek + size];
        window[bin * width..bin * width + size].copy_from_slice(src);
    }
    window
}

/// Tries each temperature until the pass is neither too repetitive nor too unlikely (or is
/// silence).
fn decode_with_fallback(
    model: &Arc<WhisperModel>,
    cross: &super::model::CrossKv,
    base: &DecodeOptions,
    options: &TranscribeOptions,
    stop: &dyn Fn() -> bool,
) -> Result<DecodingResult, WhisperError> {
    let mut last = None;
    for &temperature in &options.temperatures {
        let result = decode_until(
            model,
            cross,
            &DecodeOptions {
                temperature,
                ..base.clone()
            },
            stop,
        )?;
        let too_repetitive = options
            .compression_ratio_threshold
            .is_some_and(|t| result.compression_ratio > t);
        let too_unlikely = options
            .logprob_threshold
            .is_some_and(|t| result.avg_logprob < t);
        let silent = options
            .no_speech_threshold
            .is_some_and(|t| result.no_speech_prob > t)
            && too_unlikely;
        if silent || !(too_repetitive || too_unlikely) {
            return Ok(result);
        }
        last = Some(result);
    }
    match last {
        Some(result) => Ok(result),
        None => decode_until(model, cross, base, stop),
    }
}

/// The reference's skip rule: likely no speech, unless the text is confidently predicted.
fn is_silence(result: &DecodingResult, options: &TranscribeOptions) -> bool {
    let Some(threshold) = options.no_speech_threshold else {
        return false;
    };
    let confident = options
        .logprob_threshold
        .is_some_and(|t| result.avg_logprob > t);
    result.no_speech_prob > threshold && !confident
}

/// Timestamped pieces of one pass and how far to move the window.
#[derive(Debug, PartialEq)]
struct Split {
    /// (start position, end position, tokens) in timestamp steps relative to the window.
    pieces: Vec<(u32, u32, Vec<u32>)>,
    /// Mel frames to advance.
    advance_frames: usize,
}

/// Splits sampled tokens at consecutive timestamp pairs. If the pass ends in a single timestamp
/// (or has no complete pair) the whole window is consumed; otherwise the window moves to the last
/// timestamp, so an unfinished sentence is decoded again with the next window.
fn split_segments(tokens: &[u32], timestamp_begin: u32, segment_size: usize) -> Split {
    let is_ts = |t: u32| t >= timestamp_begin;
    let n = tokens.len();
    let single_ending = n >= 2 && !is_ts(tokens[n - 2]) && is_ts(tokens[n - 1]);
    let mut cuts: Vec<usize> = (1..n)
        .filter(|&i| is_ts(tokens[i - 1]) && is_ts(tokens[i]))
        .collect();
    if cuts.is_empty() {
        let last_ts = tokens.iter().copied().rfind(|&t| is_ts(t));
        let end = match last_ts {
            Some(t) if t != timestamp_begin => t - timestamp_begin,
            _ => {
                (segment_size as f32 * HOP_LENGTH as f32 / SAMPLE_RATE as f32 / TIME_PRECISION_SECS)
                    .round() as u32
            }
        };
        return Split {
            pieces: vec![(0, end, tokens.to_vec())],
            advance_frames: segment_size,
        };
    }
    if single_ending {
        cuts.push(n);
    }
    let mut pieces = Vec::new();
    let mut last = 0;
    for &cut in &cuts {
        let slice = &tokens[last..cut];
        pieces.push((
            slice[0].saturating_sub(timestamp_begin),
            slice[slice.len() - 1].saturating_sub(timestamp_begin),
            slice.to_vec(),
        ));
        last = cut;
    }
    let advance_frames = if single_ending {
        segment_size
    } else {
        (tokens[last - 1] - timestamp_begin) as usize * INPUT_STRIDE
    };
    Split {
        pieces,
        advance_frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB: u32 = 100;

    #[test]
    fn the_token_budget_grows_with_the_audio_and_stops_at_half_the_context() {
        assert_eq!(sample_len_for(12.0, 0.5, 448), 22);
        assert_eq!(sample_len_for(12.0, 10.0, 448), 136);
        assert_eq!(sample_len_for(12.0, 30.0, 448), 224);
    }

    #[test]
    fn segments_mostly_past_the_audio_are_hallucinations() {
        // 10.11 s of audio (the real-speech corpus): the last real sentence ends at 10.0 s.
        assert!(mostly_in_audio(378, 500, 10.11));
        // A `//` from 10.0 to 11.0 s and a repeat from 14.0 s: past the audio.
        assert!(!mostly_in_audio(500, 550, 10.11));
        assert!(!mostly_in_audio(700, 750, 10.11));
        // 1.96 s of audio; a repeat of the whole phrase from 1.72 to 3.72 s.
        assert!(!mostly_in_audio(86, 186, 1.96));
        // A real last segment whose end timestamp overshoots the audio a little.
        assert!(mostly_in_audio(50, 105, 1.96));
        // A bare timestamp (no length) inside the audio.
        assert!(mostly_in_audio(20, 20, 1.0));
    }

    #[test]
    fn span_windows_are_even_padded_and_capped_at_the_full_window() {
        let span = EncodeWindow::Span {
            pad_ms: 500,
            min_ms: 0,
        };
        assert_eq!(span.frames_for(301), 352);
        assert_eq!(span.frames_for(0), 50);
        assert_eq!(span.frames_for(2990), N_FRAMES);
        assert_eq!(EncodeWindow::Full.frames_for(10), N_FRAMES);
        let bare = EncodeWindow::Span {
            pad_ms: 0,
            min_ms: 0,
        };
        assert_eq!(bare.frames_for(0), 2);
        let at_least_8s = EncodeWindow::Span {
            pad_ms: 500,
            min_ms: 8_000,
        };
        assert_eq!(at_least_8s.frames_for(301), 800);
        assert_eq!(at_least_8s.frames_for(901), 952);
    }

    #[test]
    fn pairs_of_timestamps_cut_segments_and_the_window_moves_to_the_last_one() {
        // <0> a b <50><50> c <120><120> d (unfinished)
        let tokens = [TB, 1, 2, TB + 50, TB + 50, 3, TB + 120, TB + 120, 4];
        let split = split_segments(&tokens, TB, 3000);
        assert_eq!(split.pieces.len(), 2);
        assert_eq!((split.pieces[0].0, split.pieces[0].1), (0, 50));
        assert_eq!((split.pieces[1].0, split.pieces[1].1), (50, 120));
        assert_eq!(split.advance_frames, 240);
    }

    #[test]
    fn a_single_final_timestamp_consumes_the_whole_window() {
        let tokens = [TB, 1, TB + 40, TB + 40, 2, TB + 90];
        let split = split_segments(&tokens, TB, 1000);
        assert_eq!(split.pieces.len(), 2);
        assert_eq!(split.pieces[1].1, 90);
        assert_eq!(split.advance_frames, 1000);
    }

    #[test]
    fn no_timestamp_pair_gives_one_segment_ending_at_the_last_timestamp() {
        let split = split_segments(&[TB, 1, 2, TB + 75], TB, 800);
        assert_eq!(split.pieces, vec![(0, 75, vec![TB, 1, 2, TB + 75])]);
        assert_eq!(split.advance_frames, 800);
    }
}
