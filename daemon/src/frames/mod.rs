//! Frame sources: image files, a YUV4MPEG2 video file, generated test frames and a v4l camera,
//! behind one [`FrameSource`] trait.
//!
//! Every source runs on its own thread, decodes or converts what it reads to an 8-bit
//! [`RgbImage`], and offers it to its [`FrameContext`]. The context applies the frame policy
//! (`max_fps`, then the motion gate; skips are counted) and sends what passes over a bounded
//! latest-wins channel: a slow consumer never blocks a source and never makes memory grow (the
//! oldest queued frame is dropped and counted). A bad frame (a corrupt file, a damaged camera
//! buffer) is one `warn` line and one `FrameErrors`; the source carries on.

mod camera;
mod channel;
mod config;
mod context;
mod error;
mod events;
mod images;
mod pacer;
mod spawn;
mod supervise;
mod synthetic;
mod y4m;

use std::sync::Arc;
use std::time::SystemTime;

use percept_dsp::RgbImage;

pub use camera::{
    CameraFormat, CameraSource, CameraSpec, V4l2CameraConfig, camera_buffer_to_frame,
};
pub use channel::{Doorbell, FrameReceiver, FrameSender, Pushed, RecvError, latest_channel};
pub use config::{CAMERA_KINDS, CameraConfig, CameraPlan, CommonFields};
pub use context::{FrameContext, FrameGate, FramePolicy, GateDecision, Offered};
pub use error::FrameSourceError;
pub use images::{ImagesConfig, ImagesSource, ImagesSpec, WATCH_POLL};
pub use spawn::{FrameSourceConfig, open_frame_source, spawn_frame_source};
pub use supervise::run_frame_supervised;
pub use synthetic::{SyntheticConfig, SyntheticPattern, SyntheticSource, SyntheticSpec};
pub use y4m::{Y4mConfig, Y4mSource, Y4mSpec};

/// One frame handed to the consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The configured source name (the same for every frame of a source).
    pub source: Arc<str>,
    /// Number of frames this source sent before this one: increases by one per frame sent, so
    /// a gap means frames were dropped from the full channel.
    pub seq: u64,
    /// Wall-clock time of capture (for timestamps in messages; not for measuring intervals).
    pub captured_at: SystemTime,
    /// The picture.
    pub image: RgbImage,
}

/// What kind of thing a frame source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSourceKind {
    /// JPEG/PNG files: one file or a directory.
    Images,
    /// Generated test frames.
    Synthetic,
    /// A YUV4MPEG2 video file.
    Y4m,
    /// A v4l2 camera.
    Camera,
}

/// What a frame source is and what it delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSourceSpec {
    /// A human-readable name: the path or device.
    pub name: String,
    /// What kind of source it is.
    pub kind: FrameSourceKind,
    /// Frame size, when every frame has the same one (`None` for image files of any size).
    pub size: Option<(usize, usize)>,
    /// Frames per second the source delivers at (before the frame policy).
    pub fps: f64,
}

/// Why a source's [`run`](FrameSource::run) returned without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEnd {
    /// The input ended (the last file of a list that is neither looped nor watched, the end of
    /// a video file, a synthetic source's frame count).
    EndOfInput,
    /// The shutdown token fired.
    Shutdown,
    /// The consumer dropped its receiver.
    ReceiverClosed,
}

/// A source of frames.
pub trait FrameSource: Send {
    /// What the source is.
    fn spec(&self) -> FrameSourceSpec;

    /// Offers frames to `cx` until the input ends, shutdown fires, the receiver goes away, or
    /// the source fails (a lost camera). Blocking: run it on its own thread.
    fn run(self: Box<Self>, cx: FrameContext) -> Result<FrameEnd, FrameSourceError>;
}

/// Offers `image` and turns the outcome into the loop's next step: `Err(end)` to stop, or
/// `Ok(buffer)` to decode the next frame into (a skipped frame's buffer comes back for reuse).
pub(crate) fn offer(cx: &FrameContext, image: RgbImage) -> Result<RgbImage, FrameEnd> {
    match cx.offer(image) {
        Offered::Sent => Ok(RgbImage::default()),
        Offered::Skipped(image) => Ok(image),
        Offered::Stop(end) => Err(end),
    }
}
