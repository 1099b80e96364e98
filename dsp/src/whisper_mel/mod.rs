//! Whisper's log-mel spectrogram, matching openai-whisper's `log_mel_spectrogram`.
//!
//! The pipeline: periodic Hann window of [`N_FFT`] samples, STFT with hop [`HOP_LENGTH`],
//! centred frames with reflect padding of `N_FFT / 2` at both ends, power spectrum, the
//! last STFT frame dropped, Slaney mel filterbank, `log10(max(x, 1e-10))`, then the
//! global clamp `max(x, max - 8)` and scaling `(x + 4) / 4`.
//!
//! [`LogMelStream`] computes raw log10 mel frames incrementally; [`log_mel_spectrogram`]
//! is built on it and adds the global clamp and scaling via [`normalize_log_mel`].
//!
//! Inputs shorter than `N_FFT / 2 + 1` samples (where PyTorch's reflect pad would refuse)
//! follow numpy's `np.pad(mode="reflect")`, which keeps mirroring back and forth; there are
//! `len / HOP_LENGTH` frames, so inputs under 160 samples give no frames at all.

mod analyzer;
mod batch;
mod filters;
mod stream;

pub use batch::{MelSpectrogram, log_mel_spectrogram, max_log_mel, normalize_log_mel};
pub use filters::mel_filters;
pub use stream::LogMelStream;

use thiserror::Error;

/// Audio sample rate Whisper expects, in Hz (the pipeline's one rate).
pub use crate::rate::SAMPLE_RATE;
/// STFT window and FFT length in samples (25 ms).
pub const N_FFT: usize = 400;
/// STFT hop in samples (10 ms); one mel frame per hop.
pub const HOP_LENGTH: usize = 160;
/// Length of one Whisper input window in seconds.
pub const CHUNK_LENGTH_SECS: usize = 30;
/// Samples in one Whisper input window (480 000).
pub const N_SAMPLES: usize = CHUNK_LENGTH_SECS * SAMPLE_RATE as usize;
/// Mel frames in one Whisper input window (3000).
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;
/// Frequency bins of the one-sided spectrum (201): the width of a [`mel_filters`] row.
pub const N_FREQ_BINS: usize = N_FFT / 2 + 1;
/// Mel band counts Whisper models use (80 for most, 128 for large-v3).
pub const SUPPORTED_N_MELS: [usize; 2] = [80, 128];

const _: () = assert!(N_SAMPLES == 480_000 && N_FRAMES == 3000);

/// Why a log-mel spectrogram could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MelError {
    /// `n_mels` is not one Whisper uses.
    #[error("n_mels must be 80 or 128, got {n_mels}")]
    UnsupportedNMels {
        /// The count that was given.
        n_mels: usize,
    },
    /// An input sample is NaN or infinite.
    #[error("sample {index} is {value}; audio for the log-mel must be finite")]
    NonFiniteSample {
        /// Index of the first offending sample.
        index: usize,
        /// What it was: "NaN", "+inf" or "-inf".
        value: &'static str,
    },
}

fn check_n_mels(n_mels: usize) -> Result<(), MelError> {
    if SUPPORTED_N_MELS.contains(&n_mels) {
        Ok(())
    } else {
        Err(MelError::UnsupportedNMels { n_mels })
    }
}
