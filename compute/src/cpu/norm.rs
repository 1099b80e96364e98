//! LayerNorm over the last dimension (two passes: mean, then variance of the centred values).

use super::simd::{dot, sum, vectorized_fn};
use crate::error::{OpError, check_len};

/// `out[r] = (x[r] − mean) / sqrt(var + eps) · gamma + beta` for each row of `x` (`rows × d`).
pub fn layer_norm(
    x: &[f32],
    d: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
) -> Result<(), OpError> {
    check_len("gamma length (d)", d, gamma.len())?;
    check_len("beta length (d)", d, beta.len())?;
    check_len("output length (= input length)", x.len(), out.len())?;
    if d == 0 {
        return Ok(());
    }
    check_len(
        "input length (a multiple of d)",
        x.len().next_multiple_of(d),
        x.len(),
    )?;
    normalize_rows(x, d, gamma, beta, eps, out);
    Ok(())
}

vectorized_fn! {
    fn normalize_rows(x: &[f32], d: usize, gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
        for (row, dst) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let mean = sum(row) / d as f32;
            for (o, &v) in dst.iter_mut().zip(row) {
                *o = v - mean;
            }
            let var = dot(dst, dst) / d as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((o, &g), &b) in dst.iter_mut().zip(gamma).zip(beta) {
                *o = *o * inv * g + b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::reference::layer_norm_f64;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn layer_norm_matches_f64(
            rows in 1usize..5, d in 1usize..400, offset in -100.0f32..100.0,
            xs in proptest::collection::vec(-3.0f32..3.0, 2000)
        ) {
            // A large common offset checks the two-pass variance.
            let x: Vec<f32> = xs[..rows * d].iter().map(|v| v + offset).collect();
            let gamma: Vec<f32> = (0..d).map(|i| 0.5 + i as f32 / d as f32).collect();
            let beta: Vec<f32> = (0..d).map(|i| i as f32 * 0.01 - 1.0).collect();
            let mut out = vec![0.0; x.len()];
            layer_norm(&x, d, &gamma, &beta, 1e-5, &mut out).unwrap();
            let want = layer_norm_f64(&x, d, &gamma, &beta, 1e-5);
            for (g, e) in out.iter().zip(&want) {
                prop_assert!((f64::from(*g) - e).abs() < 2e-4 * (1.0 + f64::from(offset.abs()) / 3.0) , "{} vs {}", g, e);
            }
        }
    }

    #[test]
    fn wrong_gamma_length_is_an_error() {
        let err = layer_norm(&[1.0; 8], 4, &[1.0; 3], &[0.0; 4], 1e-5, &mut [0.0; 8]).unwrap_err();
        assert!(err.to_string().contains("gamma"), "{err}");
    }
}
