//! Parsing and validation: every problem is reported at once, each with its key path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use percept_dsp::PcmFormat;
use percept_models::registry::ModelFamily;
use percept_models::whisper::{EncodeWindow, EngineKind, EngineOptions, Precision};

use super::file::{ConfigFile, SourceConfig};

/// A config that parsed and passed validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as written (defaults filled in).
    pub file: ConfigFile,
    /// The device name used in topics.
    pub device: String,
    /// The models directory in force.
    pub models_dir: PathBuf,
    /// The encoder window chosen by `speech.encode_window`.
    pub encode_window: EncodeWindow,
    /// The Whisper engine and precision (`speech.engine`, `speech.precision`), one thread.
    pub engine: EngineOptions,
    /// Whether the audio pipeline runs (`speech.enabled`, or its default).
    pub audio_enabled: bool,
}

/// Why a config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// toml's message, with the key and line.
        message: String,
    },
    /// Values that parse but break a rule; all of them, one per line.
    #[error("{path}: {} invalid setting(s):\n  {}", .problems.len(), .problems.join("\n  "))]
    Invalid {
        /// The file.
        path: String,
        /// `key.path: rule` lines.
        problems: Vec<String>,
    },
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: one_paragraph(&e.to_string()),
        })?;
        Self::validate(file, origin)
    }

    /// Checks every rule and reports all problems together.
    pub fn validate(file: ConfigFile, origin: &str) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let device = match &file.device {
            Some(d) => {
                if !is_topic_safe(d) {
                    problems.push(format!(
                        "device: must be 1-64 letters, digits, '-' or '_', got {d:?}"
                    ));
                }
                d.clone()
            }
            None => default_device(),
        };
        problems.extend(file.mqtt.validate("mqtt"));
        check_speech(&file, &mut problems);
        check_vad(&file, &mut problems);
        check_sources(&file.sources, &mut problems);
        super::vision::check_vision(&file.vision, &file.cameras, &mut problems);
        for camera in &file.cameras {
            if file.sources.iter().any(|s| s.name() == camera.name()) {
                problems.push(format!(
                    "camera: name {:?} is also an audio source's name",
                    camera.name()
                ));
            }
        }
        let audio_enabled = file
            .speech
            .enabled
            .unwrap_or(!file.sources.is_empty() || file.cameras.is_empty());
        if !audio_enabled && !file.sources.is_empty() {
            problems.push(
                "speech.enabled: is false, but [[source]] tables are configured; remove one or the other"
                    .into(),
            );
        }
        let encode_window = match file.speech.encode_window.as_str() {
            "full" => EncodeWindow::Full,
            _ => EncodeWindow::Span {
                pad_ms: file.speech.span_pad_ms,
                min_ms: file.speech.span_min_ms,
            },
        };
        let engine = engine_options(&file.speech, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: origin.to_string(),
                problems,
            });
        }
        let models_dir = file
            .models_dir
            .clone()
            .unwrap_or_else(percept_models::registry::default_models_dir);
        Ok(Self {
            file,
            device,
            models_dir,
            encode_window,
            engine,
            audio_enabled,
        })
    }
}

/// `speech.engine` and `speech.precision` (default int8 on native, f32 on tract).
fn engine_options(s: &super::file::SpeechConfig, problems: &mut Vec<String>) -> EngineOptions {
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

fn check_speech(file: &ConfigFile, problems: &mut Vec<String>) {
    let s = &file.speech;
    let is_whisper = |m: &percept_models::registry::KnownModel| m.family == ModelFamily::Whisper;
    if !percept_models::registry::known_model(&s.model).is_some_and(is_whisper) {
        let known: Vec<&str> = percept_models::registry::KNOWN_MODELS
            .iter()
            .filter(|m| is_whisper(m))
            .map(|m| m.name)
            .collect();
        problems.push(format!(
            "speech.model: {:?} is not a Whisper model perceptd knows; known: {}",
            s.model,
            known.join(", ")
        ));
    }
    if !matches!(s.encode_window.as_str(), "span" | "full") {
        problems.push(format!(
            "speech.encode_window: must be \"span\" or \"full\", got {:?}",
            s.encode_window
        ));
    }
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
    if !(0.0..=1.0).contains(&s.no_speech_threshold) {
        problems.push(format!(
            "speech.no_speech_threshold: must be within 0..=1, got {}",
            s.no_speech_threshold
        ));
    }
    if !(0.0..=1.0).contains(&s.min_vad_speech_prob) {
        problems.push(format!(
            "speech.min_vad_speech_prob: must be within 0..=1, got {}",
            s.min_vad_speech_prob
        ));
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
    let (previous, gap) = (s.context_previous_ms, s.context_gap_ms);
    let why = " (one window)";
    at_most(
        problems,
        "speech.context_previous_ms",
        previous,
        30_000,
        why,
    );
    at_most(problems, "speech.context_gap_ms", gap, 60_000, "");
    if s.max_ngram_repeats == 0 {
        problems.push("speech.max_ngram_repeats: must be >= 1, got 0".into());
    }
}

fn check_vad(file: &ConfigFile, problems: &mut Vec<String>) {
    let before = problems.len();
    check_vad_ranges(file, problems);
    if problems.len() == before
        && let Err(e) = file.vad.endpoint_config().validate()
    {
        problems.extend(e.problems.iter().map(|p| format!("vad.{p}")));
    }
}

fn check_vad_ranges(file: &ConfigFile, problems: &mut Vec<String>) {
    let v = &file.vad;
    if !(v.threshold > 0.0 && v.threshold < 1.0) {
        problems.push(format!(
            "vad.threshold: must be within (0, 1), got {}",
            v.threshold
        ));
    }
    if let Some(neg) = v.neg_threshold
        && !(neg > 0.0 && neg <= v.threshold)
    {
        problems.push(format!(
            "vad.neg_threshold: must be > 0 and <= vad.threshold ({}), got {neg}",
            v.threshold
        ));
    }
    if v.min_speech_ms < 32 {
        problems.push(format!(
            "vad.min_speech_ms: must be >= 32 (one VAD chunk), got {}",
            v.min_speech_ms
        ));
    }
    if v.min_silence_ms < 32 {
        problems.push(format!(
            "vad.min_silence_ms: must be >= 32 (one VAD chunk), got {}",
            v.min_silence_ms
        ));
    }
    if v.speech_pad_ms > 2_000 {
        problems.push(format!(
            "vad.speech_pad_ms: must be <= 2000, got {}",
            v.speech_pad_ms
        ));
    }
    if !(2_000..=30_000).contains(&v.max_utterance_ms) {
        problems.push(format!(
            "vad.max_utterance_ms: must be within 2000..=30000 (one Whisper window), got {}",
            v.max_utterance_ms
        ));
    }
}

fn check_sources(sources: &[SourceConfig], problems: &mut Vec<String>) {
    let mut names = HashSet::new();
    let mut stdin_count = 0;
    for (i, source) in sources.iter().enumerate() {
        let key = format!("source[{i}]");
        if !is_topic_safe(source.name()) {
            problems.push(format!(
                "{key}.name: must be 1-64 letters, digits, '-' or '_', got {:?}",
                source.name()
            ));
        }
        if !names.insert(source.name().to_string()) {
            problems.push(format!(
                "{key}.name: {:?} is used by another source",
                source.name()
            ));
        }
        match source {
            SourceConfig::Mic(mic) => {
                if !(100..=60_000).contains(&mic.ring_ms) {
                    problems.push(format!(
                        "{key}.ring_ms: must be within 100..=60000, got {}",
                        mic.ring_ms
                    ));
                }
            }
            SourceConfig::File(file) => {
                if !file.path.is_file() {
                    problems.push(format!(
                        "{key}.path: {} is not a readable file",
                        file.path.display()
                    ));
                }
            }
            SourceConfig::Stdin(stdin) => {
                stdin_count += 1;
                if let Err(e) = stdin.format.parse::<PcmFormat>() {
                    problems.push(format!("{key}.format: {e}"));
                }
                if !(1_000..=768_000).contains(&stdin.sample_rate) {
                    problems.push(format!(
                        "{key}.sample_rate: must be within 1000..=768000 Hz, got {}",
                        stdin.sample_rate
                    ));
                }
                if !(1..=32).contains(&stdin.channels) {
                    problems.push(format!(
                        "{key}.channels: must be within 1..=32, got {}",
                        stdin.channels
                    ));
                }
            }
        }
    }
    if stdin_count > 1 {
        problems.push("source: at most one source may read stdin".into());
    }
}

/// Whether a name can be used as one MQTT topic level.
pub(super) fn is_topic_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The host name made topic-safe, or `perceptd`.
fn default_device() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let cleaned: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "perceptd".into()
    } else {
        cleaned
    }
}

/// toml's multi-line message (with a source excerpt) folded into one paragraph.
fn one_paragraph(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|" && !l.starts_with("| ") && !l.starts_with('^'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<String> {
        match Config::from_toml(text, "test.toml") {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_file_is_a_valid_config_with_defaults() {
        let config = Config::from_toml("", "empty").unwrap();
        assert_eq!(config.file.speech.model, "tiny.en");
        assert_eq!(config.file.vad.min_silence_ms, 500);
        assert_eq!(config.file.log.stats_interval_secs, 60);
        assert!(config.file.sources.is_empty());
        assert_eq!(config.encode_window, EncodeWindow::Full);
    }

    #[test]
    fn the_engine_defaults_to_native_int8_and_bad_choices_are_named() {
        let config = Config::from_toml("", "t").unwrap();
        assert_eq!(config.engine, EngineOptions::native(Precision::Int8));
        let tract = Config::from_toml("[speech]\nengine = \"tract\"\n", "t").unwrap();
        assert_eq!(tract.engine, EngineOptions::tract());
        let err = Config::from_toml("[speech]\nengine = \"onnx\"\nprecision = \"fp16\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("speech.engine: unknown engine \"onnx\""),
            "{err}"
        );
        assert!(
            err.contains("speech.precision: unknown precision \"fp16\""),
            "{err}"
        );
        let err = Config::from_toml("[speech]\nengine = \"tract\"\nprecision = \"int8\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tract engine runs f32 only"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml("[speech]\nmodle = \"base\"\n", "t.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("modle"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn unknown_source_kinds_and_fields_are_rejected() {
        let err = Config::from_toml("[[source]]\nkind = \"camera\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("camera"), "{err}");
        let err = Config::from_toml("[[source]]\nkind = \"mic\"\nrate = 48000\n", "t").unwrap_err();
        assert!(err.to_string().contains("rate"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let problems = problems_of(
            r#"
device = "my box"
[speech]
model = "huge"
partial_interval_ms = 50
[vad]
threshold = 1.5
max_utterance_ms = 60000
[[source]]
kind = "stdin"
format = "u8"
sample_rate = 0
[[source]]
kind = "file"
name = "stdin"
path = "/no/such/file.wav"
"#,
        );
        let joined = problems.join("\n");
        for key in [
            "device:",
            "speech.model:",
            "speech.partial_interval_ms:",
            "vad.threshold:",
            "vad.max_utterance_ms:",
            "source[0].format:",
            "source[0].sample_rate:",
            "source[1].name:",
            "source[1].path:",
        ] {
            assert!(joined.contains(key), "missing {key} in:\n{joined}");
        }
    }

    #[test]
    fn the_default_device_is_topic_safe() {
        assert!(is_topic_safe(&default_device()));
    }
}
