//! Why a source could not be opened or stopped delivering audio.

use percept_dsp::{PcmError, ResampleError, WavError};
use thiserror::Error;

/// A source failure. Open-time variants come from the constructors; `DeviceLost`, `Read` and
/// `Pcm` can also end a running source.
#[derive(Debug, Error)]
pub enum SourceError {
    /// No input device has the requested name.
    #[error("no input device named {name:?}; available input devices: {}", list_or_none(.available))]
    DeviceNotFound {
        /// The name asked for.
        name: String,
        /// Names of the input devices that exist (what `perceptd capture --list` prints).
        available: Vec<String>,
    },
    /// The device exists (or is the host's default) but cannot be opened or configured.
    #[error("input device {device:?} is unavailable: {reason}")]
    DeviceUnavailable {
        /// The device's name.
        device: String,
        /// What the audio host said.
        reason: String,
    },
    /// The device's native sample format has no conversion to f32 here (e.g. DSD).
    #[error("input device {device:?} delivers {format} samples, which cannot be converted to PCM")]
    UnsupportedSampleFormat {
        /// The device's name.
        device: String,
        /// The format it offers.
        format: String,
    },
    /// The audio host could not list its devices.
    #[error("cannot list audio input devices: {reason}")]
    Host {
        /// What the audio host said.
        reason: String,
    },
    /// A running capture stream reported a fatal error (device unplugged, server gone).
    #[error("input device {device:?} was lost: {reason}")]
    DeviceLost {
        /// The device's name.
        device: String,
        /// What the audio host said.
        reason: String,
    },
    /// A source option is out of range.
    #[error("{rule}")]
    InvalidConfig {
        /// The rule that was broken, e.g. "ring_ms must be > 0, got 0".
        rule: String,
    },
    /// Reading the file or stream failed.
    #[error("cannot read {name}: {source}")]
    Read {
        /// The file path or `stdin`.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a usable WAV file.
    #[error("{name}: not a usable WAV file: {source}")]
    Wav {
        /// The file path or embedded clip name.
        name: String,
        /// What the decoder found.
        source: WavError,
    },
    /// The file decodes but holds no samples, so there is nothing to stream (or loop).
    #[error("{name}: contains no audio samples")]
    Empty {
        /// The file path or embedded clip name.
        name: String,
    },
    /// Raw PCM could not be decoded (bad parameters, NaN/inf samples, a trailing partial frame).
    #[error("{name}: bad raw PCM: {source}")]
    Pcm {
        /// Normally `stdin`.
        name: String,
        /// What the decoder found.
        source: PcmError,
    },
    /// The native rate or channel count cannot be converted to 16 kHz mono.
    #[error("{name}: cannot convert to 16 kHz mono: {source}")]
    Resample {
        /// The source's name.
        name: String,
        /// What the resampler refused.
        source: ResampleError,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_device_error_lists_the_devices_on_one_line() {
        let error = SourceError::DeviceNotFound {
            name: "usb".into(),
            available: vec!["alsa:default".into(), "alsa:pulse".into()],
        };
        assert_eq!(
            error.to_string(),
            "no input device named \"usb\"; available input devices: alsa:default, alsa:pulse"
        );
        let none = SourceError::DeviceNotFound {
            name: "usb".into(),
            available: vec![],
        };
        assert!(none.to_string().ends_with("available input devices: none"));
    }
}
