//! `perceptd run`: wires sources → endpointing → inference → MQTT, and shuts them down in order.
//!
//! Threads: one per source (capture + resampling), one per source for VAD/endpointing, one
//! inference worker; one per camera and one vision thread (see [`vision`] for how it yields to
//! speech); the MQTT driver and the stats task run on tokio. Shutdown order: sources
//! stop, each open utterance is closed as a final, the worker drains every queued final, then the
//! MQTT driver publishes `offline`, waits for the QoS 1 acknowledgements and disconnects.

mod broker;
mod demo;
mod sources;
mod stats;
mod vision;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use percept_models::vad::SileroVad;
use percept_models::whisper::{Transcriber, WhisperModel};

use crate::config::Config;
use crate::health::Metrics;
use crate::pipeline::{JobQueue, WorkerSettings, spawn_worker};
use crate::publish::mqtt::MqttPublisher;
use crate::publish::{LoggingPublisher, Publisher, Topics};
use crate::shutdown::Shutdown;
use crate::vision::{ImageModel, StageSettings, VisionStage};

pub use demo::demo_config;

/// How long the MQTT driver may take to publish `offline` and flush after the pipeline stopped.
const DRIVER_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the daemon until `shutdown` fires or every source has ended; returns the counters.
pub async fn run(config: Config, shutdown: Shutdown) -> Result<Arc<Metrics>> {
    let metrics = Metrics::new();
    let mut mqtt = config.mqtt.clone();
    if mqtt.url.is_none() {
        let addr = broker::start_embedded()?;
        mqtt.url = Some(format!("mqtt://{addr}"));
    }
    let speech = &config.speech;
    let threads = match speech.threads {
        0 => percept_compute::default_threads(),
        n => n,
    };
    percept_compute::CpuBackend::new(threads)?;
    // Every model loads before anything starts: a missing or corrupt file fails the start.
    let audio_models = if config.audio_enabled {
        let model_dir =
            percept_models::registry::installed_model_dir(&config.models_dir, &speech.model)?;
        let model = WhisperModel::load_with(&model_dir, config.speech.engine.with_threads(threads))
            .with_context(|| format!("loading model {}", speech.model))?;
        let vad = SileroVad::load_installed(&config.models_dir).context("loading Silero VAD")?;
        tracing::info!(model = %speech.model, engine = %config.speech.engine.label(), threads, "speech models loaded");
        Some((model, vad))
    } else {
        None
    };
    let image_model = if config.cameras.is_empty() {
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

    let (mqtt_handle, driver) = MqttPublisher::new(&mqtt, &config.device, metrics.clone());
    let driver_shutdown = Shutdown::new();
    let driver_task = tokio::spawn(driver.run(driver_shutdown.clone()));
    let publisher: Arc<dyn Publisher> = if config.log.published_messages {
        Arc::new(LoggingPublisher::new(mqtt_handle.clone()))
    } else {
        Arc::new(mqtt_handle.clone())
    };
    let topics = Topics::new(&mqtt.topic_prefix, &config.device);
    let stats_task = stats::spawn(
        publisher.clone(),
        metrics.clone(),
        &topics,
        config.log.stats_interval_secs,
        driver_shutdown.clone(),
    );

    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sources_shutdown = Shutdown::new();
    let queue = JobQueue::new(metrics.clone());
    let mut pipelines = Vec::new();
    let mut worker = None;
    if let Some((model, vad)) = audio_models {
        worker = Some(spawn_worker(
            Transcriber::new(model),
            queue.clone(),
            publisher.clone(),
            worker_settings(&config, &mqtt, &topics),
            metrics.clone(),
        )?);
        pipelines = sources::start_all(&config, &vad, run_id, &queue, &metrics, &sources_shutdown)?;
    }
    let mut vision_thread = None;
    let mut cameras = Vec::new();
    if let Some(image_model) = image_model {
        let receivers;
        (cameras, receivers) = vision::start_cameras(&config, &metrics, &sources_shutdown)?;
        let stage = VisionStage::new(
            image_model,
            publisher.clone(),
            stage_settings(&config, &topics),
            metrics.clone(),
        );
        vision_thread = Some(vision::spawn_vision_thread(stage, receivers)?);
    }
    tracing::info!(
        sources = config.sources.len().max(usize::from(config.audio_enabled)),
        cameras = config.cameras.len(),
        "perceptd running"
    );
    crate::health::notify::sd_notify("READY=1");

    let all_ended = tokio::task::spawn_blocking(move || {
        join_logging_panics(pipelines, "a source pipeline thread");
        join_logging_panics(cameras, "a camera thread");
    });
    tokio::pin!(all_ended);
    tokio::select! {
        _ = shutdown.wait() => {
            tracing::info!("shutting down: closing open utterances");
            sources_shutdown.trigger();
            let _ = all_ended.await;
        }
        _ = &mut all_ended => {
            tracing::info!("every source has ended");
        }
    }
    crate::health::notify::sd_notify("STOPPING=1");
    queue.close();
    let threads: Vec<JoinHandle<()>> = worker.into_iter().chain(vision_thread).collect();
    let _ = tokio::task::spawn_blocking(move || {
        join_logging_panics(threads, "an inference thread");
    })
    .await;
    driver_shutdown.trigger();
    stats_task.abort();
    if tokio::time::timeout(DRIVER_FLUSH_TIMEOUT, driver_task)
        .await
        .is_err()
    {
        tracing::warn!(
            "MQTT flush did not finish in time; some QoS 1 messages may be unacknowledged"
        );
    }
    let counters = serde_json::to_string(&metrics.snapshot()).unwrap_or_default();
    tracing::info!(counters = %counters, "perceptd stopped");
    Ok(metrics)
}

/// Joins every thread (blocking), logging each one that panicked; never stops at the first.
fn join_logging_panics<T>(handles: Vec<JoinHandle<T>>, what: &str) {
    for handle in handles {
        if handle.join().is_err() {
            tracing::error!("{what} panicked");
        }
    }
}

/// The worker's settings: `[speech]` plus where finals and partials go.
fn worker_settings(
    config: &Config,
    mqtt: &crate::publish::mqtt::MqttConfig,
    topics: &Topics,
) -> WorkerSettings {
    let speech = &config.speech;
    WorkerSettings {
        model_name: speech.model.clone(),
        final_options: speech.final_options.clone(),
        partial_options: speech.partial_options.clone(),
        guards: speech.guards,
        max_ngram_repeats: speech.max_ngram_repeats,
        context: speech.context,
        topics: topics.clone(),
        qos_final: mqtt.qos_final,
        qos_partial: mqtt.qos_partial,
    }
}

/// The vision stage's settings: `[vision]` plus where the camera topics go.
fn stage_settings(config: &Config, topics: &Topics) -> StageSettings {
    StageSettings {
        topics: topics.clone(),
        policy: config.vision.stage.clone(),
    }
}
