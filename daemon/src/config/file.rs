//! The config file's shape, exactly as written in TOML.

use std::path::PathBuf;

use serde::Deserialize;

use super::vision::{CameraConfig, VisionConfig};
use crate::publish::mqtt::MqttConfig;

/// The whole config file. Every section is optional; an empty file runs the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// This box's name: the `{device}` part of every MQTT topic. Letters, digits, `-` and `_`.
    /// Default: the host name (sanitised), else `perceptd`.
    pub device: Option<String>,
    /// Where models are installed. Default: `$PERCEPTD_MODELS`, else
    /// `$XDG_CACHE_HOME/perceptd/models` (`~/.cache/perceptd/models`).
    pub models_dir: Option<PathBuf>,
    /// The MQTT connection. Without `mqtt.url`, perceptd starts an embedded broker on 127.0.0.1.
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Speech recognition.
    #[serde(default)]
    pub speech: SpeechConfig,
    /// Voice activity detection and endpointing.
    #[serde(default)]
    pub vad: VadConfig,
    /// Audio sources, each a `[[source]]` table. None (and no `[[camera]]` either): the default
    /// microphone, or the bundled demo clip looping when no microphone works.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// The image model and what is published from it (used when a `[[camera]]` exists).
    #[serde(default)]
    pub vision: VisionConfig,
    /// Frame sources, each a `[[camera]]` table. None: no vision.
    #[serde(default, rename = "camera")]
    pub cameras: Vec<CameraConfig>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Log every published message (topic and payload) at info level, so a person watching the
    /// log sees transcripts scroll by. Default: false (the demo turns it on).
    #[serde(default)]
    pub published_messages: bool,
    /// Seconds between stats messages (`{prefix}/{device}/stats`, counters as JSON); 0 turns
    /// them off. Default: 60.
    #[serde(default = "defaults::stats_interval_secs")]
    pub stats_interval_secs: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        toml::from_str("").expect("every LogConfig field has a default")
    }
}

/// `[speech]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeechConfig {
    /// Listen at all. Default: true when `[[source]]` tables exist or no `[[camera]]` does (a
    /// camera-only config has no audio unless this is true, which then opens the default
    /// microphone or the demo clip).
    pub enabled: Option<bool>,
    /// Whisper model name (`perceptd models list`). Default: `tiny.en`.
    #[serde(default = "defaults::model")]
    pub model: String,
    /// Spoken language for multilingual models (e.g. `de`); detected per utterance when unset.
    pub language: Option<String>,
    /// Matmul threads for inference; 0 means one per core. Default: 0.
    #[serde(default)]
    pub threads: usize,
    /// What runs Whisper: `native`, perceptd's own kernels, or `tract`, the ONNX graphs (f32
    /// only; the tests' oracle). Default: `native`.
    #[serde(default = "defaults::engine")]
    pub engine: String,
    /// The native engine's weights: `int8` (per output row, activations quantized on the fly)
    /// or `f32`. Default: `int8` (`f32` with `engine = "tract"`).
    pub precision: Option<String>,
    /// Publish a partial transcript of an open utterance every this many milliseconds of audio;
    /// 0 turns partials off. Default: 1000.
    #[serde(default = "defaults::partial_interval_ms")]
    pub partial_interval_ms: u64,
    /// How a final is encoded: `full`, a zero-padded 30 s window as the reference does, or
    /// `span`, only the utterance plus `span_pad_ms` (cheaper, but on the real-speech corpus
    /// short phrases lose words: BENCHMARKS.md). Partials always use `span`. Default: `full`.
    #[serde(default = "defaults::encode_window")]
    pub encode_window: String,
    /// Zero padding after the utterance when `encode_window = "span"`, milliseconds. Default: 1000.
    #[serde(default = "defaults::span_pad_ms")]
    pub span_pad_ms: u32,
    /// With `encode_window = "span"`, an utterance shorter than this (padding included) is
    /// padded with silence up to it, milliseconds, at most 30000. Default: 0.
    #[serde(default)]
    pub span_min_ms: u32,
    /// Bounded lag: when finished utterances waiting for inference hold more than this many
    /// milliseconds of audio, new audio is dropped (counted in `dropped_audio_ms` and marked on
    /// the next final) until the backlog drains. Default: 30000.
    #[serde(default = "defaults::max_backlog_ms")]
    pub max_backlog_ms: u64,
    /// Whisper votes "no speech" for an utterance whose `no_speech_prob` is above this and
    /// whose average log-probability is below `logprob_threshold` (the reference's joint rule);
    /// the utterance publishes nothing when the VAD agrees (`min_vad_speech_prob`). Default: 0.6.
    #[serde(default = "defaults::no_speech_threshold")]
    pub no_speech_threshold: f32,
    /// The VAD's mean speech probability over an utterance at or above which Whisper's
    /// no-speech vote is overruled: the text is published, marked `"confidence": "low"`.
    /// Default: 0.6.
    #[serde(default = "defaults::min_vad_speech_prob")]
    pub min_vad_speech_prob: f32,
    /// Average log-probability below which decoding falls back to a higher temperature, and
    /// below which a published final is marked `"confidence": "low"`. Default: -1.0.
    #[serde(default = "defaults::logprob_threshold")]
    pub logprob_threshold: f32,
    /// gzip compression ratio above which a pass is too repetitive (falls back to a higher
    /// temperature; a final still above it is marked `"confidence": "low"`). Default: 2.4.
    #[serde(default = "defaults::compression_ratio_threshold")]
    pub compression_ratio_threshold: f32,
    /// A phrase of up to 8 words repeated back to back more than this many times is cut down to
    /// this many repeats (a Whisper hallucination pattern). Default: 2.
    #[serde(default = "defaults::max_ngram_repeats")]
    pub max_ngram_repeats: usize,
    /// Prompt an utterance's decoding with the text of the same source's previous final
    /// (Whisper's `<|startofprev|>`, as `transcribe` conditions each 30 s window on the one
    /// before) when that final ended at most this many milliseconds before the utterance
    /// starts; 0 turns it off. A final marked low-confidence or withheld is never a prompt.
    /// Default: 0.
    #[serde(default)]
    pub prompt_previous_ms: u64,
    /// Transcribe a final after the same source's previous confident final: its audio first,
    /// its text forced as the start of the transcript, then the new audio, of which only the
    /// new text is kept. A short phrase is heard as part of its sentence, as in a long window.
    /// Used when that final is at most this many milliseconds long (and the two fit one 30 s
    /// window), ended at most `context_gap_ms` before, and the VAD heard speech in the new
    /// one; 0 turns it off. Default: 10000 (on the real-speech corpus it took oratory's
    /// streamed WER from 6.0 % to 4.4 %, batch 3.0 %: BENCHMARKS.md).
    #[serde(default = "defaults::context_previous_ms")]
    pub context_previous_ms: u64,
    /// See `context_previous_ms`. Default: 1000.
    #[serde(default = "defaults::context_gap_ms")]
    pub context_gap_ms: u64,
    /// Transcribe a final as soon as its pause holds the end padding (`[vad] speech_pad_ms`),
    /// while the endpointer waits out `min_silence_ms`, and publish it the moment the pause
    /// is confirmed; the work is dropped if speech resumes. The same audio, the same text, less
    /// latency, some CPU spent on pauses that were not ends. Default: true.
    #[serde(default = "defaults::yes")]
    pub early_finals: bool,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        toml::from_str("").expect("every SpeechConfig field has a default")
    }
}

/// `[vad]`: Silero VAD v6 and the endpointer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadConfig {
    /// Speech probability at or above which a 32 ms chunk is speech. Default: 0.5.
    #[serde(default = "defaults::vad_threshold")]
    pub threshold: f32,
    /// Probability below which a chunk counts as silence (hysteresis). Default: threshold − 0.15.
    pub neg_threshold: Option<f32>,
    /// Speech shorter than this is ignored, milliseconds. Default: 250.
    #[serde(default = "defaults::min_speech_ms")]
    pub min_speech_ms: u32,
    /// Silence that ends an utterance, milliseconds. Default: 500.
    #[serde(default = "defaults::min_silence_ms")]
    pub min_silence_ms: u32,
    /// Audio kept before and after the speech, milliseconds. Default: 200.
    #[serde(default = "defaults::speech_pad_ms")]
    pub speech_pad_ms: u32,
    /// Once an utterance is this long, a short pause (`soft_min_silence_ms`) ends it, so finals
    /// keep coming in continuous conversation; 0 turns it off. At most `max_utterance_ms`.
    /// Default: 2000 (on the corpus's conversation, 5000 left finals p95 2.9 s late: a final
    /// then covers two or three turns; BENCHMARKS.md).
    #[serde(default = "defaults::soft_max_utterance_ms")]
    pub soft_max_utterance_ms: u32,
    /// The short pause that ends an utterance past `soft_max_utterance_ms`: VAD silence in
    /// milliseconds (96 = three 32 ms chunks, what a pause of about 150 ms in the audio gives).
    /// At most `min_silence_ms`. Default: 96.
    #[serde(default = "defaults::soft_min_silence_ms")]
    pub soft_min_silence_ms: u32,
    /// An utterance this long is split at its quietest point (only when it had no pause at all
    /// past the soft limit), milliseconds. At most 30000 (one Whisper window). Default: 20000.
    #[serde(default = "defaults::max_utterance_ms")]
    pub max_utterance_ms: u32,
}

impl VadConfig {
    /// The endpointer's settings.
    pub fn endpoint_config(&self) -> percept_models::vad::EndpointConfig {
        percept_models::vad::EndpointConfig {
            threshold: self.threshold,
            neg_threshold: self.neg_threshold,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            speech_pad_ms: self.speech_pad_ms,
            soft_max_utterance_ms: self.soft_max_utterance_ms,
            soft_min_silence_ms: self.soft_min_silence_ms,
            max_utterance_ms: self.max_utterance_ms,
        }
    }
}

impl Default for VadConfig {
    fn default() -> Self {
        toml::from_str("").expect("every VadConfig field has a default")
    }
}

/// One `[[source]]`: `kind = "mic" | "file" | "stdin"` plus that kind's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// A microphone through ALSA (cpal).
    Mic(MicSourceConfig),
    /// A WAV file.
    File(FileSourceConfig),
    /// Raw PCM on standard input.
    Stdin(StdinSourceConfig),
}

/// `kind = "mic"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicSourceConfig {
    /// The source's name: the `{source}` part of its topics. Default: `mic`.
    #[serde(default = "defaults::mic_name")]
    pub name: String,
    /// Input device name as `perceptd capture --list` shows it; the default input when unset.
    pub device: Option<String>,
    /// Capture ring buffer, milliseconds: how long the pipeline may stall before audio is
    /// dropped (counted). Default: 2000.
    #[serde(default = "defaults::ring_ms")]
    pub ring_ms: u32,
}

/// `kind = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The source's name. Default: `file`.
    #[serde(default = "defaults::file_name")]
    pub name: String,
    /// The WAV file (any rate, any channel count, 8/16/24/32-bit PCM or float).
    pub path: PathBuf,
    /// Play it in real time like a live microphone (true) or as fast as inference allows
    /// (false: the endpointer waits for inference when `speech.max_backlog_ms` is reached, so
    /// no audio is shed and the finals are the same as in real time). Default: true.
    #[serde(default = "defaults::yes")]
    pub realtime: bool,
    /// Start again at the end. Default: false (the daemon exits when the file ends).
    #[serde(default, rename = "loop")]
    pub looping: bool,
}

/// `kind = "stdin"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// The source's name. Default: `stdin`.
    #[serde(default = "defaults::stdin_name")]
    pub name: String,
    /// Sample format: `s16le` or `f32le`.
    pub format: String,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Interleaved channels. Default: 1.
    #[serde(default = "defaults::one")]
    pub channels: u16,
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Mic(c) => &c.name,
            SourceConfig::File(c) => &c.name,
            SourceConfig::Stdin(c) => &c.name,
        }
    }
}

/// Default values, one function per field (serde needs functions).
mod defaults {
    pub fn stats_interval_secs() -> u64 {
        60
    }
    pub fn model() -> String {
        "tiny.en".into()
    }
    pub fn partial_interval_ms() -> u64 {
        1000
    }
    pub fn encode_window() -> String {
        "full".into()
    }
    pub fn engine() -> String {
        "native".into()
    }
    pub fn span_pad_ms() -> u32 {
        1000
    }
    pub fn max_backlog_ms() -> u64 {
        30_000
    }
    pub fn no_speech_threshold() -> f32 {
        0.6
    }
    pub fn min_vad_speech_prob() -> f32 {
        0.6
    }
    pub fn logprob_threshold() -> f32 {
        -1.0
    }
    pub fn compression_ratio_threshold() -> f32 {
        2.4
    }
    pub fn max_ngram_repeats() -> usize {
        2
    }
    pub fn context_previous_ms() -> u64 {
        10_000
    }
    pub fn context_gap_ms() -> u64 {
        1000
    }
    pub fn vad_threshold() -> f32 {
        0.5
    }
    pub fn min_speech_ms() -> u32 {
        250
    }
    pub fn min_silence_ms() -> u32 {
        500
    }
    pub fn speech_pad_ms() -> u32 {
        200
    }
    pub fn max_utterance_ms() -> u32 {
        20_000
    }
    pub fn soft_max_utterance_ms() -> u32 {
        2_000
    }
    pub fn soft_min_silence_ms() -> u32 {
        96
    }
    pub fn mic_name() -> String {
        "mic".into()
    }
    pub fn file_name() -> String {
        "file".into()
    }
    pub fn stdin_name() -> String {
        "stdin".into()
    }
    pub fn ring_ms() -> u32 {
        2000
    }
    pub fn yes() -> bool {
        true
    }
    pub fn one() -> u16 {
        1
    }
}
