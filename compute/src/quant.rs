//! int8 quantization: weights per output row, activations per row (per token).
//!
//! # Weights: [`I8Rows`]
//! A weight matrix `W` has `n` output rows of `k` inputs (`y = x·Wᵀ`, K contiguous). Each row is
//! quantized symmetrically: `scale[n] = max|W[n]| / 127`, `q[n][k] = round(W[n][k] / scale[n])`,
//! clamped to −127..=127 (ties to even). The values are stored **packed for VNNI**:
//!
//! ```text
//! line(g, kk) = 64 bytes = for j in 0..16, i in 0..4:  q[16·g + j][4·kk + i]
//! lines in order: g = 0..groups, then kk = 0..k4   (index g·k4 + kk)
//! ```
//!
//! so one 64-byte, 64-aligned line holds 4 consecutive k of 16 consecutive output rows: one zmm
//! load feeds one `vpdpbusd`, whose lane `j` then adds the 4-term dot product of row `16g + j`.
//! K is padded with zeros to `k4·4` (a multiple of 4) and N with zero rows to `groups·16`.
//! Next to the lines: `comp[n] = −128 · Σ_k q[n][k]` (i32, padded to `groups·16`), the
//! compensation for the +128 shift of the activations, and the f32 scales.
//!
//! # Activations: [`U8Rows`]
//! Each row `x[m]` of an `m × k` activation gets `a_scale[m] = max|x[m]| / 127` (0 for an all-zero
//! row) and `u8 = round(x / a_scale) + 128` in 1..=255 (ties to even). Rows are padded to `k_pad`
//! (a multiple of 4) with 128, i.e. with zero.
//!
//! # The product
//! `acc[m][n] = Σ_k (a[m][k] − 128) · q[n][k] = Σ_k a·q + comp[n]` (exact in i32 for
//! `k <= MAX_K`), and `y[m][n] = a_scale[m] · scale[n] · acc[m][n]`.

use crate::cpu::math::ROUND_MAGIC;
use crate::cpu::simd::{max_abs, vectorized};
use crate::error::{OpError, check_len};

/// Largest K the int8 kernels accept: `|acc| <= 128·128·K` stays below 2³¹.
pub const MAX_K: usize = 65_536;

/// Output rows per packed group (the i32 lanes of one zmm).
pub const GROUP: usize = 16;

/// One 64-byte line of packed weights: 16 output rows × 4 consecutive k.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line(pub [i8; 64]);

/// Per-output-row symmetric int8 weights with f32 scales, packed for VNNI (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct I8Rows {
    n: usize,
    k: usize,
    k4: usize,
    groups: usize,
    lines: Vec<Line>,
    scales: Vec<f32>,
    comp: Vec<i32>,
}

/// Quantizes one row symmetrically to int8 and returns its scale (`max|row| / 127`; 0 for a zero row).
///
/// `out.len()` must equal `row.len()`.
pub fn quantize_row_i8(row: &[f32], out: &mut [i8]) -> f32 {
    debug_assert_eq!(row.len(), out.len());
    let amax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if amax == 0.0 || !amax.is_finite() {
        out.fill(0);
        return if amax == 0.0 { 0.0 } else { f32::NAN };
    }
    let inv = 127.0 / amax;
    for (o, &v) in out.iter_mut().zip(row) {
        *o = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    amax / 127.0
}

fn check_k(k: usize) -> Result<(), OpError> {
    if k > MAX_K {
        return Err(OpError::TooLarge {
            what: "k",
            max: MAX_K,
            actual: k,
        });
    }
    Ok(())
}

impl I8Rows {
    /// Quantizes `w` (`n × k`, row-major: row = output) per output row and packs it.
    pub fn quantize(w: &[f32], n: usize, k: usize) -> Result<Self, OpError> {
        check_len("weights length (n·k)", n * k, w.len())?;
        check_k(k)?;
        let mut q = vec![0i8; n * k];
        let mut scales = vec![0.0f32; n];
        for (r, s) in scales.iter_mut().enumerate() {
            *s = quantize_row_i8(&w[r * k..(r + 1) * k], &mut q[r * k..(r + 1) * k]);
        }
        Self::from_i8(&q, &scales, n, k)
    }

    /// Packs already quantized weights `q` (`n × k`, row-major) with one scale per row.
    pub fn from_i8(q: &[i8], scales: &[f32], n: usize, k: usize) -> Result<Self, OpError> {
        check_len("weights length (n·k)", n * k, q.len())?;
        check_len("scales length (n)", n, scales.len())?;
        check_k(k)?;
        let k4 = k.div_ceil(4);
        let groups = n.div_ceil(GROUP);
        let mut lines = vec![Line([0; 64]); groups * k4];
        let mut comp = vec![0i32; groups * GROUP];
        for r in 0..n {
            let (g, j) = (r / GROUP, r % GROUP);
            let row = &q[r * k..(r + 1) * k];
            for (c, &v) in row.iter().enumerate() {
                lines[g * k4 + c / 4].0[j * 4 + c % 4] = v;
            }
            comp[r] = -128 * row.iter().map(|&v| i32::from(v)).sum::<i32>();
        }
        Ok(Self {
            n,
            k,
            k4,
            groups,
            lines,
            scales: scales.to_vec(),
            comp,
        })
    }

    /// Output rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Inputs per row (unpadded).
    pub fn k(&self) -> usize {
        self.k
    }

    /// K padded to a multiple of 4, divided by 4 (lines per group).
    pub fn k4(&self) -> usize {
        self.k4
    }

    /// Groups of 16 output rows (N padded up).
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The quantized weight of output row `n`, input `k`.
    pub fn get(&self, n: usize, k: usize) -> i8 {
        assert!(
            n < self.n && k < self.k,
            "({n}, {k}) outside {}×{}",
            self.n,
            self.k
        );
        self.lines[(n / GROUP) * self.k4 + k / 4].0[(n % GROUP) * 4 + k % 4]
    }

    /// The scale of each output row (`W ≈ scale · q`).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// `−128 · Σ_k q[n][k]` per output row, padded with zeros to `groups · 16`.
    pub fn compensation(&self) -> &[i32] {
        &self.comp
    }

    /// The packed lines (`groups · k4` of them, see the module doc).
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Bytes of packed weights (what a GEMV reads).
    pub fn packed_bytes(&self) -> usize {
        self.lines.len() * 64
    }

    /// The dequantized weights, `n × k` row-major (for tests and references).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.n * self.k];
        for r in 0..self.n {
            for c in 0..self.k {
                out[r * self.k + c] = f32::from(self.get(r, c)) * self.scales[r];
            }
        }
        out
    }
}

/// Activations quantized per row to u8 with a +128 shift (see the module doc). Reusable: quantizing
/// into an existing value only allocates when it grows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct U8Rows {
    m: usize,
    k: usize,
    k_pad: usize,
    data: Vec<u8>,
    scales: Vec<f32>,
}

impl U8Rows {
    /// Quantizes `x` (`m × k`, row-major).
    pub fn quantize(x: &[f32], m: usize, k: usize) -> Result<Self, OpError> {
        let mut out = Self::default();
        out.quantize_from(x, m, k)?;
        Ok(out)
    }

    /// Quantizes `x` (`m × k`, row-major) into `self`, reusing its buffers.
    pub fn quantize_from(&mut self, x: &[f32], m: usize, k: usize) -> Result<(), OpError> {
        check_len("activations length (m·k)", m * k, x.len())?;
        check_k(k)?;
        self.reshape(m, k);
        let k_pad = self.k_pad;
        let (data, scales) = (&mut self.data, &mut self.scales);
        vectorized(|| {
            for r in 0..m {
                let row = &x[r * k..(r + 1) * k];
                let amax = max_abs(row);
                let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
                let dst = &mut data[r * k_pad..r * k_pad + k];
                for (d, &v) in dst.iter_mut().zip(row) {
                    // Adding 1.5·2²³ rounds to the nearest integer q (ties to even) and leaves q in
                    // the low mantissa bits: the low byte is q mod 256, and ^0x80 adds 128.
                    let q = (v * inv).clamp(-127.0, 127.0) + ROUND_MAGIC;
                    *d = (q.to_bits() as u8) ^ 0x80;
                }
                scales[r] = amax / 127.0;
            }
        });
        Ok(())
    }

    /// Takes already quantized rows (`m × k` u8 values, shift included) and their scales.
    pub fn from_u8(a: &[u8], scales: &[f32], m: usize, k: usize) -> Result<Self, OpError> {
        check_len("activations length (m·k)", m * k, a.len())?;
        check_len("scales length (m)", m, scales.len())?;
        check_k(k)?;
        let mut out = Self::default();
        out.reshape(m, k);
        for r in 0..m {
            out.data[r * out.k_pad..r * out.k_pad + k].copy_from_slice(&a[r * k..(r + 1) * k]);
        }
        out.scales.copy_from_slice(scales);
        Ok(out)
    }

    fn reshape(&mut self, m: usize, k: usize) {
        self.m = m;
        self.k = k;
        self.k_pad = k.next_multiple_of(4);
        self.data.clear();
        self.data.resize(m * self.k_pad, 128);
        self.scales.clear();
        self.scales.resize(m, 0.0);
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Values per row (unpadded).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Row stride: `k` rounded up to a multiple of 4.
    pub fn k_pad(&self) -> usize {
        self.k_pad
    }

    /// All rows, `m × k_pad`, padding = 128.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Row `r` with its padding.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.k_pad..(r + 1) * self.k_pad]
    }

    /// Scale per row (`x ≈ a_scale · (u8 − 128)`).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_layout_puts_four_k_of_sixteen_rows_in_one_line() {
        let (n, k) = (18, 6);
        let q: Vec<i8> = (0..n * k).map(|i| (i % 251) as i8).collect();
        let w = I8Rows::from_i8(&q, &vec![1.0; n], n, k).unwrap();
        assert_eq!((w.groups(), w.k4()), (2, 2));
        for r in 0..n {
            for c in 0..k {
                assert_eq!(w.get(r, c), q[r * k + c]);
                let line = &w.lines()[(r / 16) * 2 + c / 4];
                assert_eq!(line.0[(r % 16) * 4 + c % 4], q[r * k + c]);
            }
        }
        // K padding (c = 6, 7) and N padding (rows 18..32) are zero.
        assert_eq!(w.lines()[1].0[2], 0);
        assert_eq!(w.lines()[3].0[3 * 4], 0);
        assert_eq!(w.compensation().len(), 32);
        let sum0: i32 = (0..k).map(|c| i32::from(q[c])).sum();
        assert_eq!(w.compensation()[0], -128 * sum0);
    }

    #[test]
    fn weight_quantization_is_symmetric_per_row_within_half_a_step() {
        let w = [0.5, -1.0, 0.25, 0.0, 2.0, -0.1, 0.0, 0.0];
        let q = I8Rows::quantize(&w, 2, 4).unwrap();
        assert_eq!(q.scales()[0], 1.0 / 127.0);
        assert_eq!(q.get(0, 1), -127);
        assert_eq!(q.get(1, 0), 127);
        for (a, b) in q.dequantize().iter().zip(w) {
            assert!((a - b).abs() <= 2.0 / 127.0 / 2.0 + 1e-7);
        }
    }

    #[test]
    fn activation_quantization_shifts_by_128_and_pads_with_zero() {
        let x = [1.0, -0.5, 0.0, 0.0, 0.0, 0.0];
        let a = U8Rows::quantize(&x, 2, 3).unwrap();
        assert_eq!(a.k_pad(), 4);
        assert_eq!(a.row(0), &[255, 128 - 64, 128, 128]); // -63.5 rounds to even: -64
        assert_eq!(a.scales(), &[1.0 / 127.0, 0.0]);
        assert_eq!(a.row(1), &[128; 4]);
    }

    #[test]
    fn activation_rounding_is_round_half_even_of_x_over_scale() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.731).sin() * 3.0).collect();
        let a = U8Rows::quantize(&x, 2, 500).unwrap();
        for r in 0..2 {
            let row = &x[r * 500..(r + 1) * 500];
            let inv = 127.0 / row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (c, &v) in row.iter().enumerate() {
                let want = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i32 + 128;
                assert_eq!(i32::from(a.row(r)[c]), want);
            }
        }
    }

    #[test]
    fn oversized_k_is_refused_with_the_limit() {
        let err = U8Rows::quantize(&vec![0.0; MAX_K + 1], 1, MAX_K + 1).unwrap_err();
        assert!(err.to_string().contains("65536"), "{err}");
    }
}
