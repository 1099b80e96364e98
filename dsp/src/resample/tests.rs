//! Behavioural tests for the batch and streaming resamplers.

use std::f64::consts::PI;

use proptest::prelude::*;

use super::*;

const SINE_HZ: f64 = 1000.0;

fn sine(rate: u32, frames: usize, channels: u16) -> Audio {
    let samples = (0..frames)
        .flat_map(|n| {
            let value = (0.5 * (2.0 * PI * SINE_HZ * n as f64 / f64::from(rate)).sin()) as f32;
            std::iter::repeat_n(value, usize::from(channels))
        })
        .collect();
    Audio {
        sample_rate: rate,
        channels,
        samples,
    }
}

fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn expected_len(frames: usize, rate: u32) -> usize {
    (frames as f64 * 16_000.0 / f64::from(rate)).round() as usize
}

#[test]
fn sixteen_khz_mono_passes_through_unchanged() {
    let audio = Audio {
        sample_rate: 16_000,
        channels: 1,
        samples: noise(1234, 1),
    };
    assert_eq!(to_mono_16k(&audio).unwrap(), audio.samples);
}

#[test]
fn sixteen_khz_stereo_is_only_averaged() {
    let audio = Audio {
        sample_rate: 16_000,
        channels: 2,
        samples: vec![1.0, 0.0, 0.5, 0.5, -1.0, 0.0],
    };
    assert_eq!(to_mono_16k(&audio).unwrap(), vec![0.5, 0.5, -0.5]);
}

#[test]
fn output_length_is_the_rounded_rate_ratio() {
    for rate in [8_000, 11_025, 22_050, 44_100, 48_000, 96_000, 44_101] {
        for frames in [0, 1, 2, 3, 7, 441, 1_000, 12_345] {
            let audio = Audio {
                sample_rate: rate,
                channels: 1,
                samples: noise(frames, 7),
            };
            let out = to_mono_16k(&audio).unwrap();
            assert_eq!(
                out.len(),
                expected_len(frames, rate),
                "rate {rate} frames {frames}"
            );
        }
    }
}

#[test]
fn one_khz_sine_keeps_amplitude_frequency_and_timing() {
    for rate in [8_000, 22_050, 44_100, 48_000, 96_000] {
        let frames = rate as usize; // one second
        let out = to_mono_16k(&sine(rate, frames, 2)).unwrap();
        assert_eq!(out.len(), 16_000);
        // Compare with the ideal 16 kHz sine away from the edges (filter transients).
        let interior = 800..15_200;
        let mut max_error = 0.0f64;
        let mut sum_sq = 0.0f64;
        for n in interior.clone() {
            let ideal = 0.5 * (2.0 * PI * SINE_HZ * n as f64 / 16_000.0).sin();
            max_error = max_error.max((f64::from(out[n]) - ideal).abs());
            sum_sq += f64::from(out[n]).powi(2);
        }
        let amplitude = (2.0 * sum_sq / interior.len() as f64).sqrt();
        assert!(
            (amplitude - 0.5).abs() < 0.005,
            "rate {rate}: amplitude {amplitude}"
        );
        // A delay of one output sample would already give an error of ~0.2 at 1 kHz.
        assert!(
            max_error < 0.005,
            "rate {rate}: max error vs ideal sine {max_error}"
        );
        let crossings = out[interior.clone()]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let measured_hz = crossings as f64 / 2.0 / (interior.len() as f64 / 16_000.0);
        assert!(
            (measured_hz - SINE_HZ).abs() < 2.0,
            "rate {rate}: frequency {measured_hz}"
        );
    }
}

#[test]
fn odd_rates_resample() {
    for rate in [22_050, 11_025, 7_350, 44_101] {
        let frames = rate as usize / 2;
        let out = to_mono_16k(&sine(rate, frames, 1)).unwrap();
        assert_eq!(out.len(), expected_len(frames, rate), "rate {rate}");
        let peak = out[2_000..6_000].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.5).abs() < 0.01, "rate {rate}: peak {peak}");
    }
}

#[test]
fn stream_reports_its_delay_and_resets_after_flush() {
    let mut stream = StreamResampler::new(48_000, 1).unwrap();
    assert_eq!(stream.output_delay(), 256);
    assert_eq!(StreamResampler::new(16_000, 2).unwrap().output_delay(), 0);
    let audio = sine(48_000, 4_800, 1);
    let mut first = stream.process(&audio.samples);
    first.extend(stream.flush());
    let mut second = stream.process(&audio.samples);
    second.extend(stream.flush());
    assert_eq!(first, second);
    assert_eq!(first.len(), 1_600);
}

#[test]
fn invalid_parameters_are_rejected() {
    assert_eq!(
        StreamResampler::new(0, 1).unwrap_err().to_string(),
        "sample_rate must be > 0, got 0"
    );
    assert_eq!(
        StreamResampler::new(16_000, 0).unwrap_err().to_string(),
        "channels must be > 0, got 0"
    );
    assert_eq!(
        StreamResampler::new(1_000_000, 1).unwrap_err().to_string(),
        "sample_rate must be <= 768000, got 1000000"
    );
    let ragged = Audio {
        sample_rate: 48_000,
        channels: 2,
        samples: vec![0.0; 3],
    };
    assert_eq!(
        to_mono_16k(&ragged).unwrap_err().to_string(),
        "audio has 3 samples, which is not a whole number of 2-channel frames"
    );
}

fn chunked(rate: u32, channels: u16, samples: &[f32], chunk_sizes: &[usize]) -> Vec<f32> {
    let mut stream = StreamResampler::new(rate, channels).unwrap();
    let mut out = Vec::new();
    let mut rest = samples;
    for &size in chunk_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        stream.process_into(chunk, &mut out);
        rest = tail;
    }
    stream.flush_into(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn chunked_stream_equals_batch(
        rate in prop::sample::select(vec![8_000u32, 16_000, 22_050, 44_100, 48_000, 96_000]),
        channels in 1u16..=3,
        frames in 0usize..6_000,
        chunk_sizes in prop::collection::vec(0usize..2_000, 1..8),
        seed in any::<u64>(),
    ) {
        prop_assume!(chunk_sizes.iter().any(|&size| size > 0));
        let samples = noise(frames * usize::from(channels), seed);
        let batch = to_mono_16k(&Audio { sample_rate: rate, channels, samples: samples.clone() }).unwrap();
        let streamed = chunked(rate, channels, &samples, &chunk_sizes);
        prop_assert_eq!(streamed.len(), batch.len());
        for (a, b) in streamed.iter().zip(&batch) {
            prop_assert!((a - b).abs() <= 1e-5, "{} vs {}", a, b);
        }
    }
}
