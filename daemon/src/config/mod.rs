//! `perceptd run`'s configuration: a TOML file parsed with unknown keys rejected, then validated
//! into a [`Config`] that reports every problem at once, each with its key path.
//!
//! Every field's `///` doc is its reference documentation; `configs/example-full.toml` shows them
//! all with their defaults.

mod file;
mod validate;
mod vision;

pub use file::{
    ConfigFile, FileSourceConfig, LogConfig, MicSourceConfig, SourceConfig, SpeechConfig,
    StdinSourceConfig, VadConfig,
};
pub use validate::{Config, ConfigError};
pub use vision::{CAMERA_KINDS, CameraConfig, ClipConfig, VisionConfig};
