//! The demo: what `perceptd run` does without `--config`.

use crate::config::{Config, ConfigError};

/// configs/demo.toml, built into the binary.
pub const DEMO_TOML: &str = include_str!("../../../configs/demo.toml");

/// The clip looped when no microphone works (configs/demo-speech.wav, made by
/// scripts/make_demo_wav.sh).
pub const DEMO_WAV: &[u8] = include_bytes!("../../../configs/demo-speech.wav");

/// The demo config: embedded broker, default microphone (else the demo clip), every published
/// message logged.
pub fn demo_config() -> Result<Config, ConfigError> {
    Config::from_toml(DEMO_TOML, "configs/demo.toml (built in)")
}
