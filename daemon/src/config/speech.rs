//! `[speech]` compiled: the model, the engine, and how finals and partials are transcribed and
//! judged.

use percept_dsp::rate::ms_to_samples;
use percept_models::registry::{KNOWN_MODELS, KnownModel, ModelFamily, known_model};
use percept_models::whisper::{
    EncodeWindow, EngineKind, EngineOptions, Precision, TranscribeOptions,
};

use super::file::SpeechConfig;
use crate::pipeline::{ContextLimits, GuardThresholds};

/// Token budget per second of utterance: about 3× what fast speech needs; stops the runaway
/// repetition loops Whisper can fall into on short or noisy clips (they cost seconds of CPU).
const MAX_TOKENS_PER_SECOND: f32 = 12.0;

/// The checked `[speech]` section (what the inference worker needs besides topics and QoS).
#[derive(Debug, Clone)]
pub struct SpeechSettings {
    /// Whisper model name, as the registry knows it.
    pub model: String,
    /// Matmul threads for inference; 0 means one per core.
    pub threads: usize,
    /// The engine and precision (`speech.engine`, `speech.precision`), one thread.
    pub engine: EngineOptions,
    /// Options for finals (temperature fallback included; the window is `encode_window`).
    pub final_options: TranscribeOptions,
    /// Options for partials: greedy, and only the audio so far is encoded (a span window).
    pub partial_options: TranscribeOptions,
    /// The guards' thresholds.
    pub guards: GuardThresholds,
    /// Repeats of a phrase kept by the n-gram guard.
    pub max_ngram_repeats: usize,
    /// When a final is prompted with, or transcribed after, the previous final.
    pub context: ContextLimits,
}

impl SpeechConfig {
    /// Checks every rule, pushing `speech.…: rule` lines onto `problems`; the settings when
    /// they pass.
    pub fn compile(&self, problems: &mut Vec<String>) -> Option<SpeechSettings> {
        let before = problems.len();
        let s = self;
        check_model(&s.model, problems);
        let span = EncodeWindow::Span {
            pad_ms: s.span_pad_ms,
            min_ms: s.span_min_ms,
        };
        let window = match s.encode_window.as_str() {
            "full" => Some(EncodeWindow::Full),
            "span" => Some(span),
            other => {
                problems.push(format!(
                    "speech.encode_window: must be \"span\" or \"full\", got {other:?}"
                ));
                None
            }
        };
        check_ranges(s, problems);
        let engine = engine_options(s, problems);
        let window = window.filter(|_| problems.len() == before)?;
        let final_options = TranscribeOptions {
            language: s.language.clone(),
            compression_ratio_threshold: Some(s.compression_ratio_threshold),
            logprob_threshold: Some(s.logprob_threshold),
            no_speech_threshold: Some(s.no_speech_threshold),
            condition_on_previous_text: false,
            window,
            max_tokens_per_second: Some(MAX_TOKENS_PER_SECOND),
            // The worker judges no-speech itself, with the VAD's evidence (pipeline/worker.rs).
            skip_silence: false,
            ..TranscribeOptions::default()
        };
        // Partials are cheap and replaced by the final: only the audio so far is encoded.
        let partial_options = TranscribeOptions {
            temperatures: vec![0.0],
            window: span,
            ..final_options.clone()
        };
        Some(SpeechSettings {
            model: s.model.clone(),
            threads: s.threads,
            engine,
            final_options,
            partial_options,
            guards: GuardThresholds {
                logprob: s.logprob_threshold,
                no_speech: s.no_speech_threshold,
                min_vad_speech_prob: s.min_vad_speech_prob,
                compression_ratio: s.compression_ratio_threshold,
            },
            max_ngram_repeats: s.max_ngram_repeats,
            context: ContextLimits {
                prompt_previous_samples: ms_to_samples(s.prompt_previous_ms),
                context_previous_samples: ms_to_samples(s.context_previous_ms),
                context_gap_samples: ms_to_samples(s.context_gap_ms),
            },
        })
    }
}

/// `speech.model` must be a Whisper model the registry knows.
fn check_model(model: &str, problems: &mut Vec<String>) {
    let is_whisper = |m: &KnownModel| m.family == ModelFamily::Whisper;
    if !known_model(model).is_some_and(is_whisper) {
        let known: Vec<&str> = KNOWN_MODELS
            .iter()
            .filter(|m| is_whisper(m))
            .map(|m| m.name)
            .collect();
        problems.push(format!(
            "speech.model: {model:?} is not a Whisper model perceptd knows; known: {}",
            known.join(", ")
        ));
    }
}

/// `speech.engine` and `speech.precision` (default int8 on native, f32 on tract).
fn engine_options(s: &SpeechConfig, problems: &mut Vec<String>) -> EngineOptions {
    let engine = s.engine.parse::<EngineKind>().unwrap_or_else(|e| {
        problems.push(format!("speech.engine: {e}"));
        EngineKind::Native
    });
    let default = match engine {
        EngineKind::Native => Precision::Int8,
        EngineKind::Tract => Precision::F32,
    };
    let precision = match &s.precision {
        None => default,
        Some(p) => p.parse::<Precision>().unwrap_or_else(|e| {
            problems.push(format!("speech.precision: {e}"));
            default
        }),
    };
    if engine == EngineKind::Tract && precision != Precision::F32 {
        problems.push(format!(
            "speech.precision: the tract engine runs f32 only, got {precision:?}; use engine = \"native\" for int8"
        ));
    }
    EngineOptions {
        engine,
        precision,
        threads: 1,
    }
}

/// Reports `key` when `value` is above `max` (`why` follows the bound in the message).
fn at_most(problems: &mut Vec<String>, key: &str, value: u64, max: u64, why: &str) {
    if value > max {
        problems.push(format!("{key}: must be <= {max}{why}, got {value}"));
    }
}

/// The numeric rules of `[speech]`.
fn check_ranges(s: &SpeechConfig, problems: &mut Vec<String>) {
    if s.partial_interval_ms != 0 && s.partial_interval_ms < 200 {
        problems.push(format!(
            "speech.partial_interval_ms: must be 0 (off) or >= 200, got {}",
            s.partial_interval_ms
        ));
    }
    let (pad, min) = (s.span_pad_ms.into(), s.span_min_ms.into());
    at_most(problems, "speech.span_pad_ms", pad, 30_000, "");
    at_most(problems, "speech.span_min_ms", min, 30_000, "");
    if s.max_backlog_ms < 5_000 {
        problems.push(format!(
            "speech.max_backlog_ms: must be >= 5000, got {}",
            s.max_backlog_ms
        ));
    }
    for (key, p) in [
        ("no_speech_threshold", s.no_speech_threshold),
        ("min_vad_speech_prob", s.min_vad_speech_prob),
    ] {
        if !(0.0..=1.0).contains(&p) {
            problems.push(format!("speech.{key}: must be within 0..=1, got {p}"));
        }
    }
    if !s.logprob_threshold.is_finite() || s.logprob_threshold > 0.0 {
        problems.push(format!(
            "speech.logprob_threshold: must be <= 0, got {}",
            s.logprob_threshold
        ));
    }
    if !s.compression_ratio_threshold.is_finite() || s.compression_ratio_threshold <= 1.0 {
        problems.push(format!(
            "speech.compression_ratio_threshold: must be > 1, got {}",
            s.compression_ratio_threshold
        ));
    }
    let why = " (one window)";
    at_most(
        problems,
        "speech.context_previous_ms",
        s.context_previous_ms,
        30_000,
        why,
    );
    at_most(
        problems,
        "speech.context_gap_ms",
        s.context_gap_ms,
        60_000,
        "",
    );
    if s.max_ngram_repeats == 0 {
        problems.push("speech.max_ngram_repeats: must be >= 1, got 0".into());
    }
}
