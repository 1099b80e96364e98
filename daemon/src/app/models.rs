//! The first step of `perceptd run`: every model loads before anything starts, so a missing or
//! corrupt file fails the start instead of a running daemon.

use std::sync::Arc;

use anyhow::{Context, Result};
use percept_models::vad::SileroVad;
use percept_models::whisper::WhisperModel;

use crate::config::Config;
use crate::health::{Notifier, Progress};
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

/// How often a daemon waiting for its models looks again.
const MODELS_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// [`load_models`], or, under systemd (`notifier` enabled: a first boot before `perceptd
/// models fetch` must not become a restart loop), waits for them: logs once what to run, tells
/// systemd it is up but not ready (`READY=1` with a `STATUS=` saying so, or the start would
/// time out; `progress` keeps saying so, and the watchdog keeps pinging), and tries again every
/// few seconds. `None` when `shutdown` fired while waiting. Run from a terminal, a missing
/// model stays one error at start.
pub async fn load_or_wait_for_models(
    config: &Config,
    shutdown: &crate::shutdown::Shutdown,
    notifier: &Notifier,
    progress: &Progress,
) -> Result<Option<LoadedModels>> {
    let under_systemd = notifier.is_enabled();
    let mut last_problem = String::new();
    loop {
        let attempt = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || load_models(&config)).await?
        };
        let error = match attempt {
            Ok(models) => {
                if !last_problem.is_empty() {
                    tracing::info!("models found; starting");
                }
                return Ok(Some(models));
            }
            Err(e) if !under_systemd => return Err(e),
            Err(e) => format!("{e:#}"),
        };
        if error != last_problem {
            tracing::error!(
                models_dir = %config.models_dir.display(),
                "cannot start without models: {error}; waiting for them (install with: sudo -u \
                 perceptd PERCEPTD_MODELS={} perceptd models fetch)",
                config.models_dir.display()
            );
            let status = format!(
                "not ready: waiting for models in {} (run `perceptd models fetch`)",
                config.models_dir.display()
            );
            notifier.notify(&format!("READY=1\nSTATUS={status}"));
            progress.set_not_ready(Some(status));
            last_problem = error;
        }
        tokio::select! {
            _ = shutdown.wait() => return Ok(None),
            _ = tokio::time::sleep(MODELS_POLL) => {}
        }
    }
}
