//! Voice activity detection: the Silero VAD v6 model on tract ([`SileroVad`], with one
//! [`VadSession`] per audio stream) and a model-free [`Endpointer`] that turns its per-chunk
//! speech probabilities into utterance boundaries.
//!
//! ```text
//! 16 kHz mono ─► 512-sample chunks ─► VadSession::process_chunk ─► probability
//!                                                                   │
//!                                     Endpointer::push ◄────────────┘ ─► VadEvent::{Start, End}
//! ```

pub mod endpoint;
pub mod error;
pub mod silero;

pub use endpoint::{EndpointConfig, EndpointConfigError, Endpointer, VadEvent};
pub use error::VadError;
pub use silero::{SileroVad, VadSession};

/// The sample rate the model and the endpointer work at, in Hz (the pipeline's one rate).
pub use percept_dsp::rate::SAMPLE_RATE;
/// New samples per model call (32 ms at 16 kHz).
pub const CHUNK_SAMPLES: usize = 512;
/// Samples of the previous chunk the model sees again in front of each new chunk.
pub const CONTEXT_SAMPLES: usize = 64;
/// The recurrent state's shape, `[2, batch 1, 128]`, fed back on every call.
pub const STATE_SHAPE: [usize; 3] = [2, 1, 128];
/// The model's name in the registry (`perceptd models fetch` installs it by default).
pub const MODEL_NAME: &str = "silero-vad";
/// The ONNX file inside the installed model directory: upstream's
/// `silero_vad/data/silero_vad_openvino_16k.onnx`, kept under its own name. It is the one export
/// in the wheel without `If` nodes (which tract rejects); it has no sample-rate input.
pub const MODEL_FILE: &str = "silero_vad_openvino_16k.onnx";

/// Converts a duration in milliseconds to samples at [`SAMPLE_RATE`].
pub const fn ms_to_samples(ms: u32) -> u64 {
    ms as u64 * SAMPLE_RATE as u64 / 1000
}
