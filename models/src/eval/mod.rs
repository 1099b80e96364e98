//! Text normalisation and word error rate (WER), for tests and benchmarks.
//!
//! Transcripts are compared the way the Whisper paper does: both the reference and the
//! hypothesis go through [`EnglishNormalizer`] (our re-implementation of openai-whisper's
//! `EnglishTextNormalizer`), are split on whitespace, and the word-level Levenshtein distance is
//! counted as substitutions, deletions and insertions ([`word_error_rate`]). Over a corpus,
//! [`wer_for_texts`] sums the edits and the reference words before dividing.
//!
//! ```
//! use percept_models::eval::{EnglishNormalizer, wer_for_texts};
//!
//! let norm = EnglishNormalizer::new();
//! let stats = wer_for_texts(&norm, &["We can't go."], &["we can not go"]).unwrap();
//! assert_eq!(stats.wer(), 0.0);
//! ```
//!
//! British→American spellings need openai-whisper's `english.json`, loaded at run time with
//! [`EnglishNormalizer::from_json_file`]; it is not part of this repository.

pub mod align;
pub mod normalize;
mod numbers;
pub mod wer;

use std::path::PathBuf;

pub use align::{Edit, align_words, stats_per_piece};
pub use normalize::EnglishNormalizer;
pub use wer::{WerStats, wer_for_text, wer_for_texts, word_error_rate};

/// Errors from loading evaluation resources or from mismatched inputs.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The spelling map is not a JSON object of strings.
    #[error("bad spelling map {path}: {source}")]
    Json {
        /// The file (empty when parsed from a string).
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A corpus has a different number of references and hypotheses.
    #[error("{references} references but {hypotheses} hypotheses")]
    LengthMismatch {
        /// Number of reference texts.
        references: usize,
        /// Number of hypothesis texts.
        hypotheses: usize,
    },
}
