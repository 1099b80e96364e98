//! Model loading and decoding for perceptd.
//!
//! - [`whisper`]: Whisper speech recognition on tract-onnx (encoder, KV-cached decoder, tokenizer,
//!   greedy decoding with the reference's rules, long-form transcription).
//! - [`vad`]: voice activity detection: Silero VAD v6 on tract (one cheap session per audio
//!   stream) and an endpointer that turns its speech probabilities into utterance boundaries.
//! - [`clip`]: CLIP support: the BPE tokenizer (zero-shot labels and the encoders build on it).
//! - [`registry`]: the model files perceptd knows, their manifests and sha256 verification.
//! - `eval` (feature `eval`): text normalisation and word error rate, for tests and benchmarks.

pub mod clip;
#[cfg(feature = "eval")]
pub mod eval;
pub mod imagenet;
pub mod onnx_graph;
pub mod registry;
pub mod vad;
pub mod vision;
pub mod whisper;
