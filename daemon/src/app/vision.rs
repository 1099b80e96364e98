//! The camera side of `perceptd run`: frame sources feed one vision thread that runs the image
//! model and publishes labels, captions, embeddings and snapshots.
//!
//! Scheduling (speech must not starve): the vision thread runs tract single-threaded (outside
//! the shared matmul pool speech uses) at a lower OS priority (nice +10), so when speech and
//! vision both want the CPU, speech gets about nine tenths of it. Frames wait in a
//! latest-wins slot per source: a busy model skips frames (counted) rather than queueing them.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use percept_dsp::image::DecodeLimits;
use percept_models::clip::{ClipFiles, default_templates};

use crate::config::{CameraConfig, Config, VisionConfig};
use crate::frames::{
    CameraFormat, CameraSpec, Doorbell, Frame, FrameContext, FrameEnd, FramePolicy, FrameReceiver,
    FrameSourceConfig, FrameSourceError, ImagesSpec, RecvError, SyntheticSpec, Y4mSpec,
    spawn_frame_source,
};
use crate::health::Metrics;
use crate::publish::Topics;
use crate::shutdown::Shutdown;
use crate::supervise::RestartPolicy;
use crate::vision::caption::CaptionPolicy;
use crate::vision::labels::LabelPolicy;
use crate::vision::model::{ClipSettings, DEFAULT_VOCAB, VisionSettings};
use crate::vision::{FrameInfo, StageSettings, VisionStage};

/// How much lower than speech the vision thread is scheduled (a nice value).
pub const VISION_NICE: i32 = 10;

/// The model settings of `[vision]`.
pub fn vision_settings(config: &Config) -> VisionSettings {
    let v = &config.file.vision;
    let clip = v.clip.as_ref().map(|c| ClipSettings {
        name: c.name.clone(),
        files: match (&c.model, &c.vision_model, &c.text_model) {
            (Some(model), _, _) => ClipFiles::Combined(model.clone()),
            (None, Some(vision), Some(text)) => ClipFiles::Separate {
                vision: vision.clone(),
                text: text.clone(),
            },
            // Validation guarantees one of the two shapes.
            _ => ClipFiles::Combined(PathBuf::new()),
        },
        vocab: c
            .vocab
            .clone()
            .unwrap_or_else(|| config.models_dir.join(DEFAULT_VOCAB)),
        labels: c.labels.clone(),
        templates: c.templates.clone().unwrap_or_else(default_templates),
        logit_scale: c.logit_scale,
    });
    VisionSettings {
        model: v.model.clone(),
        clip,
        top_k: v.top_k,
    }
}

/// The publishing settings of `[vision]`.
pub fn stage_settings(config: &Config, topics: &Topics) -> StageSettings {
    let v = &config.file.vision;
    StageSettings {
        topics: topics.clone(),
        labels: LabelPolicy {
            enter_threshold: v.enter_threshold,
            exit_threshold: v.exit_threshold,
            min_dwell: Duration::from_millis(v.min_dwell_ms),
        },
        caption: CaptionPolicy {
            top_k: v.caption_top_k,
            min_probability: v.caption_min_probability,
        },
        embedding_interval: Duration::from_millis(v.embedding_interval_ms),
        // Validation has checked that it parses.
        embedding_dtype: v
            .embedding_dtype
            .parse()
            .unwrap_or(crate::vision::embedding::EmbeddingDtype::F16),
        embedding_l2_normalize: v.embedding_l2_normalize,
        snapshot_max_side: v.snapshot.then_some(v.snapshot_max_side),
    }
}

/// Lowers the calling thread's scheduling priority; a failure is logged, not fatal.
pub fn lower_thread_priority(nice: i32) {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), nice) {
        tracing::warn!("could not lower the vision thread's priority: {e}");
    }
}

/// Frames waiting per source between its thread and the vision thread (latest wins beyond it).
const FRAME_SLOTS: usize = 1;

/// The frame source a `[[camera]]` describes.
pub fn frame_source_config(camera: &CameraConfig, vision: &VisionConfig) -> FrameSourceConfig {
    let megapixels = vision.max_image_megapixels as usize * 1_000_000;
    let limits = DecodeLimits {
        max_pixels: megapixels,
        ..DecodeLimits::default()
    };
    let path = camera.path.clone().unwrap_or_default();
    match camera.kind.as_str() {
        "images" => FrameSourceConfig::Images(ImagesSpec {
            path,
            fps: f64::from(camera.fps.unwrap_or(1.0)),
            watch: camera.watch,
            looping: camera.looping,
            limits,
        }),
        "y4m" => FrameSourceConfig::Y4m(Y4mSpec {
            path,
            looping: camera.looping,
            limits,
        }),
        "synthetic" => FrameSourceConfig::Synthetic(SyntheticSpec {
            width: camera.width.unwrap_or(640) as usize,
            height: camera.height.unwrap_or(480) as usize,
            fps: f64::from(camera.fps.unwrap_or(5.0)),
            ..SyntheticSpec::default()
        }),
        // Validation allows only the four kinds.
        _ => FrameSourceConfig::Camera(CameraSpec {
            device: camera
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from("/dev/video0")),
            width: camera.width.unwrap_or(640),
            height: camera.height.unwrap_or(480),
            fps: camera.fps.unwrap_or(5.0).round().max(1.0) as u32,
            format: match camera.format.as_deref() {
                Some("yuyv") => CameraFormat::Yuyv,
                _ => CameraFormat::Mjpeg,
            },
        }),
    }
}

/// A camera's thread: it returns how its source ended (already logged by the thread).
pub type CameraThread = JoinHandle<Result<FrameEnd, FrameSourceError>>;

/// Opens every `[[camera]]` and starts its thread; returns the threads and the receivers.
pub fn start_cameras(
    config: &Config,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
) -> Result<(Vec<CameraThread>, Vec<FrameReceiver>)> {
    let mut threads = Vec::new();
    let mut receivers = Vec::new();
    for camera in &config.file.cameras {
        let name = camera.name();
        let policy = FramePolicy {
            max_fps: (camera.max_fps > 0.0).then_some(f64::from(camera.max_fps)),
            motion_threshold: camera.motion_threshold,
        };
        let (cx, rx) =
            FrameContext::new(name, FRAME_SLOTS, policy, shutdown.clone(), metrics.clone())
                .with_context(|| format!("camera {name}"))?;
        let source = frame_source_config(camera, &config.file.vision);
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
pub fn spawn_vision_thread(
    mut stage: VisionStage,
    receivers: Vec<FrameReceiver>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vision".into())
        .spawn(move || {
            lower_thread_priority(VISION_NICE);
            let span = tracing::info_span!("vision");
            let _guard = span.enter();
            percept_compute::single_threaded(|| run_vision_loop(&mut stage, receivers));
        })
}

fn run_vision_loop(stage: &mut VisionStage, mut receivers: Vec<FrameReceiver>) {
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
                handle(stage, &frame);
                true
            }
            Ok(None) => true,
            Err(RecvError::Disconnected) => false,
            Err(RecvError::Timeout) => true,
        });
        if !any && !receivers.is_empty() {
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
