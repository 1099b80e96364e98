//! CLIP: the BPE tokenizer, image and text encoders from ONNX exports, and zero-shot labels.
//!
//! - [`tokenizer`]: the BPE tokenizer on `bpe_simple_vocab_16e6.txt.gz`, with the text clean-up
//!   of the reference (`ftfy`-like fixes, HTML unescaping, lower-casing), a context of 77,
//!   start/end tokens, truncation and the attention mask;
//! - [`model`]: the image and text towers in the separate and combined export layouts;
//! - [`zero_shot`]: prompt-ensembled zero-shot labels with a prompt cache.
//!
//! No trained CLIP weights can be fetched here; the code targets the official exports'
//! layouts and I/O names, and is proven on a SYNTHETIC model (`scripts/make_synthetic_clip.py`:
//! the real architecture at reduced width with random weights).

use std::path::PathBuf;

use crate::onnx_graph::GraphError;

pub mod model;
mod text_clean;
pub mod tokenizer;
pub mod zero_shot;

pub use model::{ClipFiles, ClipModel};
pub use zero_shot::{DEFAULT_LOGIT_SCALE, DEFAULT_TEMPLATES, ZeroShot, default_templates};

/// The BPE vocabulary's place in the models directory.
pub const DEFAULT_VOCAB: &str = "clip-assets/bpe_simple_vocab_16e6.txt.gz";

/// Errors from loading or running CLIP.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// A graph failed to load, plan or run.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A graph is not a CLIP tower we can drive.
    #[error("{path}: {reason}")]
    BadModel {
        /// The ONNX file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input had the wrong length.
    #[error("the {what} must have {expected} values, got {actual}")]
    InputLength {
        /// Which input.
        what: &'static str,
        /// The length the graph takes.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The tokenizer failed (bad vocabulary file).
    #[error(transparent)]
    Tokenizer(#[from] tokenizer::TokenizerError),
    /// Zero-shot needs at least one label.
    #[error("zero-shot labels must not be empty")]
    NoLabels,
    /// A prompt template without exactly one `{}`.
    #[error("a prompt template must contain exactly one {{}}, got {0:?}")]
    BadTemplate(String),
}
