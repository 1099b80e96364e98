//! conv1d in token-major layout as shifted GEMMs: `Y[t] = b + Σ_tap X[s·t + tap − p] · W_tapᵀ`.
//!
//! No im2col: for each tap, the input rows it touches form a strided view of X (row stride
//! `s · C_in`) and the tap's weights a strided view of the PyTorch weight `[C_out][C_in][K]`, so
//! each tap is one accumulating [`gemm_f32`]. Zero padding only shortens the range of output rows
//! a tap contributes to.

use super::gemm::{MatMut, MatRef, gemm_f32};
use crate::error::{OpError, check_len};

/// The geometry of a conv1d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1d {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel taps.
    pub kernel: usize,
    /// Stride (≥ 1).
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

impl Conv1d {
    /// Output rows for `t_in` input rows: `⌊(t_in + 2p − K) / s⌋ + 1` (0 if the input is too short).
    pub fn out_len(&self, t_in: usize) -> usize {
        let padded = t_in + 2 * self.padding;
        if padded < self.kernel || self.stride == 0 {
            0
        } else {
            (padded - self.kernel) / self.stride + 1
        }
    }
}

/// `y` (`out_len(t_in) × c_out`) = conv1d of `x` (`t_in × c_in`, token-major) with `weight`
/// (`[c_out][c_in][kernel]`, PyTorch layout) and optional `bias` (`c_out`).
pub fn conv1d(
    conv: Conv1d,
    x: &[f32],
    t_in: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), OpError> {
    let Conv1d {
        c_in,
        c_out,
        kernel,
        stride,
        padding,
    } = conv;
    if stride == 0 {
        return Err(OpError::Shape {
            what: "stride (>= 1)",
            expected: 1,
            actual: 0,
        });
    }
    check_len("input length (t_in·c_in)", t_in * c_in, x.len())?;
    check_len(
        "weight length (c_out·c_in·kernel)",
        c_out * c_in * kernel,
        weight.len(),
    )?;
    let t_out = conv.out_len(t_in);
    check_len("output length (t_out·c_out)", t_out * c_out, y.len())?;
    match bias {
        Some(b) => {
            check_len("bias length (c_out)", c_out, b.len())?;
            for row in y.chunks_exact_mut(c_out.max(1)) {
                row.copy_from_slice(b);
            }
        }
        None => y.fill(0.0),
    }
    if t_out == 0 || c_out == 0 || c_in == 0 {
        return Ok(());
    }
    for tap in 0..kernel {
        // Output rows t whose input row s·t + tap − p lies in 0..t_in.
        let t_lo = padding.saturating_sub(tap).div_ceil(stride);
        let Some(last_in) = (t_in + padding).checked_sub(tap + 1) else {
            continue;
        };
        let t_hi = (last_in / stride + 1).min(t_out);
        if t_lo >= t_hi {
            continue;
        }
        let rows = t_hi - t_lo;
        let first_in = stride * t_lo + tap - padding;
        let a = MatRef::new(&x[first_in * c_in..], rows, c_in, stride * c_in, 1)?;
        // W_tapᵀ: element (i, o) = weight[o][i][tap].
        let b = MatRef::new(&weight[tap..], c_in, c_out, kernel, c_in * kernel)?;
        let c = MatMut::row_major(&mut y[t_lo * c_out..t_hi * c_out], rows, c_out)?;
        gemm_f32(c, a, b, 1.0, true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reference(conv: Conv1d, x: &[f32], t_in: usize, w: &[f32], b: &[f32]) -> Vec<f64> {
        let t_out = conv.out_len(t_in);
        let mut y = vec![0.0; t_out * conv.c_out];
        for t in 0..t_out {
            for o in 0..conv.c_out {
                let mut acc = f64::from(b[o]);
                for tap in 0..conv.kernel {
                    let src = (conv.stride * t + tap) as isize - conv.padding as isize;
                    if src < 0 || src as usize >= t_in {
                        continue;
                    }
                    for i in 0..conv.c_in {
                        acc += f64::from(x[src as usize * conv.c_in + i])
                            * f64::from(w[(o * conv.c_in + i) * conv.kernel + tap]);
                    }
                }
                y[t * conv.c_out + o] = acc;
            }
        }
        y
    }

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn check(conv: Conv1d, t_in: usize, seed: u64) {
        let x = values(t_in * conv.c_in, seed);
        let w = values(conv.c_out * conv.c_in * conv.kernel, seed + 1);
        let b = values(conv.c_out, seed + 2);
        let mut y = vec![f32::NAN; conv.out_len(t_in) * conv.c_out];
        conv1d(conv, &x, t_in, &w, Some(&b), &mut y).unwrap();
        let want = reference(conv, &x, t_in, &w, &b);
        let tol = 1e-5 * (conv.c_in * conv.kernel) as f64;
        for (i, (g, e)) in y.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(*g) - e).abs() <= tol,
                "{conv:?} t_in={t_in} [{i}]: {g} vs {e}"
            );
        }
    }

    #[test]
    fn whisper_stem_convolutions_match_the_direct_sum() {
        let conv1 = Conv1d {
            c_in: 80,
            c_out: 64,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let conv2 = Conv1d {
            c_in: 64,
            c_out: 48,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        check(conv1, 100, 1);
        check(conv2, 100, 2);
        check(conv2, 101, 3);
        assert_eq!(conv2.out_len(3000), 1500);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_geometry_matches_the_direct_sum(
            c_in in 1usize..6, c_out in 1usize..6, kernel in 1usize..6, stride in 1usize..4,
            padding in 0usize..4, t_in in 0usize..20, seed in 1u64..u64::MAX
        ) {
            check(Conv1d { c_in, c_out, kernel, stride, padding }, t_in, seed);
        }
    }
}
