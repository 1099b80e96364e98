//! A minimal WAV writer: 16-bit PCM, any rate and channel count.

use thiserror::Error;

use crate::Audio;
use crate::finite::non_finite_name;

/// Why audio could not be written as a 16-bit WAV file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavEncodeError {
    /// The audio says 0 frames per second.
    #[error("sample_rate must be > 0, got 0")]
    SampleRateZero,
    /// The audio says 0 channels.
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
    /// The data would not fit the 32-bit RIFF size fields.
    #[error("a WAV file holds at most 4 GiB of samples, but this audio needs {bytes} bytes")]
    TooLong {
        /// Bytes of sample data the audio needs.
        bytes: u64,
    },
    /// A sample is NaN or infinite.
    #[error("sample at frame {frame} is {value}; WAV data must be finite")]
    NonFiniteSample {
        /// Frame index of the first offending sample.
        frame: usize,
        /// What it was: "NaN", "+inf" or "-inf".
        value: &'static str,
    },
}

/// Encodes `audio` as a canonical 44-byte-header WAV file with 16-bit signed samples.
///
/// Samples are scaled by 32768, rounded and clipped to the 16-bit range, so
/// [`decode_wav`](super::decode_wav) gives back every value that is a multiple of 1/32768
/// in `[-1, 1)` exactly.
pub fn encode_wav_i16(audio: &Audio) -> Result<Vec<u8>, WavEncodeError> {
    if audio.sample_rate == 0 {
        return Err(WavEncodeError::SampleRateZero);
    }
    if audio.channels == 0 {
        return Err(WavEncodeError::ChannelsZero);
    }
    let channels = usize::from(audio.channels);
    if !audio.samples.len().is_multiple_of(channels) {
        return Err(WavEncodeError::PartialFrame {
            len: audio.samples.len(),
            channels: audio.channels,
        });
    }
    let data_bytes = audio.samples.len() as u64 * 2;
    let riff_size = u32::try_from(data_bytes + 36)
        .map_err(|_| WavEncodeError::TooLong { bytes: data_bytes })?;
    let block_align = audio
        .channels
        .checked_mul(2)
        .ok_or(WavEncodeError::TooLong { bytes: data_bytes })?;
    let byte_rate = u64::from(audio.sample_rate) * u64::from(block_align);
    let byte_rate =
        u32::try_from(byte_rate).map_err(|_| WavEncodeError::TooLong { bytes: data_bytes })?;

    let mut out = Vec::with_capacity(44 + audio.samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&audio.channels.to_le_bytes());
    out.extend_from_slice(&audio.sample_rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&((data_bytes as u32).to_le_bytes()));
    for (index, &sample) in audio.samples.iter().enumerate() {
        if let Some(value) = non_finite_name(f64::from(sample)) {
            return Err(WavEncodeError::NonFiniteSample {
                frame: index / channels,
                value,
            });
        }
        let scaled = (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
        out.extend_from_slice(&scaled.to_le_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_wav;

    fn audio(sample_rate: u32, channels: u16, samples: Vec<f32>) -> Audio {
        Audio {
            sample_rate,
            channels,
            samples,
        }
    }

    #[test]
    fn stereo_round_trips_through_the_decoder() {
        let original = audio(
            48_000,
            2,
            vec![0.0, 0.5, -1.0, 16_383.0 / 32_768.0, -0.25, 0.125],
        );
        let bytes = encode_wav_i16(&original).unwrap();
        assert_eq!(bytes.len(), 44 + 12);
        assert_eq!(decode_wav(&bytes).unwrap(), original);
    }

    #[test]
    fn out_of_range_samples_are_clipped() {
        let bytes = encode_wav_i16(&audio(16_000, 1, vec![1.5, -3.0, 1.0])).unwrap();
        let decoded = decode_wav(&bytes).unwrap();
        assert_eq!(
            decoded.samples,
            vec![32_767.0 / 32_768.0, -1.0, 32_767.0 / 32_768.0]
        );
    }

    #[test]
    fn invalid_audio_is_rejected_with_the_rule() {
        assert_eq!(
            encode_wav_i16(&audio(0, 1, vec![]))
                .unwrap_err()
                .to_string(),
            "sample_rate must be > 0, got 0"
        );
        assert_eq!(
            encode_wav_i16(&audio(16_000, 0, vec![])).unwrap_err(),
            WavEncodeError::ChannelsZero
        );
        assert_eq!(
            encode_wav_i16(&audio(16_000, 2, vec![0.0; 3]))
                .unwrap_err()
                .to_string(),
            "audio has 3 samples, which is not a whole number of 2-channel frames"
        );
        assert_eq!(
            encode_wav_i16(&audio(16_000, 2, vec![0.0, 0.0, 0.0, f32::NAN]))
                .unwrap_err()
                .to_string(),
            "sample at frame 1 is NaN; WAV data must be finite"
        );
    }
}
