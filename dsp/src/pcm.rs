//! Headerless little-endian PCM decoding into [`Audio`].

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::Audio;
use crate::sample_codec::{SampleEncoding, decode_samples};

/// Sample layout of a raw PCM stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PcmFormat {
    /// Signed 16-bit little-endian integers.
    S16le,
    /// 32-bit little-endian IEEE floats.
    F32le,
}

impl PcmFormat {
    /// Bytes per sample (one channel).
    pub fn bytes_per_sample(self) -> usize {
        self.encoding().bytes()
    }

    fn encoding(self) -> SampleEncoding {
        match self {
            Self::S16le => SampleEncoding::I16,
            Self::F32le => SampleEncoding::F32,
        }
    }
}

impl fmt::Display for PcmFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::S16le => "s16le",
            Self::F32le => "f32le",
        })
    }
}

impl FromStr for PcmFormat {
    type Err = PcmError;

    /// Accepts `s16le` or `f32le` (ASCII case-insensitive).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.eq_ignore_ascii_case("s16le") {
            Ok(Self::S16le)
        } else if name.eq_ignore_ascii_case("f32le") {
            Ok(Self::F32le)
        } else {
            Err(PcmError::UnknownFormat {
                name: name.to_owned(),
            })
        }
    }
}

/// Why raw PCM bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PcmError {
    /// The format name is not one of the supported layouts.
    #[error("unknown PCM format {name:?}; expected \"s16le\" or \"f32le\"")]
    UnknownFormat {
        /// The name that was given.
        name: String,
    },
    /// The caller passed a sample rate of 0.
    #[error("sample_rate must be > 0, got 0")]
    SampleRateZero,
    /// The caller passed 0 channels.
    #[error("channels must be > 0, got 0")]
    ChannelsZero,
    /// The byte count is not a multiple of the frame size.
    #[error(
        "PCM data must be a whole number of {frame_bytes}-byte frames, but {len} bytes leave {leftover} bytes over"
    )]
    PartialFrame {
        /// Total input length in bytes.
        len: usize,
        /// Bytes per frame (channels × bytes per sample).
        frame_bytes: usize,
        /// Bytes after the last whole frame.
        leftover: usize,
    },
    /// A float sample is NaN or infinite.
    #[error("sample at frame {frame} is {value}; PCM data must be finite")]
    NonFiniteSample {
        /// Frame index of the first offending sample.
        frame: usize,
        /// What it was: "NaN", "+inf" or "-inf".
        value: &'static str,
    },
}

/// Decodes interleaved raw PCM bytes; the input must hold a whole number of frames.
pub fn decode_pcm(
    bytes: &[u8],
    format: PcmFormat,
    sample_rate: u32,
    channels: u16,
) -> Result<Audio, PcmError> {
    if sample_rate == 0 {
        return Err(PcmError::SampleRateZero);
    }
    if channels == 0 {
        return Err(PcmError::ChannelsZero);
    }
    let frame_bytes = usize::from(channels) * format.bytes_per_sample();
    let leftover = bytes.len() % frame_bytes;
    if leftover != 0 {
        return Err(PcmError::PartialFrame {
            len: bytes.len(),
            frame_bytes,
            leftover,
        });
    }
    let samples =
        decode_samples(bytes, format.encoding(), usize::from(channels)).map_err(|bad| {
            PcmError::NonFiniteSample {
                frame: bad.frame,
                value: bad.value,
            }
        })?;
    Ok(Audio {
        sample_rate,
        channels,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_parse_and_round_trip() {
        assert_eq!("s16le".parse::<PcmFormat>().unwrap(), PcmFormat::S16le);
        assert_eq!("F32LE".parse::<PcmFormat>().unwrap(), PcmFormat::F32le);
        assert_eq!(
            PcmFormat::F32le.to_string().parse::<PcmFormat>().unwrap(),
            PcmFormat::F32le
        );
    }

    #[test]
    fn unknown_format_name_is_rejected() {
        let error = "u8".parse::<PcmFormat>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown PCM format \"u8\"; expected \"s16le\" or \"f32le\""
        );
    }

    #[test]
    fn s16le_stereo_decodes() {
        let bytes: Vec<u8> = [16_384i16, -16_384]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let audio = decode_pcm(&bytes, PcmFormat::S16le, 16_000, 2).unwrap();
        assert_eq!(
            audio,
            Audio {
                sample_rate: 16_000,
                channels: 2,
                samples: vec![0.5, -0.5]
            }
        );
    }

    #[test]
    fn f32le_decodes() {
        let bytes: Vec<u8> = [0.25f32, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let audio = decode_pcm(&bytes, PcmFormat::F32le, 48_000, 1).unwrap();
        assert_eq!(audio.samples, vec![0.25, 2.0]);
    }

    #[test]
    fn empty_input_is_zero_frames() {
        let audio = decode_pcm(&[], PcmFormat::S16le, 16_000, 1).unwrap();
        assert_eq!(audio.frames(), 0);
    }

    #[test]
    fn zero_rate_and_zero_channels_are_rejected() {
        assert_eq!(
            decode_pcm(&[0, 0], PcmFormat::S16le, 0, 1).unwrap_err(),
            PcmError::SampleRateZero
        );
        let error = decode_pcm(&[0, 0], PcmFormat::S16le, 16_000, 0).unwrap_err();
        assert_eq!(error.to_string(), "channels must be > 0, got 0");
    }

    #[test]
    fn trailing_partial_frame_is_rejected_with_leftover_bytes() {
        let error = decode_pcm(&[0; 10], PcmFormat::S16le, 16_000, 2).unwrap_err();
        assert_eq!(
            error,
            PcmError::PartialFrame {
                len: 10,
                frame_bytes: 4,
                leftover: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "PCM data must be a whole number of 4-byte frames, but 10 bytes leave 2 bytes over"
        );
    }

    #[test]
    fn non_finite_float_is_rejected_with_its_frame() {
        let bytes: Vec<u8> = [0.0f32, 0.0, f32::INFINITY]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let error = decode_pcm(&bytes, PcmFormat::F32le, 16_000, 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sample at frame 2 is +inf; PCM data must be finite"
        );
    }
}
