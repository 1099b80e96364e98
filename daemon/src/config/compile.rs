//! Parsing and compiling: the file becomes typed settings, and every problem is reported at
//! once, each with its key path.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use percept_dsp::rate::ms_to_samples;
use percept_models::vad::EndpointConfig;

use super::cameras::{compile_cameras, unknown_camera_key};
use super::file::{ConfigFile, LogConfig};
use super::speech::SpeechSettings;
use super::vision_plan::VisionPlan;
use crate::frames::CameraPlan;
use crate::homeassistant::HomeAssistantConfig;
use crate::outbox::OutboxSettings;
use crate::pipeline::TrackerSettings;
use crate::publish::mqtt::MqttConfig;
use crate::sources::{SourceConfig, SourcePlan};

/// A config that parsed and passed every rule, compiled into what each part of the daemon
/// needs. Nothing downstream reads the file itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// The device name used in topics.
    pub device: String,
    /// The models directory in force.
    pub models_dir: PathBuf,
    /// The state directory in force (`state_dir`, or its default).
    pub state_dir: PathBuf,
    /// The MQTT connection (checked; no `url` means the embedded broker).
    pub mqtt: MqttConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[homeassistant]` (checked).
    pub homeassistant: HomeAssistantConfig,
    /// Where `/metrics` is served (`metrics.listen`); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether the audio pipeline runs (`speech.enabled`, or its default).
    pub audio_enabled: bool,
    /// `[speech]`.
    pub speech: SpeechSettings,
    /// The endpointer and shedding settings of every source (`[vad]` and `[speech]`).
    pub tracker: TrackerSettings,
    /// The `[[source]]` tables, in order; none means the default microphone (else the demo
    /// clip) when audio is enabled.
    pub sources: Vec<SourcePlan>,
    /// `[vision]` (loaded when a camera exists).
    pub vision: VisionPlan,
    /// The `[[camera]]` tables, in order.
    pub cameras: Vec<CameraPlan>,
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
    /// The durable outbox's settings; `None` when `mqtt.outbox_max_bytes = 0` turns it off.
    pub fn outbox(&self) -> Option<OutboxSettings> {
        (self.mqtt.outbox_max_bytes > 0).then(|| {
            OutboxSettings::new(
                &self.state_dir,
                self.mqtt.outbox_fsync,
                self.mqtt.outbox_max_bytes,
            )
        })
    }

    /// Reads, parses and compiles the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::load(path, None)
    }

    /// Reads, parses and compiles the TOML file at `path`, with `models_dir` (`--models-dir`)
    /// in place of the file's when given.
    pub fn load(path: &Path, models_dir: Option<&Path>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let mut file = ConfigFile::parse(&text, &origin)?;
        if let Some(dir) = models_dir {
            file.models_dir = Some(dir.to_path_buf());
        }
        file.compile(&origin)
    }

    /// Parses and compiles TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        ConfigFile::parse(text, origin)?.compile(origin)
    }
}

impl ConfigFile {
    /// Parses TOML text (unknown keys are errors); `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let file: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: one_paragraph(&e.to_string()),
        })?;
        match unknown_camera_key(&file.cameras) {
            Some(message) => Err(ConfigError::Parse {
                path: origin.to_string(),
                message,
            }),
            None => Ok(file),
        }
    }

    /// Checks every rule and compiles the typed settings, reporting all problems together;
    /// `origin` names the file in errors.
    pub fn compile(self, origin: &str) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let device = match &self.device {
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
        let models_dir = self
            .models_dir
            .clone()
            .unwrap_or_else(percept_models::registry::default_models_dir);
        let state_dir = self
            .state_dir
            .clone()
            .unwrap_or_else(crate::outbox::default_state_dir);
        if self
            .state_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            problems.push("state_dir: must not be empty (leave it out for the default)".into());
        }
        let mqtt_problems = self.mqtt.validate("mqtt");
        if mqtt_problems.is_empty() {
            problems.extend(crate::publish::mqtt::credentials::check_files(&self.mqtt));
        }
        problems.extend(mqtt_problems);
        check_homeassistant(&self.homeassistant, &mut problems);
        let metrics_listen = self.metrics.build(&mut problems);
        let speech = self.speech.compile(&mut problems);
        check_vad(&self.vad, &mut problems);
        let sources = compile_sources(&self.sources, &mut problems);
        let vision = self.vision.compile(&models_dir, &mut problems);
        let limits = vision
            .as_ref()
            .map_or_else(Default::default, |v| v.decode_limits);
        let source_names: HashSet<&str> = self.sources.iter().map(SourceConfig::name).collect();
        let cameras = compile_cameras(&self.cameras, limits, &source_names, &mut problems);
        let audio_enabled = self
            .speech
            .enabled
            .unwrap_or(!self.sources.is_empty() || self.cameras.is_empty());
        if !audio_enabled && !self.sources.is_empty() {
            problems.push(
                "speech.enabled: is false, but [[source]] tables are configured; remove one or the other"
                    .into(),
            );
        }
        let (Some(speech), Some(vision), true) = (speech, vision, problems.is_empty()) else {
            return Err(ConfigError::Invalid {
                path: origin.to_string(),
                problems,
            });
        };
        let ms = ms_to_samples;
        let tracker = TrackerSettings {
            endpoint: self.vad,
            partial_interval_samples: ms(self.speech.partial_interval_ms),
            max_backlog_samples: ms(self.speech.max_backlog_ms),
            speech_pad_samples: ms(u64::from(self.vad.speech_pad_ms)),
            wait_for_backlog: false,
            early_finals: self.speech.early_finals,
        };
        Ok(Config {
            device,
            models_dir,
            state_dir,
            mqtt: self.mqtt,
            log: self.log,
            homeassistant: self.homeassistant,
            metrics_listen,
            audio_enabled,
            speech,
            tracker,
            sources,
            vision,
            cameras,
        })
    }
}

/// `[homeassistant]`: a prefix that is one or more topic levels, an instance that is not empty.
fn check_homeassistant(ha: &HomeAssistantConfig, problems: &mut Vec<String>) {
    let prefix = &ha.discovery_prefix;
    if prefix.is_empty() || prefix.split('/').any(|level| !is_topic_safe(level)) {
        problems.push(format!(
            "homeassistant.discovery_prefix: must be topic levels of letters, digits, '-' or '_' \
             separated by '/', got {prefix:?}"
        ));
    }
    if ha.instance.as_ref().is_some_and(|i| i.trim().is_empty()) {
        problems.push(
            "homeassistant.instance: must not be empty (leave it out for the default)".into(),
        );
    }
}

/// `[vad]`: the endpointer's own rules, under `vad.`.
fn check_vad(vad: &EndpointConfig, problems: &mut Vec<String>) {
    if let Err(e) = vad.validate() {
        problems.extend(e.problems.iter().map(|p| format!("vad.{p}")));
    }
}

/// Every `[[source]]`, and the rules across them (unique names, one stdin).
fn compile_sources(sources: &[SourceConfig], problems: &mut Vec<String>) -> Vec<SourcePlan> {
    let mut names = HashSet::new();
    let mut plans = Vec::new();
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
        plans.extend(source.build(&key, problems));
    }
    let stdin_count = sources
        .iter()
        .filter(|s| matches!(s, SourceConfig::Stdin(_)))
        .count();
    if stdin_count > 1 {
        problems.push("source: at most one source may read stdin".into());
    }
    plans
}

/// Whether a name can be used as one MQTT topic level.
pub fn is_topic_safe(name: &str) -> bool {
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

    #[test]
    fn the_default_device_is_topic_safe() {
        assert!(is_topic_safe(&default_device()));
    }
}
