//! Errors returned by [`decode_wav`](super::decode_wav).

use thiserror::Error;

/// Why a byte slice could not be decoded as a WAV file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavError {
    /// The input has no bytes at all.
    #[error("WAV input is empty; a WAV file starts with a 12-byte RIFF/WAVE header")]
    Empty,
    /// The first 12 bytes are not `RIFF <size> WAVE`.
    #[error(
        "not a RIFF/WAVE file: expected \"RIFF\" at byte 0 and \"WAVE\" at byte 8, found {found}"
    )]
    NotRiffWave {
        /// The leading bytes, escaped for display.
        found: String,
    },
    /// No `fmt ` chunk was found before the end of the file.
    #[error("WAV file has no fmt chunk; the sample format must be described before the data")]
    MissingFmtChunk,
    /// No `data` chunk was found before the end of the file.
    #[error("WAV file has no data chunk; there are no samples to decode")]
    MissingDataChunk,
    /// A chunk's declared size runs past the end of the input.
    #[error("{chunk} chunk declares {declared} bytes but only {available} are present")]
    TruncatedChunk {
        /// Chunk id (`data` or `fmt`).
        chunk: &'static str,
        /// Size in the chunk header.
        declared: u32,
        /// Bytes actually left in the input.
        available: usize,
    },
    /// The `fmt ` chunk is shorter than its format requires.
    #[error("fmt chunk must be at least {required} bytes for this format, got {len}")]
    FmtChunkTooShort {
        /// Bytes required (16, or 40 for WAVE_FORMAT_EXTENSIBLE).
        required: usize,
        /// Bytes present.
        len: usize,
    },
    /// The header says 0 frames per second.
    #[error("sample_rate must be > 0, got 0")]
    SampleRateZero,
    /// The header says 0 channels.
    #[error("channels must be > 0, got 0")]
    ChannelsZero,
    /// The header's block_align contradicts channels × bytes per sample.
    #[error(
        "block_align {block_align} must equal channels ({channels}) × {sample_bytes} bytes per {bits}-bit sample"
    )]
    BlockAlignMismatch {
        /// block_align from the header.
        block_align: u16,
        /// Channel count from the header.
        channels: u16,
        /// Bytes per sample implied by `bits`.
        sample_bytes: u16,
        /// bits_per_sample from the header.
        bits: u16,
    },
    /// The sample format or bit depth is not one this decoder supports.
    #[error(
        "unsupported WAV sample format: {format}; supported are PCM 8/16/24/32-bit integer and 32/64-bit IEEE float"
    )]
    UnsupportedFormat {
        /// Human-readable name of the format found, e.g. "A-law 8-bit".
        format: String,
    },
    /// A float sample is NaN, infinite, or beyond the `f32` range.
    #[error("sample at frame {frame} is {value}; WAV data must be finite")]
    NonFiniteSample {
        /// Frame index of the first offending sample.
        frame: usize,
        /// What it was: "NaN", "+inf", "-inf" or "outside the f32 range".
        value: &'static str,
    },
}
