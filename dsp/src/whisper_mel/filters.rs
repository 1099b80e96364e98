//! The Slaney-style mel filterbank (librosa's default `filters.mel`), computed from scratch.

use super::{N_FFT, N_FREQ_BINS, SAMPLE_RATE};

/// Hz per mel below 1 kHz on the Slaney scale.
const LINEAR_HZ_PER_MEL: f64 = 200.0 / 3.0;
/// Where the Slaney scale switches from linear to logarithmic.
const LOG_REGION_START_HZ: f64 = 1000.0;
const LOG_REGION_START_MEL: f64 = LOG_REGION_START_HZ / LINEAR_HZ_PER_MEL;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= LOG_REGION_START_HZ {
        LOG_REGION_START_MEL + (hz / LOG_REGION_START_HZ).ln() / log_step()
    } else {
        hz / LINEAR_HZ_PER_MEL
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= LOG_REGION_START_MEL {
        LOG_REGION_START_HZ * (log_step() * (mel - LOG_REGION_START_MEL)).exp()
    } else {
        mel * LINEAR_HZ_PER_MEL
    }
}

/// The `n_mels` filters as `librosa.filters.mel(sr=16000, n_fft=400, n_mels)` computes them
/// (Slaney mel scale, Slaney area normalisation, 0..8 kHz), row-major `[n_mels][N_FREQ_BINS]`.
///
/// This is what Whisper's `mel_filters.npz` holds for 80 and 128; any count works.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let nyquist = f64::from(SAMPLE_RATE) / 2.0;
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / f64::from(SAMPLE_RATE)));
    // n_mels + 2 band edges equally spaced in mel (numpy linspace semantics).
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let n_edges = n_mels + 2;
    let step = (max_mel - min_mel) / (n_edges - 1) as f64;
    let edges_hz: Vec<f64> = (0..n_edges)
        .map(|i| {
            if i == n_edges - 1 {
                max_mel
            } else {
                min_mel + i as f64 * step
            }
        })
        .map(mel_to_hz)
        .collect();

    let mut weights = vec![0.0f32; n_mels * N_FREQ_BINS];
    for (mel, row) in weights.chunks_exact_mut(N_FREQ_BINS).enumerate() {
        let (left, centre, right) = (edges_hz[mel], edges_hz[mel + 1], edges_hz[mel + 2]);
        let area_norm = 2.0 / (right - left);
        for (bin, weight) in row.iter_mut().enumerate() {
            let hz = bin as f64 * bin_hz;
            let rising = (hz - left) / (centre - left);
            let falling = (right - hz) / (right - centre);
            let triangle = rising.min(falling).max(0.0);
            // librosa stores the triangle in f32 before scaling by the norm.
            *weight = (f64::from(triangle as f32) * area_norm) as f32;
        }
    }
    weights
}

/// A mel filterbank stored as one run of non-zero weights per band.
#[derive(Debug, Clone)]
pub(super) struct MelFilterbank {
    bands: Vec<Band>,
}

#[derive(Debug, Clone)]
struct Band {
    first_bin: usize,
    weights: Vec<f64>,
}

impl MelFilterbank {
    /// The filterbank of [`mel_filters`]`(n_mels)`.
    pub(super) fn new(n_mels: usize) -> Self {
        let dense = mel_filters(n_mels);
        let bands = dense
            .chunks_exact(N_FREQ_BINS)
            .map(|row| {
                let first_bin = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end_bin = row
                    .iter()
                    .rposition(|&w| w != 0.0)
                    .map_or(first_bin, |last| last + 1);
                Band {
                    first_bin,
                    weights: row[first_bin..end_bin]
                        .iter()
                        .map(|&w| f64::from(w))
                        .collect(),
                }
            })
            .collect();
        Self { bands }
    }

    /// Appends `log10(max(mel_energy, 1e-10))` of each band for one power spectrum.
    pub(super) fn append_log_mel(&self, power: &[f64], out: &mut Vec<f32>) {
        out.extend(self.bands.iter().map(|band| {
            let bins = &power[band.first_bin..band.first_bin + band.weights.len()];
            let energy: f64 = band.weights.iter().zip(bins).map(|(w, p)| w * p).sum();
            energy.max(1e-10).log10() as f32
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 500.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn every_band_has_weight_and_the_shape_is_row_major() {
        for n_mels in [80, 128] {
            let filters = mel_filters(n_mels);
            assert_eq!(filters.len(), n_mels * N_FREQ_BINS);
            for row in filters.chunks_exact(N_FREQ_BINS) {
                assert!(row.iter().any(|&w| w > 0.0));
                assert!(row.iter().all(|&w| w >= 0.0));
            }
        }
    }

    #[test]
    fn sparse_bands_equal_the_dense_product() {
        let n_mels = 80;
        let dense = mel_filters(n_mels);
        let power: Vec<f64> = (0..N_FREQ_BINS)
            .map(|bin| 1.0 + (bin as f64 * 0.37).sin().abs())
            .collect();
        let mut sparse = Vec::new();
        MelFilterbank::new(n_mels).append_log_mel(&power, &mut sparse);
        for (row, got) in dense.chunks_exact(N_FREQ_BINS).zip(sparse) {
            let energy: f64 = row.iter().zip(&power).map(|(&w, p)| f64::from(w) * p).sum();
            assert!((energy.log10() as f32 - got).abs() < 1e-6);
        }
    }
}
