//! The pipeline's one sample rate (16 kHz mono: what Whisper and Silero VAD take) and the
//! conversions between milliseconds, seconds and sample counts at that rate.

use std::time::Duration;

/// The sample rate of every buffer past the resampler, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;

/// Samples per millisecond at [`SAMPLE_RATE`].
pub const SAMPLES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;

/// Samples in `ms` milliseconds.
pub const fn ms_to_samples(ms: u64) -> u64 {
    ms * SAMPLES_PER_MS
}

/// Whole milliseconds in `samples` (rounded down).
pub const fn samples_to_ms(samples: u64) -> u64 {
    samples / SAMPLES_PER_MS
}

/// Milliseconds in `samples`, rounded up (a partial millisecond counts as one).
pub const fn samples_to_ms_ceil(samples: u64) -> u64 {
    samples.div_ceil(SAMPLES_PER_MS)
}

/// Samples in `secs` seconds, rounded to the nearest sample (negative and NaN give 0).
pub fn secs_to_samples(secs: f64) -> u64 {
    (secs * f64::from(SAMPLE_RATE)).round() as u64
}

/// Seconds in `samples`.
pub fn samples_to_secs(samples: u64) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

/// The duration of `samples` (microsecond resolution).
pub fn samples_to_duration(samples: u64) -> Duration {
    Duration::from_micros(samples * 1_000_000 / u64::from(SAMPLE_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_agree_with_the_rate() {
        assert_eq!(SAMPLES_PER_MS, 16);
        assert_eq!(ms_to_samples(1500), 24_000);
        assert_eq!(samples_to_ms(24_015), 1500);
        assert_eq!(samples_to_ms_ceil(24_001), 1501);
        assert_eq!(samples_to_ms_ceil(24_000), 1500);
        assert_eq!(secs_to_samples(0.5), 8000);
        assert_eq!(secs_to_samples(-1.0), 0);
        assert_eq!(secs_to_samples(f64::NAN), 0);
        assert_eq!(samples_to_secs(8000), 0.5);
        assert_eq!(samples_to_duration(16), Duration::from_millis(1));
    }
}
