//! Starts every configured source with its endpointing thread.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use percept_models::vad::SileroVad;

use super::demo::DEMO_WAV;
use super::publishing::Publishing;
use super::stages;
use crate::config::Config;
use crate::health::{Heartbeat, Metrics, Progress};
use crate::pipeline::{
    JobQueue, ListeningSwitch, SpeakingReporter, TrackerSettings, UtteranceTracker,
};
use crate::shutdown::Shutdown;
use crate::sources::{
    AudioSource, FileSource, MicSource, OpenSource, Pacing, SourceContext, SourceError,
    probe_default_mic, run_supervised,
};
use crate::supervise::RestartPolicy;

/// Blocks buffered between a source and its endpointer (about 20–32 ms each).
const CHANNEL_BLOCKS: usize = 64;
/// Restart backoff for a failing source.
const RESTART_MIN: Duration = Duration::from_millis(500);
const RESTART_MAX: Duration = Duration::from_secs(30);

/// A way to (re)open a microphone after it failed.
type Reopen = Box<dyn FnMut() -> Result<Box<dyn AudioSource>, SourceError> + Send>;

/// How a source runs: a microphone is reopened with backoff when it fails (a device can come
/// back); a file or stdin runs once (a corrupt file stays corrupt).
enum Runner {
    Supervised(Reopen),
    Once,
}

/// The running sources: their endpointing threads (which end when their source ends) and
/// their listening switches.
pub struct StartedSources {
    /// One endpointing thread per source.
    pub threads: Vec<JoinHandle<()>>,
    /// One switch per source, in order.
    pub switches: Vec<ListeningSwitch>,
}

/// Starts every source with its endpointing thread, listening switch and speaking state.
pub fn start_all(
    config: &Config,
    vad: &Arc<SileroVad>,
    queue: &Arc<JobQueue>,
    publishing: &Publishing,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
    progress: &Progress,
) -> Result<StartedSources> {
    // Makes utterance ids unique across restarts.
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut opened = Vec::new();
    if config.sources.is_empty() {
        let (name, first, runner) = demo_source()?;
        opened.push((name, first, runner, false));
    } else {
        for source in &config.sources {
            let name = source.name.clone();
            // Opened up front: a bad device or file fails the start with one clear error.
            let (first, runner) = open(&source.open).with_context(|| format!("source {name}"))?;
            opened.push((name, first, runner, source.open.can_wait()));
        }
    }
    let settings = &config.tracker;
    let mut threads = Vec::new();
    let mut switches = Vec::new();
    for (name, first, runner, can_wait) in opened {
        let switch = ListeningSwitch::load(&name, Some(&config.state_dir));
        switches.push(switch.clone());
        let mut speaking = SpeakingReporter::new(
            publishing.topics.speaking(&name),
            publishing.publisher.clone(),
        );
        let settings = TrackerSettings {
            wait_for_backlog: can_wait,
            ..settings.clone()
        };
        let (cx, rx) = SourceContext::new(CHANNEL_BLOCKS, shutdown.clone(), metrics.clone());
        let cx = cx.with_heartbeat(stages::capture(progress, &name));
        let vad_heartbeat = stages::vad(progress, &name);
        let source_name = name.clone();
        std::thread::Builder::new()
            .name(format!("source-{name}"))
            .spawn(move || run_source(&source_name, first, runner, cx))?;
        let mut tracker = UtteranceTracker::new(
            &name,
            run_id,
            Box::new(vad.session()?),
            settings,
            queue.clone(),
            metrics.clone(),
        )
        .map_err(|e| anyhow::anyhow!("vad: {}", e.problems.join("; ")))?
        .with_heartbeat(vad_heartbeat.clone());
        let thread = std::thread::Builder::new()
            .name(format!("vad-{name}"))
            .spawn(move || {
                let span = tracing::info_span!("vad", source = %name);
                let _guard = span.enter();
                endpoint_blocks(&mut tracker, &rx, &switch, &mut speaking, &vad_heartbeat);
            })?;
        threads.push(thread);
    }
    Ok(StartedSources { threads, switches })
}

/// Feeds every block to the endpointer (silence while the listening switch is off) until the
/// source thread is done (its sender dropped) or the VAD fails; then closes the open utterance.
/// Waiting for a block is not a stall.
fn endpoint_blocks(
    tracker: &mut UtteranceTracker,
    rx: &std::sync::mpsc::Receiver<crate::sources::AudioBlock>,
    switch: &ListeningSwitch,
    speaking: &mut SpeakingReporter,
    heartbeat: &Heartbeat,
) {
    speaking.update(false);
    loop {
        heartbeat.waiting();
        let Ok(block) = rx.recv() else { break };
        heartbeat.active();
        let paused = !switch.is_listening();
        if paused != tracker.paused() {
            tracker.set_paused(paused);
        }
        if let Err(e) = tracker.push_block(block) {
            tracing::error!(error = %e, "VAD failed; source stopped");
            break;
        }
        speaking.update(tracker.utterance_open());
    }
    tracker.finish();
    speaking.update(false);
    heartbeat.done();
}

/// Runs one source on the current thread until it ends, fails for good, or shutdown.
fn run_source(name: &str, first: Box<dyn AudioSource>, runner: Runner, cx: SourceContext) {
    let span = tracing::info_span!("capture", source = %name);
    let _guard = span.enter();
    let heartbeat = cx.heartbeat.clone();
    match runner {
        Runner::Once => match first.run(cx) {
            Ok(end) => tracing::info!(?end, "source ended"),
            Err(e) => tracing::error!(error = %e, "source failed"),
        },
        Runner::Supervised(mut reopen) => {
            let mut first = Some(first);
            let make = move || match first.take() {
                Some(source) => Ok(source),
                None => reopen(),
            };
            let policy = RestartPolicy {
                min: RESTART_MIN,
                max: RESTART_MAX,
            };
            let end = run_supervised(make, cx, policy);
            tracing::info!(?end, "source ended");
        }
    }
    heartbeat.done();
}

/// The demo's source: the default microphone if it opens, else the demo clip in a loop.
fn demo_source() -> Result<(String, Box<dyn AudioSource>, Runner)> {
    match probe_default_mic() {
        Ok(device) => {
            tracing::info!(device = %device, "demo: listening to the default microphone");
            let reopen: Reopen = Box::new(|| Ok(Box::new(MicSource::open(None, 2000)?)));
            Ok((
                "mic".into(),
                Box::new(MicSource::open(None, 2000)?),
                Runner::Supervised(reopen),
            ))
        }
        Err(e) => {
            tracing::info!(reason = %e, "demo: no working microphone; looping the built-in demo clip");
            let clip = FileSource::from_wav_bytes("demo", DEMO_WAV, Pacing::RealTime, true)?;
            Ok(("demo".into(), Box::new(clip), Runner::Once))
        }
    }
}

/// Opens one configured source, and says how it runs.
fn open(source: &OpenSource) -> Result<(Box<dyn AudioSource>, Runner)> {
    let first = source.open()?;
    let runner = if source.reopens() {
        let source = source.clone();
        Runner::Supervised(Box::new(move || source.open()))
    } else {
        Runner::Once
    };
    Ok((first, runner))
}
