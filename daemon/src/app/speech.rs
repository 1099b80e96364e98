//! The speech side of `perceptd run`: the inference worker and one capture + endpointing
//! pipeline per source, all feeding one queue of finals and partials.

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Result;
use percept_models::whisper::Transcriber;

use super::models::SpeechModels;
use super::publishing::Publishing;
use super::{sources, stages};
use crate::config::Config;
use crate::health::{Metrics, Progress};
use crate::pipeline::worker::Decoding;
use crate::pipeline::{JobQueue, ListeningSwitch, WorkerSettings, spawn_worker};
use crate::reload::Mailbox;
use crate::shutdown::Shutdown;

/// The running speech threads.
#[derive(Default)]
pub struct SpeechThreads {
    /// The inference worker (drains the queue after the sources stop).
    pub worker: Option<JoinHandle<()>>,
    /// One thread per source pipeline (capture, resampling, VAD, endpointing).
    pub pipelines: Vec<JoinHandle<()>>,
    /// Each source's listening switch (its name is the switch's source).
    pub switches: Vec<ListeningSwitch>,
    /// Where a config reload leaves new decoding settings for the worker.
    pub decoding: Mailbox<Decoding>,
}

/// Starts the worker, then every source (stopped by `sources_shutdown`); nothing without models.
pub fn start_speech(
    config: &Config,
    models: Option<SpeechModels>,
    publishing: &Publishing,
    queue: &Arc<JobQueue>,
    metrics: &Arc<Metrics>,
    sources_shutdown: &Shutdown,
    progress: &Progress,
) -> Result<SpeechThreads> {
    let Some(models) = models else {
        return Ok(SpeechThreads::default());
    };
    let decoding = Mailbox::default();
    let worker = spawn_worker(
        Transcriber::new(models.whisper),
        queue.clone(),
        publishing.publisher.clone(),
        worker_settings(config, publishing, &decoding),
        metrics.clone(),
        stages::inference(progress),
    )?;
    let started = sources::start_all(
        config,
        &models.vad,
        queue,
        publishing,
        metrics,
        sources_shutdown,
        progress,
    )?;
    Ok(SpeechThreads {
        worker: Some(worker),
        pipelines: started.threads,
        switches: started.switches,
        decoding,
    })
}

/// The worker's settings: `[speech]` plus where finals and partials go.
fn worker_settings(
    config: &Config,
    publishing: &Publishing,
    updates: &Mailbox<Decoding>,
) -> WorkerSettings {
    let speech = &config.speech;
    WorkerSettings {
        model_name: speech.model.clone(),
        final_options: speech.final_options.clone(),
        partial_options: speech.partial_options.clone(),
        guards: speech.guards,
        max_ngram_repeats: speech.max_ngram_repeats,
        context: speech.context,
        topics: publishing.topics.clone(),
        qos_final: publishing.mqtt.qos_final,
        qos_partial: publishing.mqtt.qos_partial,
        updates: updates.clone(),
    }
}
