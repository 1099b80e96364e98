//! The listening switch of one audio source: paused, the source captures nothing (every sample
//! becomes silence before the VAD) until resumed. Set over MQTT (`…/listening/set`) or Home
//! Assistant's switch; the choice survives restarts in `{state_dir}/listening/{source}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The payload of a listening source (state topic and command).
pub const ON: &str = "ON";
/// The payload of a paused source.
pub const OFF: &str = "OFF";

/// One source's switch; clones share the state.
#[derive(Debug, Clone)]
pub struct ListeningSwitch {
    source: Arc<str>,
    listening: Arc<AtomicBool>,
    /// Where a pause is remembered; `None`: not across restarts.
    file: Option<PathBuf>,
}

impl ListeningSwitch {
    /// The switch of `source`, listening unless a pause was saved under `state_dir`.
    pub fn load(source: &str, state_dir: Option<&Path>) -> Self {
        let file = state_dir.map(|dir| dir.join("listening").join(source));
        let paused = file
            .as_deref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .is_some_and(|s| s.trim() == OFF);
        if paused {
            tracing::warn!(
                source,
                "source is paused (saved from an earlier run): it captures nothing until \
                 {ON} is sent to its listening/set topic"
            );
        }
        Self {
            source: source.into(),
            listening: Arc::new(AtomicBool::new(!paused)),
            file,
        }
    }

    /// The source's name.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the source is listening (not paused).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// `ON` or `OFF`, as published on the state topic.
    pub fn state_payload(&self) -> &'static str {
        if self.is_listening() { ON } else { OFF }
    }

    /// Sets the switch; returns whether it changed. A change is logged and saved (a failed save
    /// is one warning: the switch still holds for this run).
    pub fn set(&self, listening: bool) -> bool {
        if self.listening.swap(listening, Ordering::Relaxed) == listening {
            return false;
        }
        if listening {
            tracing::info!(source = %self.source, "source resumed: listening");
        } else {
            tracing::info!(
                source = %self.source,
                "source paused: it captures nothing (every sample is silence) until resumed"
            );
        }
        if let Some(file) = &self.file
            && let Err(e) = save(file, listening)
        {
            tracing::warn!(
                source = %self.source,
                file = %file.display(),
                error = %e,
                "could not save the listening switch; it holds until the daemon restarts"
            );
        }
        true
    }
}

/// Parses a command payload: `ON`/`OFF` (any case, surrounding white space allowed).
pub fn parse_command(payload: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    if text.eq_ignore_ascii_case(ON) {
        Some(true)
    } else if text.eq_ignore_ascii_case(OFF) {
        Some(false)
    } else {
        None
    }
}

fn save(file: &Path, listening: bool) -> std::io::Result<()> {
    if listening {
        match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    } else {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(file, OFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_saved_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let switch = ListeningSwitch::load("mic", Some(dir.path()));
        assert!(switch.is_listening());
        assert!(switch.set(false));
        assert!(!switch.set(false), "no change");
        assert_eq!(switch.state_payload(), OFF);
        assert!(!ListeningSwitch::load("mic", Some(dir.path())).is_listening());
        assert!(ListeningSwitch::load("door", Some(dir.path())).is_listening());
        switch.set(true);
        assert!(ListeningSwitch::load("mic", Some(dir.path())).is_listening());
    }

    #[test]
    fn commands_are_on_or_off_and_nothing_else() {
        assert_eq!(parse_command(b"ON"), Some(true));
        assert_eq!(parse_command(b" off\n"), Some(false));
        assert_eq!(parse_command(b"1"), None);
        assert_eq!(parse_command(&[0xff, 0xfe]), None);
        assert_eq!(parse_command(b""), None);
    }
}
