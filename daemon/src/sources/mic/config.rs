//! `[[source]] kind = "mic"`.

use serde::Deserialize;

use super::MicSource;
use crate::sources::SourceError;

/// The ring sizes a config may ask for, milliseconds.
const RING_MS: std::ops::RangeInclusive<u32> = 100..=60_000;

/// `kind = "mic"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicSourceConfig {
    /// The source's name: the `{source}` part of its topics. Default: `mic`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Input device name as `perceptd capture --list` shows it; the default input when unset.
    pub device: Option<String>,
    /// Capture ring buffer, milliseconds: how long the pipeline may stall before audio is
    /// dropped (counted). Default: 2000.
    #[serde(default = "default_ring_ms")]
    pub ring_ms: u32,
}

fn default_name() -> String {
    "mic".into()
}

fn default_ring_ms() -> u32 {
    2000
}

/// A checked microphone source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicPlan {
    /// The device; the default input when `None`.
    pub device: Option<String>,
    /// The ring buffer, milliseconds.
    pub ring_ms: u32,
}

impl MicSourceConfig {
    /// Checks the fields (problems under `key`); the plan when they pass.
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<MicPlan> {
        if !RING_MS.contains(&self.ring_ms) {
            problems.push(format!(
                "{key}.ring_ms: must be within {}..={}, got {}",
                RING_MS.start(),
                RING_MS.end(),
                self.ring_ms
            ));
            return None;
        }
        Some(MicPlan {
            device: self.device.clone(),
            ring_ms: self.ring_ms,
        })
    }
}

impl MicPlan {
    /// Opens the device.
    pub fn open(&self) -> Result<MicSource, SourceError> {
        MicSource::open(self.device.as_deref(), self.ring_ms)
    }
}
