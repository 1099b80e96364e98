//! int8 GEMM and GEMV: `y = x·Wᵀ` with `x` quantized per row ([`U8Rows`]) and `W` per output row
//! ([`I8Rows`]).
//!
//! One driver serves every M: it walks the output in tiles (`mr` rows × `16·ng` columns) and asks
//! the chosen [`Isa`]'s kernel for each tile's exact i32 accumulators, then hands them to an
//! epilogue. The tile shape depends on M: GEMV shapes (M 1–4) take all rows and 4 groups (64
//! columns, 4 independent streams of weights), GEMM shapes (M ≥ 5) take 8 rows × 2 groups. Rows
//! are the outer loop, so a tile's A rows stay in L1 while the weights stream from L2/L3.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod scalar;
mod tile;
#[cfg(target_arch = "x86_64")]
mod vnni;

use tile::{MAX_NG, TILE_STRIDE, Tile, TileArgs};

use super::{Isa, IsaLevel, activation};
use crate::error::{OpError, check_len};
use crate::quant::{GROUP, I8Rows, U8Rows};

/// Rows and groups per tile for `m` rows of A on `isa`.
fn plan(isa: Isa, m: usize) -> (usize, usize) {
    match isa.level() {
        IsaLevel::Avx512Vnni if m <= 4 => (m, 4),
        IsaLevel::Avx512Vnni => (8, 2),
        IsaLevel::Avx2 => (m.min(4), 1),
        IsaLevel::Scalar => (m.min(4), 1),
    }
}

fn run_tile(isa: Isa, t: &TileArgs<'_>, mr: usize, ng: usize, out: &mut Tile) {
    match isa.level() {
        IsaLevel::Scalar => scalar::tile(t, mr, ng, out),
        #[cfg(target_arch = "x86_64")]
        IsaLevel::Avx2 => avx2::tile(isa, t, mr, ng, out),
        #[cfg(target_arch = "x86_64")]
        IsaLevel::Avx512Vnni => vnni::tile(isa, t, mr, ng, out),
        #[cfg(not(target_arch = "x86_64"))]
        _ => scalar::tile(t, mr, ng, out),
    }
}

/// Checks shapes and calls `epilogue(m0, mr, n0, cols, &tile)` for each tile, where `cols` is the
/// number of valid columns (`≤ 16·ng`, less at the N edge).
fn for_each_tile(
    isa: Isa,
    a: &U8Rows,
    w: &I8Rows,
    mut epilogue: impl FnMut(usize, usize, usize, usize, &Tile),
) -> Result<(), OpError> {
    check_len("activation k (= weight k)", w.k(), a.k())?;
    let (m, n, k4) = (a.m(), w.n(), w.k4());
    if m == 0 || n == 0 {
        return Ok(());
    }
    let (mr_max, ng_max) = plan(isa, m);
    debug_assert!(ng_max <= MAX_NG);
    let mut tile: Tile = [0; tile::MAX_MR * TILE_STRIDE];
    for m0 in (0..m).step_by(mr_max) {
        let mr = mr_max.min(m - m0);
        for g0 in (0..w.groups()).step_by(ng_max) {
            let ng = ng_max.min(w.groups() - g0);
            let args = TileArgs {
                a: &a.data()[m0 * a.k_pad()..],
                lda: a.k_pad(),
                lines: &w.lines()[g0 * k4..],
                k4,
                comp: &w.compensation()[g0 * GROUP..],
            };
            run_tile(isa, &args, mr, ng, &mut tile);
            let n0 = g0 * GROUP;
            epilogue(m0, mr, n0, (ng * GROUP).min(n - n0), &tile);
        }
    }
    Ok(())
}

/// The exact i32 accumulators `acc[m][n] = Σ_k (a[m][k] − 128)·q[n][k]` into `out` (`m × n`).
pub fn gemm_q8_i32(isa: Isa, a: &U8Rows, w: &I8Rows, out: &mut [i32]) -> Result<(), OpError> {
    let n = w.n();
    check_len("output length (m·n)", a.m() * n, out.len())?;
    for_each_tile(isa, a, w, |m0, mr, n0, cols, tile| {
        for r in 0..mr {
            out[(m0 + r) * n + n0..][..cols].copy_from_slice(&tile[r * TILE_STRIDE..][..cols]);
        }
    })
}

/// `out[m][n] = a_scale[m] · w_scale[n] · acc[m][n] + bias[n]` (`out` is `m × n`, row-major).
///
/// The same call is the GEMM (M ≥ 5) and the GEMV (M 1–4); see the module doc for the tiles.
pub fn gemm_q8(
    isa: Isa,
    a: &U8Rows,
    w: &I8Rows,
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<(), OpError> {
    gemm_q8_fused(
        isa,
        a,
        w,
        Epilogue {
            bias,
            ..Epilogue::default()
        },
        out,
    )
}

/// What happens to each dequantized output inside the GEMM, while its tile is in cache.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// Added per output column (`n` values).
    pub bias: Option<&'a [f32]>,
    /// Exact GELU of the result (after the bias), as [`crate::cpu::activation::gelu_erf`].
    pub gelu: bool,
    /// Add the result to what `out` holds (a residual connection) instead of overwriting it.
    pub accumulate: bool,
}

/// [`gemm_q8`] with a fused [`Epilogue`]: `out (+)= act(a_scale · w_scale · acc + bias)`.
/// Bit-identical to running the steps one after another.
pub fn gemm_q8_fused(
    isa: Isa,
    a: &U8Rows,
    w: &I8Rows,
    ep: Epilogue<'_>,
    out: &mut [f32],
) -> Result<(), OpError> {
    let n = w.n();
    check_len("output length (m·n)", a.m() * n, out.len())?;
    if let Some(b) = ep.bias {
        check_len("bias length (n)", n, b.len())?;
    }
    let (a_scales, w_scales) = (a.scales(), w.scales());
    let mut y = [0.0f32; TILE_STRIDE];
    for_each_tile(isa, a, w, |m0, mr, n0, cols, tile| {
        for r in 0..mr {
            let sa = a_scales[m0 + r];
            let y = &mut y[..cols];
            let acc = &tile[r * TILE_STRIDE..][..cols];
            let ws = &w_scales[n0..n0 + cols];
            match ep.bias {
                Some(b) => {
                    for (((d, &v), &s), &b) in y.iter_mut().zip(acc).zip(ws).zip(&b[n0..]) {
                        *d = v as f32 * (sa * s) + b;
                    }
                }
                None => {
                    for ((d, &v), &s) in y.iter_mut().zip(acc).zip(ws) {
                        *d = v as f32 * (sa * s);
                    }
                }
            }
            if ep.gelu {
                activation::gelu_erf(y);
            }
            let dst = &mut out[(m0 + r) * n + n0..][..cols];
            if ep.accumulate {
                dst.iter_mut().zip(y.iter()).for_each(|(d, v)| *d += v);
            } else {
                dst.copy_from_slice(y);
            }
        }
    })
}

#[cfg(test)]
mod tests;
