//! AVX-512 VNNI int8 tile kernel: one `vpdpbusd` per packed 64-byte line and A row.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    _mm512_dpbusd_epi32, _mm512_load_si512, _mm512_loadu_si512, _mm512_set1_epi32,
    _mm512_setzero_si512, _mm512_storeu_si512,
};

use super::tile::{TILE_STRIDE, Tile, TileArgs};
use crate::cpu::{Isa, IsaLevel};
use crate::quant::GROUP;

/// Computes an `mr × 16·ng` tile (see [`TileArgs`]). `isa` must be [`IsaLevel::Avx512Vnni`].
pub(crate) fn tile(isa: Isa, t: &TileArgs<'_>, mr: usize, ng: usize, out: &mut Tile) {
    assert_eq!(isa.level(), IsaLevel::Avx512Vnni);
    t.check(mr, ng);
    // SAFETY: `isa` proves the CPU has avx512f, avx512bw and avx512vnni (checked when it was
    // made); `check` proved the slices hold the tile.
    unsafe {
        match mr {
            1 => by_ng::<1>(t, ng, out),
            2 => by_ng::<2>(t, ng, out),
            3 => by_ng::<3>(t, ng, out),
            4 => by_ng::<4>(t, ng, out),
            5 => by_ng::<5>(t, ng, out),
            6 => by_ng::<6>(t, ng, out),
            7 => by_ng::<7>(t, ng, out),
            _ => by_ng::<8>(t, ng, out),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn by_ng<const MR: usize>(t: &TileArgs<'_>, ng: usize, out: &mut Tile) {
    match ng {
        1 => kernel::<MR, 1>(t, out),
        2 => kernel::<MR, 2>(t, out),
        3 => kernel::<MR, 3>(t, out),
        _ => kernel::<MR, 4>(t, out),
    }
}

/// The tile for fixed `MR`, `NG`: `MR·NG` zmm accumulators, `NG` line loads and `MR` broadcasts
/// per step of 4 k.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn kernel<const MR: usize, const NG: usize>(t: &TileArgs<'_>, out: &mut Tile) {
    t.check(MR, NG);
    let mut acc = [[_mm512_setzero_si512(); NG]; MR];
    for (g, c) in t.comp.chunks_exact(GROUP).take(NG).enumerate() {
        // SAFETY: `c` holds 16 i32 = 64 bytes.
        let v = unsafe { _mm512_loadu_si512(c.as_ptr().cast()) };
        for row in acc.iter_mut() {
            row[g] = v;
        }
    }
    let a = t.a.as_ptr();
    let lines = t.lines.as_ptr();
    for kk in 0..t.k4 {
        let mut b = [_mm512_setzero_si512(); NG];
        for (g, bg) in b.iter_mut().enumerate() {
            // SAFETY: `g·k4 + kk < NG·k4 <= lines.len()` (checked); a `Line` is 64-aligned.
            *bg = unsafe { _mm512_load_si512(lines.add(g * t.k4 + kk).cast()) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: `r·lda + 4·kk + 4 <= (MR−1)·lda + 4·k4 <= a.len()` (checked).
            let a4 = unsafe { a.add(r * t.lda + 4 * kk).cast::<i32>().read_unaligned() };
            let av = _mm512_set1_epi32(a4);
            for (accg, bg) in row.iter_mut().zip(&b) {
                *accg = _mm512_dpbusd_epi32(*accg, av, *bg);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (g, v) in row.iter().enumerate() {
            // SAFETY: `r < 8`, `g < 4`: 16 i32 at `r·64 + g·16` lie inside the 512-element tile.
            unsafe {
                _mm512_storeu_si512(out.as_mut_ptr().add(r * TILE_STRIDE + g * GROUP).cast(), *v)
            };
        }
    }
}
