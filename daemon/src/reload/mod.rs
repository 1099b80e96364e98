//! Reloading the config on SIGHUP (`systemctl reload perceptd`): the file is read and checked
//! again; a file with any problem is rejected whole, every problem logged with its key path,
//! and the daemon keeps running on the config it has. A good file's changes to the decoding
//! settings of `[speech]` apply to the next utterance ([`LIVE_KEYS`]); every other changed key
//! is named in one log line saying it needs a restart.

pub mod diff;
pub mod mailbox;

use std::path::PathBuf;

use crate::config::{ConfigFile, SpeechSettings};
use crate::pipeline::worker::Decoding;

pub use diff::changed_keys;
pub use mailbox::Mailbox;

/// The keys a reload applies without a restart (to the next utterance).
pub const LIVE_KEYS: &[&str] = &[
    "speech.language",
    "speech.no_speech_threshold",
    "speech.min_vad_speech_prob",
    "speech.logprob_threshold",
    "speech.compression_ratio_threshold",
    "speech.max_ngram_repeats",
    "speech.prompt_previous_ms",
    "speech.context_previous_ms",
    "speech.context_gap_ms",
    "speech.encode_window",
    "speech.span_pad_ms",
    "speech.span_min_ms",
];

/// What a reload can reach in the running daemon.
#[derive(Debug, Clone)]
pub struct Reloader {
    /// The config file.
    pub path: PathBuf,
    /// The text in force (as last loaded).
    pub text: String,
    /// `--models-dir`, which overrides the file's `models_dir` as at start.
    pub models_dir: Option<PathBuf>,
    /// The inference worker's decoding settings.
    pub decoding: Mailbox<Decoding>,
}

impl Reloader {
    /// Reads and checks the file again and applies what can change live; never fails: every
    /// outcome is logged.
    pub fn reload(&mut self) {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(
                    file = %self.path.display(),
                    "reload rejected: cannot read the config ({e}); still running on the old one"
                );
                return;
            }
        };
        let origin = self.path.display().to_string();
        let parsed = ConfigFile::parse(&text, &origin).map(|mut file| {
            if let Some(dir) = &self.models_dir {
                file.models_dir = Some(dir.clone());
            }
            file
        });
        let config = match parsed.and_then(|file| file.compile(&origin)) {
            Ok(config) => config,
            Err(e) => {
                for line in e.to_string().lines() {
                    tracing::error!("reload rejected: {}", line.trim());
                }
                tracing::error!("reload rejected; still running on the old config");
                return;
            }
        };
        let changed = changed_keys(&self.text, &text);
        if changed.is_empty() {
            tracing::info!("reload: the config is unchanged");
            return;
        }
        let (live, restart): (Vec<&String>, Vec<&String>) = changed
            .iter()
            .partition(|k| LIVE_KEYS.contains(&k.as_str()));
        for key in &restart {
            tracing::warn!(key = %key, "reload: {key} changed; it takes effect after a restart");
        }
        if !live.is_empty() {
            self.decoding.post(decoding_of(&config.speech));
            tracing::info!(keys = ?live, "reload: applied to the next utterance");
        }
        self.text = text;
    }
}

/// The worker's decoding settings from `[speech]`.
pub fn decoding_of(speech: &SpeechSettings) -> Decoding {
    Decoding {
        final_options: speech.final_options.clone(),
        partial_options: speech.partial_options.clone(),
        guards: speech.guards,
        max_ngram_repeats: speech.max_ngram_repeats,
        context: speech.context,
    }
}
