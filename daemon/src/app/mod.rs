//! `perceptd run`: wires sources → endpointing → inference → MQTT, and shuts them down in order.
//!
//! Threads: one per source (capture + resampling), one per source for VAD/endpointing, one
//! inference worker; one per camera and one vision thread (see [`vision`] for how it yields to
//! speech); the MQTT driver and the stats task run on tokio. Shutdown order: sources
//! stop, each open utterance is closed as a final, the worker drains every queued final, then the
//! MQTT driver publishes `offline`, waits for the QoS 1 acknowledgements and disconnects.
//!
//! Every stage reports its progress to a [`Progress`](crate::health::Progress) registry; under
//! systemd the watchdog thread ([`crate::health::watchdog`]) pings only while none is stalled.

mod broker;
mod control;
mod demo;
mod exporter;
mod models;
mod options;
mod publishing;
mod reload;
mod sources;
mod speech;
mod stages;
mod stats;
mod vision;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Result;

use crate::config::Config;
use crate::health::watchdog::{Watchdog, ping_period};
use crate::health::{Metrics, Notifier};
use crate::homeassistant::Inventory;
use crate::pipeline::JobQueue;
use crate::shutdown::Shutdown;

pub use demo::demo_config;
use models::load_or_wait_for_models;
pub use options::RunOptions;
use publishing::Publishing;
use speech::{SpeechThreads, start_speech};
use vision::{VisionThreads, start_vision};

/// Runs the daemon until `shutdown` fires or every source has ended; returns the counters.
/// Reports to systemd as the environment says ([`RunOptions::from_env`]).
pub async fn run(config: Config, shutdown: Shutdown) -> Result<Arc<Metrics>> {
    run_reloadable(config, None, shutdown).await
}

/// [`run`], reloading the config from `config_file` on SIGHUP (when given; without one a
/// SIGHUP is logged and ignored).
pub async fn run_reloadable(
    config: Config,
    config_file: Option<PathBuf>,
    shutdown: Shutdown,
) -> Result<Arc<Metrics>> {
    let options = RunOptions {
        config_file,
        ..RunOptions::from_env()
    };
    run_with(config, shutdown, options).await
}

/// [`run_reloadable`], reporting to `options`' notifier and registry instead of the
/// environment's.
///
/// The steps: watchdog → load models (or wait for them) → publisher → speech → vision → ready →
/// wait → drain.
pub async fn run_with(
    config: Config,
    shutdown: Shutdown,
    options: RunOptions,
) -> Result<Arc<Metrics>> {
    let hangup = reload::listen()?;
    let metrics = Metrics::new();
    let progress = &options.progress;
    let tick = options.watchdog.map(ping_period);
    // From the start: a first boot waiting for its models must keep pinging, or systemd kills it.
    progress.set_not_ready(Some("starting".into()));
    let _watchdog = Watchdog::start(progress.clone(), options.notifier.clone(), options.watchdog)?;
    let Some(models) =
        load_or_wait_for_models(&config, &shutdown, &options.notifier, progress).await?
    else {
        return Ok(metrics);
    };
    let mut publishing = Publishing::start(&config, &metrics, progress, tick)?;
    let exporter_stop = Shutdown::new();
    let exporter = exporter::start_metrics(&config, &metrics, progress, &exporter_stop).await;
    let sources_shutdown = Shutdown::new();
    let queue = JobQueue::new(metrics.clone());
    let speech = start_speech(
        &config,
        models.speech,
        &publishing,
        &queue,
        &metrics,
        &sources_shutdown,
        progress,
    )?;
    let vision = start_vision(
        &config,
        models.image,
        &publishing,
        &metrics,
        &sources_shutdown,
        progress,
    )?;
    publishing.start_control(
        &config,
        &inventory(&config, &speech, vision.running()),
        speech.switches.clone(),
    );
    let models_dir = options
        .config_file
        .is_some()
        .then(|| config.models_dir.clone());
    let reload_task = reload::spawn(hangup, options.config_file.clone(), models_dir, &speech);
    progress.set_not_ready(None);
    announce_running(&config, &options.notifier, &progress.check(false).status());
    let inference = wait_for_sources(shutdown, &sources_shutdown, speech, vision).await;
    reload_task.abort();
    drain(&queue, inference, &options.notifier).await;
    publishing.stop().await;
    exporter_stop.trigger();
    if let Some(server) = exporter {
        server.stop();
    }
    let counters = serde_json::to_string(&metrics.snapshot()).unwrap_or_default();
    tracing::info!(counters = %counters, "perceptd stopped");
    Ok(metrics)
}

/// What runs, for Home Assistant: the audio sources started and the cameras.
fn inventory(config: &Config, speech: &SpeechThreads, vision_running: bool) -> Inventory {
    let snapshots = config.vision.stage.snapshot_max_side.is_some();
    Inventory {
        device: config.device.clone(),
        sources: speech
            .switches
            .iter()
            .map(|s| s.source().to_string())
            .collect(),
        cameras: if vision_running {
            config
                .cameras
                .iter()
                .map(|c| (c.name.clone(), snapshots))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// Logs what runs and tells systemd the daemon is ready, with its `status` (`running`, or
/// `degraded: …` when the broker is already known to be down).
fn announce_running(config: &Config, notifier: &Notifier, status: &str) {
    tracing::info!(
        sources = config.sources.len().max(usize::from(config.audio_enabled)),
        cameras = config.cameras.len(),
        "perceptd running"
    );
    notifier.notify(&format!(
        "READY=1
STATUS={status}"
    ));
}

/// Waits until `shutdown` fires (then stops every source, which closes open utterances as
/// finals) or every source has ended; returns the inference threads still to drain.
async fn wait_for_sources(
    shutdown: Shutdown,
    sources_shutdown: &Shutdown,
    speech: SpeechThreads,
    vision: VisionThreads,
) -> Vec<JoinHandle<()>> {
    let (pipelines, cameras) = (speech.pipelines, vision.cameras);
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
    speech.worker.into_iter().chain(vision.stage).collect()
}

/// Closes the queue and waits for the worker to transcribe every queued final and for the
/// vision thread to finish its last frame.
async fn drain(queue: &JobQueue, inference: Vec<JoinHandle<()>>, notifier: &Notifier) {
    notifier.notify("STOPPING=1");
    queue.close();
    let _ = tokio::task::spawn_blocking(move || {
        join_logging_panics(inference, "an inference thread");
    })
    .await;
}

/// Joins every thread (blocking), logging each one that panicked; never stops at the first.
fn join_logging_panics<T>(handles: Vec<JoinHandle<T>>, what: &str) {
    for handle in handles {
        if handle.join().is_err() {
            tracing::error!("{what} panicked");
        }
    }
}
