//! Errors from loading and running the Silero VAD model.

use std::path::PathBuf;

use crate::registry::RegistryError;

/// Errors from loading or running [`super::SileroVad`].
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    /// The model is not installed or its files do not match the manifest.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The ONNX file is missing or is not the expected graph.
    #[error("{path}: {reason}")]
    BadModel {
        /// The ONNX file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A chunk had the wrong number of samples.
    #[error("a VAD chunk must have exactly {expected} samples (16 kHz), got {actual}")]
    ChunkLength {
        /// [`super::CHUNK_SAMPLES`].
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A chunk held NaN or an infinity.
    #[error("VAD samples must be finite, got {value} at index {index} of the chunk")]
    NonFiniteSample {
        /// Index of the first bad sample in the chunk.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// tract failed while running the graph.
    #[error("VAD inference failed: {message}")]
    Inference {
        /// tract's error chain.
        message: String,
    },
}
