//! One STFT frame to one column of raw log10 mel energies, in f64.

use std::f64::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::filters::MelFilterbank;
use super::{N_FFT, N_FREQ_BINS};

/// Windowed FFT, power spectrum and mel projection for single frames, with reusable buffers.
pub(super) struct FrameAnalyzer {
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    power: Vec<f64>,
    filterbank: MelFilterbank,
}

impl std::fmt::Debug for FrameAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameAnalyzer")
            .field("filterbank", &self.filterbank)
            .finish_non_exhaustive()
    }
}

impl FrameAnalyzer {
    /// An analyzer producing `n_mels` bands per frame.
    pub(super) fn new(n_mels: usize) -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self {
            window: periodic_hann(N_FFT),
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            power: vec![0.0; N_FREQ_BINS],
            filterbank: MelFilterbank::new(n_mels),
        }
    }

    /// Appends the log10 mel column of the frame whose `N_FFT` samples `sample_at` yields.
    pub(super) fn append_frame(&mut self, sample_at: impl Fn(usize) -> f32, out: &mut Vec<f32>) {
        for (i, (slot, w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
            *slot = f64::from(sample_at(i)) * w;
        }
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .expect("FFT buffers come from the plan itself");
        for (power, bin) in self.power.iter_mut().zip(&self.spectrum) {
            *power = bin.norm_sqr();
        }
        self.filterbank.append_log_mel(&self.power, out);
    }
}

/// `torch.hann_window(len)` (periodic): `0.5 - 0.5 cos(2πn / len)`.
fn periodic_hann(len: usize) -> Vec<f64> {
    (0..len)
        .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f64 / len as f64).cos())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_starts_at_zero_and_peaks_mid_window() {
        let window = periodic_hann(N_FFT);
        assert_eq!(window[0], 0.0);
        assert!((window[N_FFT / 2] - 1.0).abs() < 1e-15);
        assert!((window[1] - window[N_FFT - 1]).abs() < 1e-15);
    }

    #[test]
    fn silent_frame_floors_at_minus_ten() {
        let mut analyzer = FrameAnalyzer::new(80);
        let mut out = Vec::new();
        analyzer.append_frame(|_| 0.0, &mut out);
        assert_eq!(out, vec![-10.0; 80]);
    }
}
