//! `[[source]]`: one tagged table per source, checked into a [`SourcePlan`] that opens it.
//!
//! Each kind's table and its `build()` live next to the source itself (`mic/config.rs`,
//! `file.rs`, `stdin.rs`); adding a kind means a variant here and a file in this folder.

use serde::Deserialize;

use super::file::{FilePlan, FileSourceConfig};
use super::mic::config::{MicPlan, MicSourceConfig};
use super::stdin::{StdinPlan, StdinSourceConfig};
use super::{AudioSource, SourceError};

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

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Mic(c) => &c.name,
            SourceConfig::File(c) => &c.name,
            SourceConfig::Stdin(c) => &c.name,
        }
    }

    /// Checks the kind's fields, pushing `key.field: rule` lines onto `problems`; the plan when
    /// they pass. (Rules across sources, such as unique names, are the config's.)
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<SourcePlan> {
        let open = match self {
            SourceConfig::Mic(c) => OpenSource::Mic(c.build(key, problems)?),
            SourceConfig::File(c) => OpenSource::File(c.build(key, problems)?),
            SourceConfig::Stdin(c) => OpenSource::Stdin(c.build(key, problems)?),
        };
        Some(SourcePlan {
            name: self.name().to_string(),
            open,
        })
    }
}

/// A checked `[[source]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    /// The `{source}` part of its topics.
    pub name: String,
    /// What to open.
    pub open: OpenSource,
}

/// What a checked source opens.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenSource {
    /// A microphone.
    Mic(MicPlan),
    /// A WAV file.
    File(FilePlan),
    /// Raw PCM on standard input.
    Stdin(StdinPlan),
}

impl OpenSource {
    /// Opens the source (a bad device or file fails here, with one clear error).
    pub fn open(&self) -> Result<Box<dyn AudioSource>, SourceError> {
        Ok(match self {
            OpenSource::Mic(plan) => Box::new(plan.open()?),
            OpenSource::File(plan) => Box::new(plan.open()?),
            OpenSource::Stdin(plan) => Box::new(plan.open()?),
        })
    }

    /// Whether a failure is worth reopening the source for: a device can come back, while a
    /// corrupt file stays corrupt and stdin cannot be read twice.
    pub fn reopens(&self) -> bool {
        matches!(self, OpenSource::Mic(_))
    }

    /// Whether the source can wait for inference instead of shedding audio (a file read as
    /// fast as possible).
    pub fn can_wait(&self) -> bool {
        matches!(self, OpenSource::File(plan) if plan.pacing == super::Pacing::Fast)
    }
}
