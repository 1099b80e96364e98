//! The first step of `perceptd run`: every model loads before anything starts, so a missing or
//! corrupt file fails the start instead of a running daemon.

use std::sync::Arc;

use anyhow::{Context, Result};
use percept_models::vad::SileroVad;
use percept_models::whisper::WhisperModel;

use crate::config::Config;
use crate::vision::ImageModel;

/// Whisper and Silero VAD, when speech is enabled.
pub struct SpeechModels {
    /// The transcription model, on the configured engine and thread count.
    pub whisper: Arc<WhisperModel>,
    /// The voice activity model shared by every source's endpointer.
    pub vad: Arc<SileroVad>,
}

/// What `run` needs loaded: speech models when speech is on, an image model when cameras are.
pub struct LoadedModels {
    /// `None` when `speech.enabled = false`.
    pub speech: Option<SpeechModels>,
    /// `None` when no `[[camera]]` is configured.
    pub image: Option<ImageModel>,
}

/// Sets up the CPU backend and loads every model the config needs.
pub fn load_models(config: &Config) -> Result<LoadedModels> {
    let speech = &config.speech;
    let threads = match speech.threads {
        0 => percept_compute::default_threads(),
        n => n,
    };
    percept_compute::CpuBackend::new(threads)?;
    let speech_models = if config.audio_enabled {
        let model_dir =
            percept_models::registry::installed_model_dir(&config.models_dir, &speech.model)?;
        let whisper = WhisperModel::load_with(&model_dir, speech.engine.with_threads(threads))
            .with_context(|| format!("loading model {}", speech.model))?;
        let vad = SileroVad::load_installed(&config.models_dir).context("loading Silero VAD")?;
        tracing::info!(model = %speech.model, engine = %speech.engine.label(), threads, "speech models loaded");
        Some(SpeechModels { whisper, vad })
    } else {
        None
    };
    let image = if config.cameras.is_empty() {
        None
    } else {
        let image_model = ImageModel::load(&config.vision.model, &config.models_dir)?;
        tracing::info!(
            model = image_model.name(),
            synthetic = image_model.synthetic(),
            "vision model loaded"
        );
        Some(image_model)
    };
    Ok(LoadedModels {
        speech: speech_models,
        image,
    })
}
