//! perceptd: an always-on edge perception daemon.
//!
//! `perceptd run` listens continuously (microphone, WAV file or stdin), finds utterances with
//! Silero VAD, transcribes them with Whisper on the CPU and publishes partial and final
//! transcripts over MQTT ([`app::run`]). `perceptd transcribe` does one file, `perceptd models`
//! provisions and verifies the models, `perceptd bench` measures.

pub mod app;
pub mod audio_input;
pub mod backoff;
pub mod cli;
pub mod commands;
pub mod config;
pub mod frames;
pub mod health;
pub mod homeassistant;
pub mod logging;
pub mod outbox;
pub mod pipeline;
pub mod publish;
pub mod reload;
pub mod shutdown;
pub mod sources;
pub mod supervise;
pub mod time_format;
pub mod vision;
