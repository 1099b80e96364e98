//! perceptd: an always-on edge perception daemon.
//!
//! Today it turns speech into text with real Whisper weights on the CPU (`perceptd transcribe`),
//! provisions and verifies its models (`perceptd models`), and measures itself (`perceptd bench`).
//! The streaming daemon (`perceptd run`, MQTT) builds on these pieces.

pub mod audio_input;
pub mod cli;
pub mod commands;
pub mod health;
pub mod logging;
pub mod publish;
pub mod shutdown;
