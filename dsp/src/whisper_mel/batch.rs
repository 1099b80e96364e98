//! Whole-signal log-mel spectrogram, built on [`LogMelStream`].

use super::{HOP_LENGTH, LogMelStream, MelError};
use crate::finite::non_finite_name;

/// Amount by which values may sit below the global maximum before being clamped.
const DYNAMIC_RANGE_LOG10: f32 = 8.0;
/// Zero samples pushed per call when appending padding.
const ZERO_BLOCK: [f32; 4096] = [0.0; 4096];

/// A normalised log-mel spectrogram, row-major `[n_mels][n_frames]` like Whisper's tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    /// Mel bands (rows).
    pub n_mels: usize,
    /// Frames (columns), one per 10 ms.
    pub n_frames: usize,
    /// `n_mels * n_frames` values, band by band.
    pub data: Vec<f32>,
}

impl MelSpectrogram {
    /// The values of one mel band across all frames, if `mel < n_mels`.
    pub fn band(&self, mel: usize) -> Option<&[f32]> {
        let start = mel.checked_mul(self.n_frames)?;
        self.data
            .get(start..start + self.n_frames)
            .filter(|_| mel < self.n_mels)
    }
}

/// Whisper's `log_mel_spectrogram(samples, n_mels, padding)` for 16 kHz mono audio.
///
/// `padding_samples` zeros are appended before framing (Whisper's transcribe uses
/// `N_SAMPLES`), giving `(samples.len() + padding_samples) / 160` frames.
pub fn log_mel_spectrogram(
    samples: &[f32],
    n_mels: usize,
    padding_samples: usize,
) -> Result<MelSpectrogram, MelError> {
    let mut stream = LogMelStream::new(n_mels)?;
    if let Some((index, value)) = samples
        .iter()
        .enumerate()
        .find_map(|(i, &s)| non_finite_name(f64::from(s)).map(|name| (i, name)))
    {
        return Err(MelError::NonFiniteSample { index, value });
    }
    let n_frames = (samples.len() + padding_samples) / HOP_LENGTH;
    let mut frames = Vec::with_capacity(n_frames * n_mels);
    stream.push(samples, &mut frames);
    let mut padding_left = padding_samples;
    while padding_left > 0 {
        let block = padding_left.min(ZERO_BLOCK.len());
        stream.push(&ZERO_BLOCK[..block], &mut frames);
        padding_left -= block;
    }
    stream.finish(&mut frames);
    debug_assert_eq!(frames.len(), n_frames * n_mels);
    if let Some(max) = max_log_mel(&frames) {
        normalize_log_mel(&mut frames, max);
    }
    Ok(MelSpectrogram {
        n_mels,
        n_frames,
        data: transpose(&frames, n_frames, n_mels),
    })
}

/// The largest value in raw log10 mel frames, or `None` when there are none.
pub fn max_log_mel(log_mel: &[f32]) -> Option<f32> {
    log_mel.iter().copied().reduce(f32::max)
}

/// Whisper's final step on raw log10 mel values: `(max(x, global_max - 8) + 4) / 4`, in place.
///
/// Layout does not matter; pass the maximum over the window being normalised
/// (see [`max_log_mel`]).
pub fn normalize_log_mel(log_mel: &mut [f32], global_max: f32) {
    let floor = global_max - DYNAMIC_RANGE_LOG10;
    for value in log_mel {
        *value = (value.max(floor) + 4.0) / 4.0;
    }
}

/// Frame-major `[n_frames][n_mels]` to band-major `[n_mels][n_frames]`.
fn transpose(frames: &[f32], n_frames: usize, n_mels: usize) -> Vec<f32> {
    let mut bands = vec![0.0; frames.len()];
    for (frame, column) in frames.chunks_exact(n_mels).enumerate() {
        for (mel, &value) in column.iter().enumerate() {
            bands[mel * n_frames + frame] = value;
        }
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| (n as f32 * 0.001 * n as f32 / len as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn frame_count_matches_the_reference_formula() {
        for (len, padding, frames) in [
            (0, 0, 0),
            (159, 0, 0),
            (160, 0, 1),
            (16_000, 0, 100),
            (100, 480_000, 3000),
        ] {
            let mel = log_mel_spectrogram(&chirp(len), 80, padding).unwrap();
            assert_eq!(
                (mel.n_frames, mel.data.len()),
                (frames, frames * 80),
                "len {len} padding {padding}"
            );
        }
    }

    #[test]
    fn batch_equals_stream_plus_normalize() {
        let samples = chirp(7_777);
        let mut stream = LogMelStream::new(128).unwrap();
        let mut frames = Vec::new();
        stream.push(&samples, &mut frames);
        stream.finish(&mut frames);
        let max = max_log_mel(&frames).unwrap();
        normalize_log_mel(&mut frames, max);
        let batch = log_mel_spectrogram(&samples, 128, 0).unwrap();
        assert_eq!(batch.data, transpose(&frames, batch.n_frames, 128));
    }

    #[test]
    fn padding_equals_appended_zeros() {
        let samples = chirp(5_000);
        let mut padded = samples.clone();
        padded.resize(5_000 + 9_000, 0.0);
        assert_eq!(
            log_mel_spectrogram(&samples, 80, 9_000).unwrap(),
            log_mel_spectrogram(&padded, 80, 0).unwrap()
        );
    }

    #[test]
    fn normalisation_clamps_eight_below_the_max_then_scales() {
        let mut values = vec![2.0, -7.0, -5.0];
        normalize_log_mel(&mut values, 2.0);
        assert_eq!(values, vec![1.5, -0.5, -0.25]);
    }

    #[test]
    fn band_returns_one_row() {
        let mel = MelSpectrogram {
            n_mels: 2,
            n_frames: 3,
            data: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        };
        assert_eq!(mel.band(1), Some(&[3.0, 4.0, 5.0][..]));
        assert_eq!(mel.band(2), None);
    }

    #[test]
    fn unsupported_n_mels_and_nan_are_rejected() {
        assert_eq!(
            log_mel_spectrogram(&[0.0; 10], 40, 0).unwrap_err(),
            MelError::UnsupportedNMels { n_mels: 40 }
        );
        let error = log_mel_spectrogram(&[0.0, f32::NAN], 80, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sample 1 is NaN; audio for the log-mel must be finite"
        );
    }
}
