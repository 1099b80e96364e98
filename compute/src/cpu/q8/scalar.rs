//! Portable int8 tile kernel (any architecture).

use super::tile::{TILE_STRIDE, Tile, TileArgs};
use crate::quant::GROUP;

/// Computes an `mr × 16·ng` tile (see [`TileArgs`]).
pub(crate) fn tile(t: &TileArgs<'_>, mr: usize, ng: usize, out: &mut Tile) {
    t.check(mr, ng);
    for r in 0..mr {
        let a = &t.a[r * t.lda..r * t.lda + 4 * t.k4];
        for g in 0..ng {
            let mut acc = [0i32; GROUP];
            acc.copy_from_slice(&t.comp[g * GROUP..(g + 1) * GROUP]);
            let lines = &t.lines[g * t.k4..(g + 1) * t.k4];
            for (line, a4) in lines.iter().zip(a.chunks_exact(4)) {
                for (j, w4) in line.0.chunks_exact(4).enumerate() {
                    let dot: i32 = a4
                        .iter()
                        .zip(w4)
                        .map(|(&x, &w)| i32::from(x) * i32::from(w))
                        .sum();
                    acc[j] = acc[j].wrapping_add(dot);
                }
            }
            out[r * TILE_STRIDE + g * GROUP..][..GROUP].copy_from_slice(&acc);
        }
    }
}
