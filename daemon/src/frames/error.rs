//! Why a frame source could not be opened or stopped delivering frames.
//!
//! A bad *frame* (a corrupt file in a directory, a damaged camera buffer) is not an error of the
//! source: it is logged, counted in `FrameErrors`, and the source carries on.

use std::path::PathBuf;

use thiserror::Error;

/// A frame source failure: at open time, or one that ends a running source.
#[derive(Debug, Error)]
pub enum FrameSourceError {
    /// A source or policy option is out of range.
    #[error("{rule}")]
    InvalidConfig {
        /// The rule that was broken, e.g. "fps must be > 0 and finite, got 0".
        rule: String,
    },
    /// A file or directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory that is not watched holds no JPEG or PNG files, so there is nothing to show.
    #[error("{}: no .jpg, .jpeg or .png files", path.display())]
    NoImages {
        /// The directory.
        path: PathBuf,
    },
    /// A YUV4MPEG2 file whose header cannot be used.
    #[error("{}: not a usable YUV4MPEG2 file: {reason}", path.display())]
    Y4m {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The camera cannot be opened or configured.
    #[error("camera {device} is unavailable: {reason}")]
    DeviceUnavailable {
        /// The device path.
        device: String,
        /// What the driver said.
        reason: String,
    },
    /// The camera does not deliver the requested pixel format.
    #[error("camera {device} does not deliver {wanted} (it offered {got})")]
    UnsupportedCameraFormat {
        /// The device path.
        device: String,
        /// The format asked for.
        wanted: String,
        /// The format the driver chose instead.
        got: String,
    },
    /// A running camera stopped delivering (unplugged, driver error).
    #[error("camera {device} was lost: {reason}")]
    DeviceLost {
        /// The device path.
        device: String,
        /// What the driver said.
        reason: String,
    },
    /// The source's thread could not be started.
    #[error("cannot start the frame source thread: {0}")]
    Spawn(std::io::Error),
    /// Camera capture is not built for this platform.
    #[error("camera capture (v4l) is only available on Linux")]
    CameraUnsupported,
}
