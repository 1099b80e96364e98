//! Elementwise activations, in place.

use super::math::one_plus_erf;
use super::simd::vectorized_fn;

/// Exact GELU, `x/2 · (1 + erf(x/√2))`, with erf to 2e-7 (the tanh approximation is ~5e-4 off,
/// enough to break parity with tract and onnxruntime).
pub fn gelu_erf(x: &mut [f32]) {
    gelu_erf_slice(x);
}

vectorized_fn! {
    fn gelu_erf_slice(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = 0.5 * *v * one_plus_erf(*v * std::f32::consts::FRAC_1_SQRT_2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::gelu_f64;

    #[test]
    fn gelu_matches_the_exact_f64_form_and_the_tanh_form_does_not() {
        let xs: Vec<f32> = (-12_000..=12_000)
            .map(|i| i as f32 * 1e-3 + 0.000_21)
            .collect();
        let mut got = xs.clone();
        gelu_erf(&mut got);
        let (mut worst, mut worst_tanh) = (0.0f64, 0.0f64);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = gelu_f64(f64::from(x));
            let err = (f64::from(g) - want).abs();
            assert!(
                err <= 2e-7 * f64::from(x.abs()).max(1.0),
                "gelu({x}) = {g}, want {want}"
            );
            worst = worst.max(err);
            let x64 = f64::from(x);
            let tanh = 0.5
                * x64
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt() * (x64 + 0.044715 * x64.powi(3)))
                        .tanh());
            worst_tanh = worst_tanh.max((tanh - want).abs());
        }
        assert!(worst < 1e-6, "{worst:e}");
        // The tanh form is off by ~4.7e-4 (at |x| ≈ 2.4): hundreds of times the erf form's error.
        assert!(
            worst_tanh > 1e-4 && worst_tanh > 100.0 * worst,
            "{worst_tanh:e} vs {worst:e}"
        );
    }
}
