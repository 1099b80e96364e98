//! `model.json`: the dimensions of a converted Whisper model.

use serde::Deserialize;
use std::path::Path;

use super::error::WhisperError;

/// Dimensions and vocabulary of a converted Whisper model, read from its `model.json`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WhisperConfig {
    /// Model name, e.g. `tiny.en`.
    pub name: String,
    /// Mel bins the encoder expects (80 or 128).
    pub n_mels: usize,
    /// Vocabulary size including special and timestamp tokens.
    pub n_vocab: usize,
    /// Encoder positions for a 30 s window (1500).
    pub n_audio_ctx: usize,
    /// Encoder width.
    pub n_audio_state: usize,
    /// Encoder attention heads.
    pub n_audio_head: usize,
    /// Encoder layers.
    pub n_audio_layer: usize,
    /// Maximum decoder positions (448).
    pub n_text_ctx: usize,
    /// Decoder width.
    pub n_text_state: usize,
    /// Decoder attention heads.
    pub n_text_head: usize,
    /// Decoder layers.
    pub n_text_layer: usize,
    /// Whether the model knows languages and tasks (multilingual vocabulary).
    pub multilingual: bool,
    /// The tiktoken vocabulary file in the model directory.
    pub vocab_file: String,
}

impl WhisperConfig {
    /// Reads and checks `model.json`.
    pub fn from_file(path: &Path) -> Result<Self, WhisperError> {
        let text = std::fs::read_to_string(path).map_err(|e| WhisperError::io(path, e))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| WhisperError::BadModel {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), WhisperError> {
        let bad = |reason: String| WhisperError::BadModel {
            path: path.to_path_buf(),
            reason,
        };
        if self.n_mels != 80 && self.n_mels != 128 {
            return Err(bad(format!(
                "n_mels must be 80 or 128, got {}",
                self.n_mels
            )));
        }
        if self.n_text_ctx < 8 || self.n_audio_ctx == 0 || self.n_text_layer == 0 {
            return Err(bad("model dimensions must be positive".into()));
        }
        Ok(())
    }
}
