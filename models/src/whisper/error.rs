//! What can go wrong loading or running a Whisper model.

use std::path::{Path, PathBuf};

/// Errors from loading or running a Whisper model.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    /// A model file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A model file is present but unusable.
    #[error("{path}: {reason}")]
    BadModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The mel input does not fit the model.
    #[error("mel input must have {expected} bins and 1..={max_frames} frames, got {bins}×{frames}")]
    BadInput {
        /// Mel bins the model expects.
        expected: usize,
        /// Largest frame count.
        max_frames: usize,
        /// Bins given.
        bins: usize,
        /// Frames given.
        frames: usize,
    },
    /// The decoder ran out of positions.
    #[error("decoder context is full: {needed} positions needed, the model has {limit}")]
    ContextFull {
        /// Positions the call needed.
        needed: usize,
        /// The model's `n_text_ctx`.
        limit: usize,
    },
    /// The engine failed while running the model.
    #[error("inference failed in {graph}: {message}")]
    Inference {
        /// Which part (graph file or native stage).
        graph: &'static str,
        /// The engine's error.
        message: String,
    },
    /// The caller's stop check said stop (a partial giving way to a final): no result.
    #[error("stopped by the caller")]
    Stopped,
}

impl WhisperError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn bad_model(path: &Path, reason: impl Into<String>) -> Self {
        Self::BadModel {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
