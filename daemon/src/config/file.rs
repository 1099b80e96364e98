//! The config file's shape, exactly as written in TOML.

use std::path::PathBuf;

use serde::Deserialize;

use percept_models::vad::EndpointConfig;

use super::metrics::MetricsConfig;
use super::vision::VisionConfig;
use crate::homeassistant::HomeAssistantConfig;
use crate::publish::mqtt::MqttConfig;
use crate::sources::SourceConfig;

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
    /// Where perceptd keeps state across restarts (the durable outbox, `{state_dir}/outbox`).
    /// Default: `$STATE_DIRECTORY` (systemd's `StateDirectory=`), else
    /// `$XDG_STATE_HOME/perceptd`, else `~/.local/state/perceptd`.
    pub state_dir: Option<PathBuf>,
    /// The MQTT connection. Without `mqtt.url`, perceptd starts an embedded broker on 127.0.0.1.
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Home Assistant MQTT discovery (docs/homeassistant.md).
    #[serde(default)]
    pub homeassistant: HomeAssistantConfig,
    /// Prometheus metrics over HTTP (off unless `metrics.listen` is set).
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Speech recognition.
    #[serde(default)]
    pub speech: SpeechConfig,
    /// Voice activity detection and endpointing: Silero VAD v6 and the endpointer, whose
    /// settings these are (every field is documented on [`EndpointConfig`]).
    #[serde(default)]
    pub vad: EndpointConfig,
    /// Audio sources, each a `[[source]]` table. None (and no `[[camera]]` either): the default
    /// microphone, or the bundled demo clip looping when no microphone works.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// The image model and what is published from it (used when a `[[camera]]` exists).
    #[serde(default)]
    pub vision: VisionConfig,
    /// Frame sources, each a `[[camera]]` table shaped as a
    /// [`CameraConfig`](crate::frames::CameraConfig). None: no vision. Kept as tables here and
    /// read one by one when the config is compiled, so a mistake in one camera is listed with
    /// its key path next to every other problem instead of stopping the parse.
    #[serde(default, rename = "camera")]
    pub cameras: Vec<toml::Table>,
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
    /// How log lines are written: `text` (one readable line per event) or `json` (one JSON object
    /// per line with `timestamp`, `level`, `message`, the event's fields and `target`, for log
    /// shippers). Either way colour only on a terminal, and in systemd's journal no timestamps of
    /// perceptd's own and the level as a syslog priority prefix. Read at start. Default: `text`.
    #[serde(default)]
    pub format: crate::logging::LogFormat,
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
    pub fn yes() -> bool {
        true
    }
}
