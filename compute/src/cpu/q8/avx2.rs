//! AVX2 int8 tile kernel. `vpmaddubsw` would saturate (255·127·2 > i16::MAX), so both operands are
//! widened to i16 (A zero-extended, W sign-extended) and multiplied with `vpmaddwd` into i32 pairs.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m256i, _mm_loadu_si128, _mm_set1_epi32, _mm256_add_epi32, _mm256_cvtepi8_epi16,
    _mm256_cvtepu8_epi16, _mm256_hadd_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
    _mm256_permute4x64_epi64, _mm256_setzero_si256, _mm256_storeu_si256,
};

use super::tile::{TILE_STRIDE, Tile, TileArgs};
use crate::cpu::{Isa, IsaLevel};
use crate::quant::GROUP;

/// Computes an `mr × 16·ng` tile (see [`TileArgs`]). `isa` must be [`IsaLevel::Avx2`].
pub(crate) fn tile(isa: Isa, t: &TileArgs<'_>, mr: usize, ng: usize, out: &mut Tile) {
    assert_eq!(isa.level(), IsaLevel::Avx2);
    t.check(mr, ng);
    for r0 in (0..mr).step_by(2) {
        let sub = TileArgs {
            a: &t.a[r0 * t.lda..],
            ..*t
        };
        let rows = (mr - r0).min(2);
        for g in 0..ng {
            let sub = TileArgs {
                lines: &sub.lines[g * t.k4..],
                comp: &sub.comp[g * GROUP..],
                ..sub
            };
            let dst = &mut out[r0 * TILE_STRIDE + g * GROUP..];
            // SAFETY: `isa` proves the CPU has AVX2; `kernel` checks the slices itself.
            unsafe {
                if rows == 2 {
                    kernel::<2>(&sub, dst);
                } else {
                    kernel::<1>(&sub, dst);
                }
            }
        }
    }
}

/// `MR` rows (1 or 2) × one group of 16 columns, written at `dst[r·TILE_STRIDE ..][..16]`.
#[target_feature(enable = "avx2")]
fn kernel<const MR: usize>(t: &TileArgs<'_>, dst: &mut [i32]) {
    t.check(MR, 1);
    assert!(dst.len() >= (MR - 1) * TILE_STRIDE + GROUP);
    // acc[r][c]: columns 4c..4c+4, two i32 partial sums each (k pairs 0-1 and 2-3).
    let mut acc = [[_mm256_setzero_si256(); 4]; MR];
    let a = t.a.as_ptr();
    for kk in 0..t.k4 {
        let mut av = [_mm256_setzero_si256(); MR];
        for (r, v) in av.iter_mut().enumerate() {
            // SAFETY: `r·lda + 4·kk + 4 <= a.len()` (checked).
            let a4 = unsafe { a.add(r * t.lda + 4 * kk).cast::<i32>().read_unaligned() };
            // a0 a1 a2 a3 repeated 4 times, as i16.
            *v = _mm256_cvtepu8_epi16(_mm_set1_epi32(a4));
        }
        let line = &t.lines[kk].0;
        for c in 0..4 {
            // SAFETY: bytes 16c..16c+16 of a 64-byte line.
            let w = unsafe { _mm_loadu_si128(line.as_ptr().add(16 * c).cast()) };
            let w = _mm256_cvtepi8_epi16(w);
            for (row, a16) in acc.iter_mut().zip(&av) {
                row[c] = _mm256_add_epi32(row[c], _mm256_madd_epi16(*a16, w));
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for half in 0..2 {
            // hadd gives columns [0 1 4 5 | 2 3 6 7] of the 8; the permute puts them in order.
            let s = _mm256_hadd_epi32(row[2 * half], row[2 * half + 1]);
            let s = _mm256_permute4x64_epi64::<0xD8>(s);
            let at = r * TILE_STRIDE + 8 * half;
            // SAFETY: `comp` holds 16 values (checked); `dst[at..at + 8]` is in bounds (asserted).
            unsafe {
                let c = _mm256_loadu_si256(t.comp.as_ptr().add(8 * half).cast());
                let v: __m256i = _mm256_add_epi32(s, c);
                _mm256_storeu_si256(dst.as_mut_ptr().add(at).cast(), v);
            }
        }
    }
}
