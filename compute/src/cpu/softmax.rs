//! Numerically stable softmax, in place, row by row.

use super::math::exp_f32;
use super::simd::{self, vectorized_fn};
use crate::error::{OpError, check_len};

/// Softmax of one row in place: `x = e^(x − max) / Σ e^(x − max)`. `−inf` entries (masked) become
/// 0; a row that is entirely `−inf` becomes all zeros.
#[inline(always)]
pub fn softmax_row(x: &mut [f32]) {
    let max = simd::max(x);
    if max == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    for v in x.iter_mut() {
        *v = exp_f32(*v - max);
    }
    let inv = 1.0 / simd::sum(x);
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// [`softmax_row`] over each row of `x` (`rows × d`).
pub fn softmax_rows(x: &mut [f32], d: usize) -> Result<(), OpError> {
    if d == 0 {
        return check_len("input length (d = 0)", 0, x.len());
    }
    check_len(
        "input length (a multiple of d)",
        x.len().next_multiple_of(d),
        x.len(),
    )?;
    softmax_chunks(x, d);
    Ok(())
}

vectorized_fn! {
    fn softmax_chunks(x: &mut [f32], d: usize) {
        for row in x.chunks_exact_mut(d) {
            softmax_row(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::reference::softmax_f64;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn softmax_matches_f64_even_for_large_logits(
            d in 1usize..300, offset in -1e4f32..1e4,
            xs in proptest::collection::vec(-30.0f32..30.0, 600)
        ) {
            let x: Vec<f32> = xs[..2 * d].iter().map(|v| v + offset).collect();
            let want = softmax_f64(&x, d);
            let mut got = x.clone();
            softmax_rows(&mut got, d).unwrap();
            for (g, e) in got.iter().zip(&want) {
                prop_assert!((f64::from(*g) - e).abs() <= 1e-6 * e + 1e-9, "{} vs {}", g, e);
            }
        }
    }

    #[test]
    fn masked_entries_get_zero_and_a_fully_masked_row_is_zero() {
        let mut x = [
            1.0,
            f32::NEG_INFINITY,
            1.0,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        softmax_rows(&mut x, 3).unwrap();
        assert_eq!(x, [0.5, 0.0, 0.5, 0.0, 0.0, 0.0]);
    }
}
