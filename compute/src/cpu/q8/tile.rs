//! The unit of work shared by every int8 kernel: an `mr × 16·ng` tile of i32 accumulators.

use crate::quant::{GROUP, Line};

/// Most A rows in one tile.
pub(crate) const MAX_MR: usize = 8;
/// Most 16-row weight groups in one tile.
pub(crate) const MAX_NG: usize = 4;
/// Row stride of a [`Tile`].
pub(crate) const TILE_STRIDE: usize = MAX_NG * GROUP;

/// Accumulators of one tile: element `(r, j)` at `r · TILE_STRIDE + j`.
pub(crate) type Tile = [i32; MAX_MR * TILE_STRIDE];

/// The inputs of one tile. Kernels compute, for `r < mr` and `j < 16·ng`,
/// `out[r][j] = comp[j] + Σ_{kk < k4, i < 4} a[r·lda + 4·kk + i] · lines[(j/16)·k4 + kk][(j%16)·4 + i]`
/// in wrapping i32 arithmetic (exact for K ≤ [`crate::quant::MAX_K`]).
#[derive(Clone, Copy)]
pub(crate) struct TileArgs<'a> {
    /// A from the tile's first row; row `r` starts at `r · lda` and has at least `4 · k4` bytes.
    pub a: &'a [u8],
    /// Row stride of `a`.
    pub lda: usize,
    /// Weight lines from the tile's first group: group `g` is `lines[g·k4 .. (g+1)·k4]`.
    pub lines: &'a [Line],
    /// Lines per group (K / 4, padded).
    pub k4: usize,
    /// Compensation from the tile's first column, at least `16 · ng` values.
    pub comp: &'a [i32],
}

impl TileArgs<'_> {
    /// Panics unless the slices hold an `mr × 16·ng` tile (the kernels' memory-safety check).
    pub(crate) fn check(&self, mr: usize, ng: usize) {
        assert!((1..=MAX_MR).contains(&mr) && (1..=MAX_NG).contains(&ng));
        assert!(self.lda >= 4 * self.k4);
        assert!(self.a.len() >= (mr - 1) * self.lda + 4 * self.k4);
        assert!(self.lines.len() >= ng * self.k4);
        assert!(self.comp.len() >= ng * GROUP);
    }
}
