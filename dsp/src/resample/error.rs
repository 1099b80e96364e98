//! Errors returned by the resamplers.

use thiserror::Error;

use super::MAX_INPUT_RATE;

/// Why audio could not be resampled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResampleError {
    /// The input sample rate is 0.
    #[error("sample_rate must be > 0, got 0")]
    SampleRateZero,
    /// The input sample rate is above [`MAX_INPUT_RATE`].
    #[error("sample_rate must be <= {MAX_INPUT_RATE}, got {rate}")]
    SampleRateTooHigh {
        /// The rate that was given.
        rate: u32,
    },
    /// The channel count is 0.
    #[error("channels must be > 0, got 0")]
    ChannelsZero,
    /// The interleaved sample count is not a multiple of the channel count.
    #[error("audio has {len} samples, which is not a whole number of {channels}-channel frames")]
    PartialFrame {
        /// Number of interleaved samples.
        len: usize,
        /// Channel count.
        channels: u16,
    },
    /// rubato refused to build a resampler for this rate.
    #[error("cannot build a resampler from {rate} Hz to 16000 Hz: {reason}")]
    Construction {
        /// The input rate.
        rate: u32,
        /// rubato's explanation.
        reason: String,
    },
}
