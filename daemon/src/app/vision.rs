//! The camera side of `perceptd run`: frame sources feed one vision thread that runs the image
//! model and publishes labels, captions, embeddings and snapshots.
//!
//! Scheduling (speech must not starve): the vision thread runs tract single-threaded (outside
//! the shared matmul pool speech uses) at a lower OS priority (nice +10), so when speech and
//! vision both want the CPU, speech gets about nine tenths of it. Frames wait in a
//! latest-wins slot per source: a busy model skips frames (counted) rather than queueing them.

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};

use super::publishing::Publishing;
use super::stages;
use crate::config::Config;
use crate::frames::{
    Doorbell, Frame, FrameContext, FrameEnd, FrameReceiver, FrameSourceError, RecvError,
    spawn_frame_source,
};
use crate::health::{Heartbeat, Metrics, Progress};
use crate::shutdown::Shutdown;
use crate::supervise::RestartPolicy;
use crate::vision::{FrameInfo, ImageModel, StageSettings, VisionStage};

/// How much lower than speech the vision thread is scheduled (a nice value).
pub const VISION_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority; a failure is logged, not fatal.
pub fn lower_thread_priority(nice: i32) {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), nice) {
        tracing::warn!("could not lower the vision thread's priority: {e}");
    }
}

/// Frames waiting per source between its thread and the vision thread (latest wins beyond it).
const FRAME_SLOTS: usize = 1;

/// A camera's thread: it returns how its source ended (already logged by the thread).
pub type CameraThread = JoinHandle<Result<FrameEnd, FrameSourceError>>;

/// The running vision threads.
#[derive(Default)]
pub struct VisionThreads {
    /// One thread per camera (stopped by the sources' shutdown).
    pub cameras: Vec<CameraThread>,
    /// The vision thread (returns once every camera has ended).
    pub stage: Option<JoinHandle<()>>,
}

impl VisionThreads {
    /// Whether the cameras run (an image model was loaded).
    pub fn running(&self) -> bool {
        self.stage.is_some()
    }
}

/// Starts every camera and the vision thread that analyses their frames; nothing without a model.
pub fn start_vision(
    config: &Config,
    image_model: Option<ImageModel>,
    publishing: &Publishing,
    metrics: &Arc<Metrics>,
    sources_shutdown: &Shutdown,
    progress: &Progress,
) -> Result<VisionThreads> {
    let Some(image_model) = image_model else {
        return Ok(VisionThreads::default());
    };
    let (cameras, receivers) = start_cameras(config, metrics, sources_shutdown, progress)?;
    let settings = StageSettings {
        topics: publishing.topics.clone(),
        policy: config.vision.stage.clone(),
    };
    let stage = VisionStage::new(
        image_model,
        publishing.publisher.clone(),
        settings,
        metrics.clone(),
    );
    Ok(VisionThreads {
        cameras,
        stage: Some(spawn_vision_thread(
            stage,
            receivers,
            stages::vision(progress),
        )?),
    })
}

/// Opens every `[[camera]]` and starts its thread; returns the threads and the receivers.
fn start_cameras(
    config: &Config,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
    progress: &Progress,
) -> Result<(Vec<CameraThread>, Vec<FrameReceiver>)> {
    let mut threads = Vec::new();
    let mut receivers = Vec::new();
    for camera in &config.cameras {
        let name = &camera.name;
        let (cx, rx) = FrameContext::new(
            name,
            FRAME_SLOTS,
            camera.policy,
            shutdown.clone(),
            metrics.clone(),
        )
        .with_context(|| format!("camera {name}"))?;
        let cx = cx.with_heartbeat(stages::camera(progress, name));
        let source = camera.source.clone();
        // A lost camera is reopened after 500 ms, doubling to 30 s.
        let policy = RestartPolicy::default();
        threads.push(
            spawn_frame_source(source, cx, policy).with_context(|| format!("camera {name}"))?,
        );
        receivers.push(rx);
    }
    Ok((threads, receivers))
}

/// Starts the vision thread: it analyses frames from every receiver (round robin) until all
/// sources have ended, then returns.
fn spawn_vision_thread(
    mut stage: VisionStage,
    receivers: Vec<FrameReceiver>,
    heartbeat: Heartbeat,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vision".into())
        .spawn(move || {
            lower_thread_priority(VISION_NICE);
            let span = tracing::info_span!("vision");
            let _guard = span.enter();
            percept_compute::single_threaded(|| run_vision_loop(&mut stage, receivers, &heartbeat));
            heartbeat.done();
        })
}

/// Analyses frames until every camera has ended; waiting for a frame is not a stall.
fn run_vision_loop(
    stage: &mut VisionStage,
    mut receivers: Vec<FrameReceiver>,
    heartbeat: &Heartbeat,
) {
    // One wake-up for every camera: the thread sleeps until one of them has a frame or ends.
    let bell = Doorbell::new();
    for rx in &receivers {
        rx.ring_on_change(&bell);
    }
    while !receivers.is_empty() {
        let seen = bell.rings();
        let mut any = false;
        receivers.retain(|rx| match rx.poll() {
            Ok(Some(frame)) => {
                any = true;
                heartbeat.active();
                handle(stage, &frame);
                true
            }
            Ok(None) => true,
            Err(RecvError::Disconnected) => false,
            Err(RecvError::Timeout) => true,
        });
        if !any && !receivers.is_empty() {
            heartbeat.waiting();
            bell.wait_past(seen);
        }
    }
}

fn handle(stage: &mut VisionStage, frame: &Frame) {
    stage.handle(FrameInfo {
        source: &frame.source,
        seq: frame.seq,
        captured_at: frame.captured_at,
        image: &frame.image,
    });
}
