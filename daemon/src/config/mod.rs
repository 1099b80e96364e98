//! `perceptd run`'s configuration: a TOML file parsed with unknown keys rejected
//! ([`ConfigFile`]), then compiled into a typed [`Config`] that reports every problem at once,
//! each with its key path. Every string is parsed here, once; nothing downstream reads the file.
//!
//! Every field's `///` doc is its reference documentation; `configs/example-full.toml` shows them
//! all with their defaults. A `[[source]]` or `[[camera]]` kind's table lives next to its source
//! (`sources/`, `frames/`), with the `build()` that checks it.

mod cameras;
mod compile;
mod file;
mod metrics;
mod speech;
mod vision;
mod vision_plan;

pub use compile::{Config, ConfigError, is_topic_safe};
pub use file::{ConfigFile, LogConfig, SpeechConfig};
pub use metrics::MetricsConfig;
pub use speech::SpeechSettings;
pub use vision::{ClipConfig, VisionConfig};
pub use vision_plan::VisionPlan;

#[cfg(test)]
mod tests;
