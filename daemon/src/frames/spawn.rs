//! Opens a configured frame source and runs it on its own thread: what the app calls for each
//! `[[camera]]`-style source once config maps onto these specs.

use std::thread::JoinHandle;

use super::camera::{CameraSource, CameraSpec};
use super::images::{ImagesSource, ImagesSpec};
use super::supervise::run_frame_supervised;
use super::synthetic::{SyntheticSource, SyntheticSpec};
use super::y4m::{Y4mSource, Y4mSpec};
use super::{FrameContext, FrameEnd, FrameSource, FrameSourceError};
use crate::supervise::RestartPolicy;

/// One frame source's settings.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameSourceConfig {
    /// JPEG/PNG files.
    Images(ImagesSpec),
    /// Generated frames.
    Synthetic(SyntheticSpec),
    /// A YUV4MPEG2 file.
    Y4m(Y4mSpec),
    /// A v4l2 camera.
    Camera(CameraSpec),
}

/// Opens the source `config` describes.
pub fn open_frame_source(
    config: &FrameSourceConfig,
) -> Result<Box<dyn FrameSource>, FrameSourceError> {
    Ok(match config.clone() {
        FrameSourceConfig::Images(spec) => Box::new(ImagesSource::open(spec)?),
        FrameSourceConfig::Synthetic(spec) => Box::new(SyntheticSource::open(spec)?),
        FrameSourceConfig::Y4m(spec) => Box::new(Y4mSource::open(spec)?),
        FrameSourceConfig::Camera(spec) => Box::new(CameraSource::open(spec)?),
    })
}

/// Opens the source now (so a bad path or device fails the start with one clear error), then
/// runs it on a thread named `frames-{source}` until it ends; the thread returns how it ended,
/// or the error that ended a file source.
///
/// A camera is reopened by `policy` after every failure (a device can come back); files and
/// synthetic sources run once, and a failure is logged as an error and ends them (a corrupt
/// file stays corrupt; bad single frames never end a source).
pub fn spawn_frame_source(
    config: FrameSourceConfig,
    cx: FrameContext,
    policy: RestartPolicy,
) -> Result<JoinHandle<Result<FrameEnd, FrameSourceError>>, FrameSourceError> {
    let first = open_frame_source(&config)?;
    let name = cx.source().to_string();
    let heartbeat = cx.heartbeat().clone();
    let thread = std::thread::Builder::new()
        .name(format!("frames-{name}"))
        .spawn(move || {
            let span = tracing::info_span!("capture", source = %name);
            let _guard = span.enter();
            let result = if matches!(config, FrameSourceConfig::Camera(_)) {
                let mut first = Some(first);
                Ok(run_frame_supervised(
                    move || match first.take() {
                        Some(source) => Ok(source),
                        None => open_frame_source(&config),
                    },
                    cx,
                    policy,
                ))
            } else {
                first.run(cx)
            };
            match &result {
                Ok(end) => tracing::info!(?end, "frame source ended"),
                Err(error) => tracing::error!(%error, "frame source failed"),
            }
            heartbeat.done();
            result
        })
        .map_err(FrameSourceError::Spawn)?;
    Ok(thread)
}
