//! Down-mixing and resampling to Whisper's 16 kHz mono.
//!
//! Both the batch [`to_mono_16k`] and the live [`StreamResampler`] average the channels and
//! then resample with rubato's FFT resampler. Rubato's startup delay is trimmed, so the output
//! is time-aligned with the input, and the total output is exactly
//! `round(frames * 16000 / rate)` frames.

mod downmix;
mod error;
mod stream;
#[cfg(test)]
mod tests;

pub use error::ResampleError;
pub use stream::{MAX_INPUT_RATE, StreamResampler};

use crate::Audio;
use crate::whisper_mel::SAMPLE_RATE;

/// Averages the channels of `audio` and resamples to 16 kHz mono.
///
/// Already-16 kHz mono input is returned unchanged. The output has exactly
/// `round(frames * 16000 / sample_rate)` samples and is time-aligned with the input.
pub fn to_mono_16k(audio: &Audio) -> Result<Vec<f32>, ResampleError> {
    let channels = usize::from(audio.channels);
    if channels > 0 && !audio.samples.len().is_multiple_of(channels) {
        return Err(ResampleError::PartialFrame {
            len: audio.samples.len(),
            channels: audio.channels,
        });
    }
    let mut resampler = StreamResampler::new(audio.sample_rate, audio.channels)?;
    if audio.sample_rate == SAMPLE_RATE && audio.channels == 1 {
        return Ok(audio.samples.clone());
    }
    let mut out = Vec::with_capacity(resampler.output_len_for(audio.frames()));
    resampler.process_into(&audio.samples, &mut out);
    resampler.flush_into(&mut out);
    Ok(out)
}
