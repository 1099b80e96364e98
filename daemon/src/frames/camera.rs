//! A v4l2 camera as a frame source, in MJPEG or YUYV.
//!
//! The capture glue ([`CameraSource`], Linux only) is thin: open the device, set the format
//! and rate, stream memory-mapped buffers, and hand each buffer to [`camera_buffer_to_frame`],
//! the same plain function the tests drive with synthesised MJPEG and YUYV buffers. A damaged
//! buffer is a frame error; a device that fails or stops delivering (no frame for
//! [`STALL_LIMIT`]) ends the run with an error, and the supervisor reopens it with backoff.

use std::path::PathBuf;
use std::time::Duration;

use percept_dsp::RgbImage;
use percept_dsp::image::{DecodeLimits, ImageError, decode_image_into, yuyv_to_rgb_into};
use serde::Deserialize;

use super::config::{check_config_fps, check_size, defaults};
use super::pacer::check_fps;
use super::{
    FrameContext, FrameEnd, FrameSource, FrameSourceError, FrameSourceKind, FrameSourceSpec,
};

/// A camera that delivers nothing for this long is treated as lost.
pub const STALL_LIMIT: Duration = Duration::from_secs(10);

/// The pixel format asked of the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraFormat {
    /// Motion JPEG: one JPEG per frame (most USB cameras above 640x480).
    Mjpeg,
    /// Packed YUV 4:2:2 (`Y0 U Y1 V`), uncompressed.
    Yuyv,
}

impl CameraFormat {
    /// The v4l2 four-character code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            CameraFormat::Mjpeg => *b"MJPG",
            CameraFormat::Yuyv => *b"YUYV",
        }
    }
}

impl std::fmt::Display for CameraFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CameraFormat::Mjpeg => "MJPEG",
            CameraFormat::Yuyv => "YUYV",
        })
    }
}

/// How to open a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSpec {
    /// The device, e.g. `/dev/video0`.
    pub device: PathBuf,
    /// Requested width (the driver may choose the nearest size it supports).
    pub width: u32,
    /// Requested height.
    pub height: u32,
    /// Requested frames per second.
    pub fps: u32,
    /// Requested pixel format.
    pub format: CameraFormat,
}

/// Converts one camera buffer to RGB in `out` (its buffer is reused). MJPEG is decoded with
/// the limits of exactly `width` x `height` (a damaged frame cannot claim a larger size);
/// YUYV must be exactly `width * height * 2` bytes.
pub fn camera_buffer_to_frame(
    format: CameraFormat,
    bytes: &[u8],
    width: usize,
    height: usize,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    match format {
        CameraFormat::Mjpeg => decode_image_into(bytes, &DecodeLimits::exactly(width, height), out),
        CameraFormat::Yuyv => yuyv_to_rgb_into(bytes, width, height, out),
    }
}

/// A v4l2 camera.
#[derive(Debug)]
pub struct CameraSource {
    spec: CameraSpec,
    #[cfg(target_os = "linux")]
    opened: v4l_glue::Opened,
}

impl CameraSource {
    /// Opens the device and sets the format and rate.
    pub fn open(spec: CameraSpec) -> Result<Self, FrameSourceError> {
        check_fps("camera", f64::from(spec.fps))?;
        if spec.width == 0 || spec.height == 0 {
            return Err(FrameSourceError::InvalidConfig {
                rule: format!(
                    "camera: width and height must be > 0, got {}x{}",
                    spec.width, spec.height
                ),
            });
        }
        #[cfg(target_os = "linux")]
        {
            let opened = v4l_glue::open(&spec)?;
            Ok(Self { spec, opened })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(FrameSourceError::CameraUnsupported)
        }
    }
}

impl FrameSource for CameraSource {
    fn spec(&self) -> FrameSourceSpec {
        #[cfg(target_os = "linux")]
        let size = (self.opened.width, self.opened.height);
        #[cfg(not(target_os = "linux"))]
        let size = (self.spec.width as usize, self.spec.height as usize);
        FrameSourceSpec {
            name: self.spec.device.display().to_string(),
            kind: FrameSourceKind::Camera,
            size: Some(size),
            fps: f64::from(self.spec.fps),
        }
    }

    fn run(self: Box<Self>, cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
        #[cfg(target_os = "linux")]
        {
            v4l_glue::capture(&self.spec, &self.opened, &cx)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = cx;
            Err(FrameSourceError::CameraUnsupported)
        }
    }
}

/// The v4l2 calls. Compile-only here (no camera on the build machine): everything that can be
/// tested without a device lives in [`camera_buffer_to_frame`].
#[cfg(target_os = "linux")]
mod v4l_glue {
    use std::io::ErrorKind;
    use std::time::{Duration, Instant};

    use percept_dsp::RgbImage;
    use v4l::buffer::Type;
    use v4l::io::traits::CaptureStream;
    use v4l::prelude::MmapStream;
    use v4l::video::Capture;
    use v4l::video::capture::Parameters;
    use v4l::{Device, Format, FourCC};

    use super::{CameraFormat, CameraSpec, STALL_LIMIT, camera_buffer_to_frame};
    use crate::frames::{FrameContext, FrameEnd, FrameSourceError, offer};

    /// Buffers the driver cycles through.
    const BUFFERS: u32 = 4;
    /// Longest wait for one buffer before checking for shutdown again.
    const POLL: Duration = Duration::from_millis(250);

    /// An opened, configured device and the size the driver chose.
    pub(super) struct Opened {
        device: Device,
        pub(super) width: usize,
        pub(super) height: usize,
    }

    impl std::fmt::Debug for Opened {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Opened")
                .field("width", &self.width)
                .field("height", &self.height)
                .finish_non_exhaustive()
        }
    }

    pub(super) fn open(spec: &CameraSpec) -> Result<Opened, FrameSourceError> {
        let name = spec.device.display().to_string();
        let unavailable = |e: std::io::Error| FrameSourceError::DeviceUnavailable {
            device: name.clone(),
            reason: e.to_string(),
        };
        let device = Device::with_path(&spec.device).map_err(unavailable)?;
        let wanted = FourCC::new(&spec.format.fourcc());
        let format = device
            .set_format(&Format::new(spec.width, spec.height, wanted))
            .map_err(unavailable)?;
        if format.fourcc != wanted {
            return Err(FrameSourceError::UnsupportedCameraFormat {
                device: name,
                wanted: spec.format.to_string(),
                got: format.fourcc.to_string(),
            });
        }
        if (format.width, format.height) != (spec.width, spec.height) {
            tracing::warn!(
                device = %name,
                "camera gives {}x{} instead of the requested {}x{}",
                format.width, format.height, spec.width, spec.height
            );
        }
        if let Err(e) = device.set_params(&Parameters::with_fps(spec.fps)) {
            tracing::warn!(device = %name, "camera keeps its own frame rate: {e}");
        }
        Ok(Opened {
            device,
            width: format.width as usize,
            height: format.height as usize,
        })
    }

    pub(super) fn capture(
        spec: &CameraSpec,
        opened: &Opened,
        cx: &FrameContext,
    ) -> Result<FrameEnd, FrameSourceError> {
        let name = spec.device.display().to_string();
        let lost = |reason: String| FrameSourceError::DeviceLost {
            device: name.clone(),
            reason,
        };
        let mut stream = MmapStream::with_buffers(&opened.device, Type::VideoCapture, BUFFERS)
            .map_err(|e| lost(e.to_string()))?;
        stream.set_timeout(POLL);
        let (width, height) = (opened.width, opened.height);
        let mut image = RgbImage::default();
        let mut last_frame = Instant::now();
        loop {
            if let Some(end) = cx.stopped() {
                return Ok(end);
            }
            let (buffer, meta) = match stream.next() {
                Ok(next) => next,
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    if last_frame.elapsed() >= STALL_LIMIT {
                        return Err(lost(format!("no frame for {} s", STALL_LIMIT.as_secs())));
                    }
                    continue;
                }
                Err(e) => return Err(lost(e.to_string())),
            };
            last_frame = Instant::now();
            let mut used = (meta.bytesused as usize).min(buffer.len());
            if spec.format == CameraFormat::Yuyv {
                // Some drivers report the whole (padded) buffer as used.
                used = used.min(width * height * 2);
            }
            let sequence = meta.sequence;
            match camera_buffer_to_frame(spec.format, &buffer[..used], width, height, &mut image) {
                Ok(()) => match offer(cx, std::mem::take(&mut image)) {
                    Ok(reuse) => image = reuse,
                    Err(end) => return Ok(end),
                },
                Err(error) => cx.frame_error(&format!("{name} buffer {sequence}"), &error),
            }
        }
    }
}

/// `[[camera]] kind = "camera"`: a V4L2 device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4l2CameraConfig {
    /// The source's name: the `{source}` part of its topics. Default: `camera`.
    #[serde(default = "default_name")]
    pub name: String,
    /// The device. Default: `/dev/video0`.
    #[serde(default = "default_device")]
    pub path: PathBuf,
    /// Frame width asked of the device, pixels. Default: 640.
    #[serde(default = "defaults::width")]
    pub width: u32,
    /// Frame height asked of the device, pixels. Default: 480.
    #[serde(default = "defaults::height")]
    pub height: u32,
    /// Frames per second asked of the device. Default: 5.
    #[serde(default = "defaults::fps")]
    pub fps: f32,
    /// `mjpeg` or `yuyv`. Default: `mjpeg`.
    #[serde(default = "default_format")]
    pub format: String,
    /// At most this many frames per second reach the model; 0 means no limit. Default: 2.
    #[serde(default = "defaults::max_fps")]
    pub max_fps: f32,
    /// Frames whose downscaled grey difference to the last analysed frame is below this (mean
    /// absolute difference, 0–1) are skipped; 0 analyses every frame. Default: 0.02.
    #[serde(default = "defaults::motion_threshold")]
    pub motion_threshold: f32,
}

fn default_name() -> String {
    "camera".into()
}

fn default_device() -> PathBuf {
    PathBuf::from("/dev/video0")
}

fn default_format() -> String {
    "mjpeg".into()
}

impl V4l2CameraConfig {
    /// Checks the kind's fields (problems under `key`); the spec when they pass.
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<CameraSpec> {
        let before = problems.len();
        check_size(key, self.width, self.height, problems);
        check_config_fps(key, self.fps, problems);
        let format = match self.format.as_str() {
            "mjpeg" => Some(CameraFormat::Mjpeg),
            "yuyv" => Some(CameraFormat::Yuyv),
            other => {
                problems.push(format!(
                    "{key}.format: must be \"mjpeg\" or \"yuyv\", got {other:?}"
                ));
                None
            }
        };
        let format = format.filter(|_| problems.len() == before)?;
        Some(CameraSpec {
            device: self.path.clone(),
            width: self.width,
            height: self.height,
            fps: self.fps.round().max(1.0) as u32,
            format,
        })
    }
}

#[cfg(test)]
mod tests {
    use percept_dsp::image::encode_jpeg;

    use super::*;

    #[test]
    fn an_mjpeg_buffer_decodes_to_the_negotiated_size() {
        let picture = RgbImage::filled(64, 48, [10, 200, 30]);
        let bytes = encode_jpeg(&picture, 90).unwrap();
        let mut out = RgbImage::default();
        camera_buffer_to_frame(CameraFormat::Mjpeg, &bytes, 64, 48, &mut out).unwrap();
        assert_eq!((out.width, out.height), (64, 48));
        let [r, g, b] = out.pixel(30, 20);
        assert!(r < 30 && g > 180 && b < 50, "{:?}", [r, g, b]);
    }

    #[test]
    fn an_mjpeg_buffer_larger_than_the_negotiated_size_is_refused() {
        let bytes = encode_jpeg(&RgbImage::filled(128, 96, [0, 0, 0]), 90).unwrap();
        let mut out = RgbImage::default();
        let error =
            camera_buffer_to_frame(CameraFormat::Mjpeg, &bytes, 64, 48, &mut out).unwrap_err();
        assert!(
            matches!(error, ImageError::TooLarge { width: 128, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_truncated_mjpeg_buffer_is_a_frame_error() {
        let bytes = encode_jpeg(&RgbImage::filled(64, 48, [9, 9, 9]), 90).unwrap();
        let mut out = RgbImage::default();
        let error = camera_buffer_to_frame(
            CameraFormat::Mjpeg,
            &bytes[..bytes.len() / 2],
            64,
            48,
            &mut out,
        )
        .unwrap_err();
        assert!(matches!(error, ImageError::Corrupt { .. }), "{error:?}");
    }

    #[test]
    fn a_yuyv_buffer_converts_and_a_short_one_is_refused() {
        // Limited-range mid grey: Y 126, neutral chroma.
        let buffer = [126u8, 128].repeat(8 * 4);
        let mut out = RgbImage::default();
        camera_buffer_to_frame(CameraFormat::Yuyv, &buffer, 8, 4, &mut out).unwrap();
        assert_eq!(out.pixel(7, 3), [128, 128, 128]);
        let error =
            camera_buffer_to_frame(CameraFormat::Yuyv, &buffer[..60], 8, 4, &mut out).unwrap_err();
        assert_eq!(
            error.to_string(),
            "YUYV buffer for 8x4 must be 64 bytes, got 60"
        );
    }

    #[test]
    fn formats_name_their_fourcc() {
        assert_eq!(&CameraFormat::Mjpeg.fourcc(), b"MJPG");
        assert_eq!(&CameraFormat::Yuyv.fourcc(), b"YUYV");
        assert_eq!(CameraFormat::Yuyv.to_string(), "YUYV");
    }

    #[test]
    fn a_missing_camera_is_unavailable_not_a_panic() {
        let error = CameraSource::open(CameraSpec {
            device: "/dev/nonexistent-video9".into(),
            width: 640,
            height: 480,
            fps: 15,
            format: CameraFormat::Mjpeg,
        })
        .unwrap_err();
        assert!(
            matches!(
                error,
                FrameSourceError::DeviceUnavailable { .. } | FrameSourceError::CameraUnsupported
            ),
            "{error:?}"
        );
    }
}
