//! Whisper speech recognition: model configuration, tokenizer, encoder/decoder on the native kernels or tract, decoding.
//!
//! Audio constants (sample rate, FFT size, hop) live in [`percept_dsp::whisper_mel`]; this module holds
//! the model-side ones.

pub mod config;
pub mod decode;
pub mod engine;
pub mod error;
pub mod filters;
pub mod model;
pub mod native;
pub mod repeat_guard;
pub mod repeats;
pub mod tokenizer;
mod tract_engine;
pub mod transcribe;
pub mod vad_cut;

pub use config::WhisperConfig;
pub use decode::{DecodeOptions, DecodingResult, Task};
pub use engine::{EngineKind, EngineOptions, Precision};
pub use error::WhisperError;
pub use model::{AudioFeatures, CrossKv, DecoderSession, WhisperModel};
pub use repeat_guard::{RepeatGuard, SuppressedSegment};
pub use repeats::collapse_repeated_ngrams;
pub use tokenizer::Tokenizer;
pub use transcribe::{
    EncodeWindow, LeftContext, Segment, TranscribeOptions, Transcriber, Transcript,
};

/// Seconds per timestamp token (`<|0.02|>` steps).
pub const TIME_PRECISION_SECS: f32 = 0.02;
/// Mel frames per encoder output position (conv2 has stride 2).
pub const INPUT_STRIDE: usize = 2;
