//! Attention: blocked encoder attention (online softmax over key blocks, never a T×T matrix per
//! head) and single-query decoder attention over an f16 K/V cache.
//!
//! Activations are token-major: row `t` of Q, K, V and the output holds all heads, head `h` at
//! columns `h·d_head .. (h+1)·d_head`; rows may be strided (e.g. views into one fused QKV buffer).

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::gemm::{MatMut, MatRef, gemm_f32};
use super::math::exp_f32;
use super::simd::{self, vectorized_fn};
use super::softmax::softmax_row;
use crate::error::{OpError, check_len};

/// Query rows per block (the score block is `BQ × BK` f32 = 64 KiB, L2-resident).
const BQ: usize = 64;
/// Keys per block.
const BK: usize = 256;

/// Token-major f32 rows: row `t` starts at `t · stride`; each has `heads · d_head` used values.
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    /// The values (row `t` at `t · stride`).
    pub data: &'a [f32],
    /// Rows (tokens).
    pub rows: usize,
    /// Distance between rows, in elements.
    pub stride: usize,
}

/// Heads and their width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heads {
    /// Number of heads.
    pub heads: usize,
    /// Values per head.
    pub d_head: usize,
}

impl Heads {
    fn width(self) -> usize {
        self.heads * self.d_head
    }
}

fn check_rows(
    what: &'static str,
    len: usize,
    rows: usize,
    stride: usize,
    width: usize,
) -> Result<(), OpError> {
    if rows == 0 {
        return Ok(());
    }
    if rows > 1 && stride < width {
        return Err(OpError::Shape {
            what,
            expected: width,
            actual: stride,
        });
    }
    let need = (rows - 1) * stride + width;
    if len < need {
        return Err(OpError::Shape {
            what,
            expected: need,
            actual: len,
        });
    }
    Ok(())
}

impl Tokens<'_> {
    fn check(&self, what: &'static str, width: usize) -> Result<(), OpError> {
        check_rows(what, self.data.len(), self.rows, self.stride, width)
    }

    /// Rows `r0..r0+n` of head `h` as a matrix.
    fn head(&self, h: Heads, head: usize, r0: usize, n: usize) -> MatRef<'_> {
        let start = r0 * self.stride + head * h.d_head;
        MatRef::new(&self.data[start..], n, h.d_head, self.stride, 1)
            .expect("rows were bounds-checked against the whole tensor")
    }
}

/// Reusable buffers of [`encoder_attention`] (sized on first use; no allocation afterwards).
#[derive(Debug, Default)]
pub struct EncoderScratch {
    scores: Vec<f32>,
    acc: Vec<f32>,
    max: Vec<f32>,
    sum: Vec<f32>,
}

/// `out = softmax(scale · Q·Kᵀ) · V` per head, for all query rows against all key rows.
///
/// `out` has `q.rows` rows of stride `out_stride`. Scores are computed per block of 64 queries ×
/// 256 keys with a running max and sum per query row (online softmax).
#[allow(clippy::too_many_arguments)]
pub fn encoder_attention(
    q: Tokens<'_>,
    k: Tokens<'_>,
    v: Tokens<'_>,
    heads: Heads,
    scale: f32,
    out: &mut [f32],
    out_stride: usize,
    scratch: &mut EncoderScratch,
) -> Result<(), OpError> {
    encoder_attention_blocked(q, k, v, heads, scale, out, out_stride, scratch, BQ, BK)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn encoder_attention_blocked(
    q: Tokens<'_>,
    k: Tokens<'_>,
    v: Tokens<'_>,
    h: Heads,
    scale: f32,
    out: &mut [f32],
    out_stride: usize,
    s: &mut EncoderScratch,
    bq: usize,
    bk: usize,
) -> Result<(), OpError> {
    let w = h.width();
    q.check("q rows (stride and length)", w)?;
    k.check("k rows (stride and length)", w)?;
    v.check("v rows (stride and length)", w)?;
    check_len("v rows (= k rows)", k.rows, v.rows)?;
    check_rows(
        "output (stride and length)",
        out.len(),
        q.rows,
        out_stride,
        w,
    )?;
    if q.rows == 0 || h.d_head == 0 {
        return Ok(());
    }
    if k.rows == 0 {
        for r in 0..q.rows {
            out[r * out_stride..r * out_stride + w].fill(0.0);
        }
        return Ok(());
    }
    let dh = h.d_head;
    s.scores.resize(bq * bk, 0.0);
    s.acc.resize(bq * dh, 0.0);
    s.max.resize(bq, 0.0);
    s.sum.resize(bq, 0.0);
    for head in 0..h.heads {
        for q0 in (0..q.rows).step_by(bq) {
            let nq = bq.min(q.rows - q0);
            let qm = q.head(h, head, q0, nq);
            s.max[..nq].fill(f32::NEG_INFINITY);
            s.sum[..nq].fill(0.0);
            for k0 in (0..k.rows).step_by(bk) {
                let nk = bk.min(k.rows - k0);
                let scores = &mut s.scores[..nq * nk];
                let km = k.head(h, head, k0, nk).t();
                gemm_f32(MatMut::row_major(scores, nq, nk)?, qm, km, scale, false)?;
                for r in 0..nq {
                    let row = &mut scores[r * nk..(r + 1) * nk];
                    let blk_max = simd::max(row);
                    let new_max = s.max[r].max(blk_max);
                    let corr = exp_f32(s.max[r] - new_max);
                    exp_shifted(row, new_max);
                    let sum = simd::sum(row);
                    s.max[r] = new_max;
                    s.sum[r] = s.sum[r] * corr + sum;
                    if k0 > 0 {
                        s.acc[r * dh..(r + 1) * dh]
                            .iter_mut()
                            .for_each(|a| *a *= corr);
                    }
                }
                let p = MatRef::row_major(&s.scores[..nq * nk], nq, nk)?;
                let vm = v.head(h, head, k0, nk);
                gemm_f32(
                    MatMut::row_major(&mut s.acc[..nq * dh], nq, dh)?,
                    p,
                    vm,
                    1.0,
                    k0 > 0,
                )?;
            }
            for r in 0..nq {
                let inv = 1.0 / s.sum[r];
                let dst = &mut out[(q0 + r) * out_stride + head * dh..][..dh];
                for (d, &a) in dst.iter_mut().zip(&s.acc[r * dh..(r + 1) * dh]) {
                    *d = a * inv;
                }
            }
        }
    }
    Ok(())
}

vectorized_fn! {
    /// `x = e^(x − shift)` in place.
    fn exp_shifted(x: &mut [f32], shift: f32) {
        for v in x.iter_mut() {
            *v = exp_f32(*v - shift);
        }
    }
}

/// An f16 K or V cache: element `(head, t, d)` at `head · head_stride + t · pos_stride + d`, for
/// `t < len`. Position-major (`[T][heads·d_head]`) and head-major (`[heads][T_max][d_head]`) caches
/// are both views of this kind.
#[derive(Clone, Copy, Debug)]
pub struct KvCache<'a> {
    /// The values.
    pub data: &'a [f16],
    /// Valid positions.
    pub len: usize,
    /// Distance between positions, in elements.
    pub pos_stride: usize,
    /// Distance between heads, in elements.
    pub head_stride: usize,
}

impl KvCache<'_> {
    fn check(&self, what: &'static str, h: Heads) -> Result<(), OpError> {
        if self.len == 0 || h.heads == 0 || h.d_head == 0 {
            return Ok(());
        }
        let need = (h.heads - 1) * self.head_stride + (self.len - 1) * self.pos_stride + h.d_head;
        if self.data.len() < need {
            return Err(OpError::Shape {
                what,
                expected: need,
                actual: self.data.len(),
            });
        }
        Ok(())
    }

    fn row(&self, head: usize, t: usize, d_head: usize) -> &[f16] {
        &self.data[head * self.head_stride + t * self.pos_stride..][..d_head]
    }
}

/// Reusable buffers of [`decoder_attention`].
#[derive(Debug, Default)]
pub struct DecoderScratch {
    scores: Vec<f32>,
    row: Vec<f32>,
}

impl DecoderScratch {
    /// Buffers for caches up to `max_len` positions and heads of `d_head` (larger calls grow them).
    pub fn with_capacity(max_len: usize, d_head: usize) -> Self {
        Self {
            scores: Vec::with_capacity(max_len),
            row: Vec::with_capacity(d_head),
        }
    }
}

/// One query (`q`: `heads · d_head`) against an f16 cache: `out = softmax(scale · q·Kᵀ) · V` per head.
pub fn decoder_attention(
    q: &[f32],
    k: KvCache<'_>,
    v: KvCache<'_>,
    h: Heads,
    scale: f32,
    out: &mut [f32],
    s: &mut DecoderScratch,
) -> Result<(), OpError> {
    check_len("q length (heads·d_head)", h.width(), q.len())?;
    check_len("output length (heads·d_head)", h.width(), out.len())?;
    check_len("v cache length (= k cache length)", k.len, v.len)?;
    k.check("k cache data length", h)?;
    v.check("v cache data length", h)?;
    let dh = h.d_head;
    s.scores.resize(k.len, 0.0);
    s.row.resize(dh, 0.0);
    let scores = &mut s.scores[..k.len];
    #[cfg(target_arch = "x86_64")]
    if let Some(f) = super::f16c::F16c::new() {
        decode_f16c(q, k, v, h, scale, out, scores, f);
        return Ok(());
    }
    decode_portable(q, k, v, h, scale, out, scores, &mut s.row);
    Ok(())
}

/// How the decoder loop reads f16 cache rows.
trait HalfRows {
    /// `Σ q[i] · k[i]`.
    fn dot(&mut self, q: &[f32], k: &[f16]) -> f32;
    /// `out[i] += p · v[i]`.
    fn axpy(&mut self, p: f32, v: &[f16], out: &mut [f32]);
}

/// Portable: convert the row into a scratch buffer, then plain loops.
struct Portable<'a>(&'a mut [f32]);

impl HalfRows for Portable<'_> {
    #[inline(always)]
    fn dot(&mut self, q: &[f32], k: &[f16]) -> f32 {
        let row = &mut self.0[..k.len()];
        k.convert_to_f32_slice(row);
        simd::dot(q, row)
    }

    #[inline(always)]
    fn axpy(&mut self, p: f32, v: &[f16], out: &mut [f32]) {
        let row = &mut self.0[..v.len()];
        v.convert_to_f32_slice(row);
        for (o, &x) in out.iter_mut().zip(row.iter()) {
            *o += p * x;
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl HalfRows for super::f16c::F16c {
    #[inline(always)]
    fn dot(&mut self, q: &[f32], k: &[f16]) -> f32 {
        super::f16c::F16c::dot(*self, q, k)
    }

    #[inline(always)]
    fn axpy(&mut self, p: f32, v: &[f16], out: &mut [f32]) {
        super::f16c::F16c::axpy(*self, p, v, out)
    }
}

#[cfg(target_arch = "x86_64")]
vectorized_fn! {
    #[allow(clippy::too_many_arguments)]
    fn decode_f16c(q: &[f32], k: KvCache<'_>, v: KvCache<'_>, h: Heads, scale: f32, out: &mut [f32], scores: &mut [f32], f: super::f16c::F16c) {
        let mut f = f;
        decode_heads(q, k, v, h, scale, out, scores, &mut f);
    }
}

vectorized_fn! {
    #[allow(clippy::too_many_arguments)]
    fn decode_portable(q: &[f32], k: KvCache<'_>, v: KvCache<'_>, h: Heads, scale: f32, out: &mut [f32], scores: &mut [f32], row: &mut [f32]) {
        decode_heads(q, k, v, h, scale, out, scores, &mut Portable(row));
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn decode_heads(
    q: &[f32],
    k: KvCache<'_>,
    v: KvCache<'_>,
    h: Heads,
    scale: f32,
    out: &mut [f32],
    scores: &mut [f32],
    rows: &mut impl HalfRows,
) {
    let dh = h.d_head;
    for head in 0..h.heads {
        let qh = &q[head * dh..(head + 1) * dh];
        let oh = &mut out[head * dh..(head + 1) * dh];
        oh.fill(0.0);
        if k.len == 0 {
            continue;
        }
        for (t, st) in scores.iter_mut().enumerate() {
            *st = scale * rows.dot(qh, k.row(head, t, dh));
        }
        softmax_row(scores);
        for (t, &p) in scores.iter().enumerate() {
            rows.axpy(p, v.row(head, t, dh), oh);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::reference::attention_f64;

    fn values(len: usize, seed: u64, amp: f32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                amp * ((s % 2001) as f32 / 1000.0 - 1.0)
            })
            .collect()
    }

    /// Head `h` of token-major rows, contiguous, as f64.
    fn head_f64(x: &[f32], rows: usize, stride: usize, off: usize, dh: usize) -> Vec<f64> {
        (0..rows)
            .flat_map(|r| {
                x[r * stride + off..r * stride + off + dh]
                    .iter()
                    .map(|&v| f64::from(v))
            })
            .collect()
    }

    /// Fused QKV buffer (stride 3·w), blocked attention against f64 per head.
    fn check_encoder(
        tq: usize,
        tk: usize,
        heads: usize,
        dh: usize,
        bq: usize,
        bk: usize,
        seed: u64,
    ) {
        let w = heads * dh;
        let t = tq.max(tk);
        let qkv = values(t * 3 * w, seed, 3.0);
        let tok = |off: usize, rows: usize| Tokens {
            data: &qkv[off..],
            rows,
            stride: 3 * w,
        };
        let h = Heads { heads, d_head: dh };
        let scale = 1.0 / (dh as f32).sqrt();
        let mut out = vec![f32::NAN; tq * w];
        let mut scratch = EncoderScratch::default();
        encoder_attention_blocked(
            tok(0, tq),
            tok(w, tk),
            tok(2 * w, tk),
            h,
            scale,
            &mut out,
            w,
            &mut scratch,
            bq,
            bk,
        )
        .unwrap();
        for head in 0..heads {
            let want = attention_f64(
                &head_f64(&qkv, tq, 3 * w, head * dh, dh),
                &head_f64(&qkv, tk, 3 * w, w + head * dh, dh),
                &head_f64(&qkv, tk, 3 * w, 2 * w + head * dh, dh),
                dh,
                f64::from(scale),
            );
            let got = head_f64(&out, tq, w, head * dh, dh);
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (g - e).abs() < 2e-5,
                    "tq={tq} tk={tk} head={head}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn encoder_attention_matches_f64_at_whisper_head_size() {
        check_encoder(70, 300, 2, 64, BQ, BK, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn blocked_online_softmax_matches_f64_for_any_blocking(
            tq in 1usize..20, tk in 1usize..40, heads in 1usize..4, dh in 1usize..12,
            bq in 1usize..8, bk in 1usize..9, seed in 1u64..u64::MAX
        ) {
            check_encoder(tq, tk, heads, dh, bq, bk, seed);
        }

        #[test]
        fn decoder_attention_over_f16_caches_matches_f64(
            len in 1usize..70, heads in 1usize..4, dh in 1usize..70, head_major in any::<bool>(),
            seed in 1u64..u64::MAX
        ) {
            check_decoder(len, heads, dh, head_major, seed);
        }
    }

    fn check_decoder(len: usize, heads: usize, dh: usize, head_major: bool, seed: u64) {
        let w = heads * dh;
        let max_len = len + 3; // a cache with room left
        let kv = |s| -> Vec<f16> {
            values(max_len * w, s, 2.0)
                .into_iter()
                .map(f16::from_f32)
                .collect()
        };
        let (kd, vd) = (kv(seed + 1), kv(seed + 2));
        let (pos_stride, head_stride) = if head_major {
            (dh, max_len * dh)
        } else {
            (w, dh)
        };
        let cache = |data| KvCache {
            data,
            len,
            pos_stride,
            head_stride,
        };
        let q = values(w, seed, 2.0);
        let h = Heads { heads, d_head: dh };
        let scale = 1.0 / (dh as f32).sqrt();
        let mut out = vec![f32::NAN; w];
        let mut scratch = DecoderScratch::with_capacity(4, dh);
        decoder_attention(&q, cache(&kd), cache(&vd), h, scale, &mut out, &mut scratch).unwrap();
        // The portable row reader too (the public call takes F16C where the CPU has it).
        let (mut row, mut scores, mut portable_out) =
            (vec![0.0; dh], vec![0.0; len], vec![f32::NAN; w]);
        let mut portable = Portable(&mut row);
        decode_heads(
            &q,
            cache(&kd),
            cache(&vd),
            h,
            scale,
            &mut portable_out,
            &mut scores,
            &mut portable,
        );
        for head in 0..heads {
            let gather = |d: &[f16]| -> Vec<f64> {
                (0..len)
                    .flat_map(|t| (0..dh).map(move |i| (t, i)))
                    .map(|(t, i)| f64::from(d[head * head_stride + t * pos_stride + i].to_f32()))
                    .collect()
            };
            let qh: Vec<f64> = q[head * dh..(head + 1) * dh]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let want = attention_f64(&qh, &gather(&kd), &gather(&vd), dh, f64::from(scale));
            for (g, e) in out[head * dh..(head + 1) * dh].iter().zip(&want) {
                assert!((f64::from(*g) - e).abs() < 2e-5, "{g} vs {e}");
            }
            for (g, e) in portable_out[head * dh..(head + 1) * dh].iter().zip(&want) {
                assert!((f64::from(*g) - e).abs() < 2e-5, "portable: {g} vs {e}");
            }
        }
    }

    #[test]
    fn short_cache_data_is_refused() {
        let d = vec![f16::ZERO; 10];
        let c = KvCache {
            data: &d,
            len: 3,
            pos_stride: 4,
            head_stride: 0,
        };
        let h = Heads {
            heads: 1,
            d_head: 4,
        };
        let err = decoder_attention(
            &[0.0; 4],
            c,
            c,
            h,
            1.0,
            &mut [0.0; 4],
            &mut DecoderScratch::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("k cache"), "{err}");
    }
}
