//! Conformance cases every backend must pass: each case names an op, builds its inputs from a
//! seed, runs the backend through [`ConformanceOps`] and compares with [`crate::reference`].
//!
//! int8 accumulators must be bit-exact; f32 ops are compared at a tolerance stated per case. The
//! CPU runs them on every available kernel set (see the tests); a Vulkan backend implements
//! [`ConformanceOps`] over its buffers and calls [`run`] the same way.

use half::f16;

use crate::cpu::conv::Conv1d;
use crate::error::OpError;
use crate::quant::{I8Rows, U8Rows};
use crate::reference;

/// The operations the cases exercise, on host slices (a device backend uploads, runs, reads back).
pub trait ConformanceOps {
    /// The backend and kernel set, for failure messages.
    fn label(&self) -> String;
    /// Exact int8 accumulators `Σ (a − 128)·q`, `m × n`.
    fn gemm_q8_i32(&self, a: &U8Rows, w: &I8Rows, out: &mut [i32]) -> Result<(), OpError>;
    /// Dequantized int8 product with optional bias, `m × n`.
    fn gemm_q8(
        &self,
        a: &U8Rows,
        w: &I8Rows,
        bias: Option<&[f32]>,
        out: &mut [f32],
    ) -> Result<(), OpError>;
    /// `y = x·wᵀ` in f32: `x` `m × k`, `w` `n × k`, `y` `m × n`.
    fn linear_f32(
        &self,
        x: &[f32],
        w: &[f32],
        m: usize,
        n: usize,
        k: usize,
        y: &mut [f32],
    ) -> Result<(), OpError>;
    /// LayerNorm over rows of `d`.
    fn layer_norm(
        &self,
        x: &[f32],
        d: usize,
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
        out: &mut [f32],
    ) -> Result<(), OpError>;
    /// Softmax over rows of `d`, in place.
    fn softmax_rows(&self, x: &mut [f32], d: usize) -> Result<(), OpError>;
    /// Exact GELU, in place.
    fn gelu_erf(&self, x: &mut [f32]) -> Result<(), OpError>;
    /// Attention over contiguous token-major `q` (`tq` rows), `k`, `v` (`tk` rows), each row
    /// `heads · d_head`; `out` like `q`.
    #[allow(clippy::too_many_arguments)]
    fn encoder_attention(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        tq: usize,
        tk: usize,
        heads: usize,
        d_head: usize,
        scale: f32,
        out: &mut [f32],
    ) -> Result<(), OpError>;
    /// conv1d over token-major `x` (`t_in × c_in`) with PyTorch-layout weights and a bias.
    fn conv1d(
        &self,
        conv: Conv1d,
        x: &[f32],
        t_in: usize,
        weight: &[f32],
        bias: &[f32],
        y: &mut [f32],
    ) -> Result<(), OpError>;
    /// One query against position-major f16 caches `[len][heads · d_head]`.
    #[allow(clippy::too_many_arguments)]
    fn decoder_attention(
        &self,
        q: &[f32],
        k: &[f16],
        v: &[f16],
        len: usize,
        heads: usize,
        d_head: usize,
        scale: f32,
        out: &mut [f32],
    ) -> Result<(), OpError>;
}

/// One conformance case.
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    /// int8 GEMM/GEMV: exact i32 accumulators and dequantized f32 output with bias.
    GemmQ8 {
        /// Rows of A.
        m: usize,
        /// Output columns.
        n: usize,
        /// Inner dimension.
        k: usize,
    },
    /// f32 linear layer `x·wᵀ`.
    LinearF32 {
        /// Rows of x.
        m: usize,
        /// Output columns.
        n: usize,
        /// Inner dimension.
        k: usize,
    },
    /// LayerNorm (eps 1e-5) with a large common offset.
    LayerNorm {
        /// Rows.
        rows: usize,
        /// Row width.
        d: usize,
    },
    /// Softmax with large logits.
    Softmax {
        /// Rows.
        rows: usize,
        /// Row width.
        d: usize,
    },
    /// Exact GELU over [−8, 8].
    Gelu {
        /// Values.
        len: usize,
    },
    /// Encoder attention.
    EncoderAttention {
        /// Query rows.
        tq: usize,
        /// Key rows.
        tk: usize,
        /// Heads.
        heads: usize,
        /// Values per head.
        d_head: usize,
    },
    /// conv1d (Whisper's stem geometry and small odd ones).
    Conv1d {
        /// The geometry.
        conv: Conv1d,
        /// Input rows.
        t_in: usize,
    },
    /// Decoder attention over an f16 cache.
    DecoderAttention {
        /// Cache positions.
        len: usize,
        /// Heads.
        heads: usize,
        /// Values per head.
        d_head: usize,
    },
}

/// The shared cases: small, with tails, and the Whisper tiny shapes that matter.
pub fn cases() -> Vec<Case> {
    use Case::*;
    vec![
        GemmQ8 {
            m: 64,
            n: 384,
            k: 384,
        },
        GemmQ8 {
            m: 1,
            n: 1536,
            k: 384,
        },
        GemmQ8 {
            m: 4,
            n: 51,
            k: 1536,
        },
        GemmQ8 { m: 13, n: 17, k: 1 },
        GemmQ8 { m: 9, n: 1, k: 7 },
        LinearF32 {
            m: 64,
            n: 384,
            k: 384,
        },
        LinearF32 {
            m: 1,
            n: 1536,
            k: 384,
        },
        LinearF32 { m: 11, n: 3, k: 5 },
        LayerNorm { rows: 3, d: 384 },
        LayerNorm { rows: 2, d: 7 },
        Softmax { rows: 3, d: 1500 },
        Softmax { rows: 2, d: 1 },
        Gelu { len: 4099 },
        EncoderAttention {
            tq: 70,
            tk: 300,
            heads: 2,
            d_head: 64,
        },
        EncoderAttention {
            tq: 3,
            tk: 1,
            heads: 3,
            d_head: 5,
        },
        DecoderAttention {
            len: 100,
            heads: 6,
            d_head: 64,
        },
        DecoderAttention {
            len: 1,
            heads: 1,
            d_head: 3,
        },
    ]
}

/// A case that failed on a backend.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The backend's label.
    pub backend: String,
    /// The case.
    pub case: Case,
    /// What differed.
    pub detail: String,
}

/// Runs every case on `ops`; an empty result means conformance.
pub fn run(ops: &dyn ConformanceOps) -> Vec<Failure> {
    cases()
        .into_iter()
        .enumerate()
        .filter_map(|(i, case)| {
            check(ops, &case, i as u64 + 1).err().map(|detail| Failure {
                backend: ops.label(),
                case,
                detail,
            })
        })
        .collect()
}

/// Deterministic values in `[-amp, amp]`.
fn values(len: usize, seed: u64, amp: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            amp * ((s % 20_001) as f32 / 10_000.0 - 1.0)
        })
        .collect()
}

/// Max |got − want| ≤ `abs + rel·|want|`, else the first offending index.
fn close(got: &[f32], want: &[f64], abs: f64, rel: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} values, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let g = f64::from(*g);
        if (g - w).abs() > abs + rel * w.abs() || g.is_nan() {
            return Err(format!(
                "[{i}] = {g}, reference {w} (tolerance {abs} + {rel}·|ref|)"
            ));
        }
    }
    Ok(())
}

fn err(e: OpError) -> String {
    format!("op error: {e}")
}

fn check(ops: &dyn ConformanceOps, case: &Case, seed: u64) -> Result<(), String> {
    match *case {
        Case::GemmQ8 { m, n, k } => {
            let x = values(m * k, seed, 2.0);
            let w = values(n * k, seed + 1, 0.5);
            let a = U8Rows::quantize(&x, m, k).map_err(err)?;
            let q = I8Rows::quantize(&w, n, k).map_err(err)?;
            let a_raw: Vec<u8> = (0..m).flat_map(|r| a.row(r)[..k].to_vec()).collect();
            let q_raw: Vec<i8> = (0..n * k).map(|i| q.get(i / k, i % k)).collect();
            let want = reference::gemm_u8i8_i32(&a_raw, &q_raw, m, n, k);
            let mut got = vec![0i32; m * n];
            ops.gemm_q8_i32(&a, &q, &mut got).map_err(err)?;
            if let Some(i) = (0..m * n).find(|&i| got[i] != want[i]) {
                return Err(format!(
                    "i32 [{i}] = {}, reference {} (must be exact)",
                    got[i], want[i]
                ));
            }
            let bias = values(n, seed + 2, 1.0);
            let want_f =
                reference::dequantize_acc(&want, a.scales(), q.scales(), Some(&bias), m, n);
            let mut got_f = vec![0f32; m * n];
            ops.gemm_q8(&a, &q, Some(&bias), &mut got_f).map_err(err)?;
            close(&got_f, &want_f, 1e-6, 1e-6)
        }
        Case::LinearF32 { m, n, k } => {
            let (x, w) = (values(m * k, seed, 1.0), values(n * k, seed + 1, 1.0));
            let mut y = vec![0f32; m * n];
            ops.linear_f32(&x, &w, m, n, k, &mut y).map_err(err)?;
            close(
                &y,
                &reference::gemm_f64(&x, &w, m, n, k),
                1e-6 * k as f64,
                1e-5,
            )
        }
        Case::LayerNorm { rows, d } => {
            let x: Vec<f32> = values(rows * d, seed, 3.0)
                .iter()
                .map(|v| v + 50.0)
                .collect();
            let (g, b) = (values(d, seed + 1, 1.0), values(d, seed + 2, 1.0));
            let mut out = vec![0f32; rows * d];
            ops.layer_norm(&x, d, &g, &b, 1e-5, &mut out).map_err(err)?;
            close(
                &out,
                &reference::layer_norm_f64(&x, d, &g, &b, 1e-5),
                1e-4,
                0.0,
            )
        }
        Case::Softmax { rows, d } => {
            let x: Vec<f32> = values(rows * d, seed, 40.0)
                .iter()
                .map(|v| v + 500.0)
                .collect();
            let mut got = x.clone();
            ops.softmax_rows(&mut got, d).map_err(err)?;
            close(&got, &reference::softmax_f64(&x, d), 1e-9, 1e-6)
        }
        Case::Gelu { len } => {
            let x = values(len, seed, 8.0);
            let mut got = x.clone();
            ops.gelu_erf(&mut got).map_err(err)?;
            let want: Vec<f64> = x
                .iter()
                .map(|&v| reference::gelu_f64(f64::from(v)))
                .collect();
            close(&got, &want, 1e-6, 1e-6)
        }
        Case::EncoderAttention {
            tq,
            tk,
            heads,
            d_head,
        } => {
            let w = heads * d_head;
            let (q, k, v) = (
                values(tq * w, seed, 2.0),
                values(tk * w, seed + 1, 2.0),
                values(tk * w, seed + 2, 2.0),
            );
            let scale = 1.0 / (d_head as f32).sqrt();
            let mut out = vec![0f32; tq * w];
            ops.encoder_attention(&q, &k, &v, tq, tk, heads, d_head, scale, &mut out)
                .map_err(err)?;
            let want = per_head(&q, &k, &v, tq, tk, heads, d_head, scale);
            close(&out, &want, 2e-5, 0.0)
        }
        Case::Conv1d { conv, t_in } => {
            let x = values(t_in * conv.c_in, seed, 1.0);
            let w = values(conv.c_out * conv.c_in * conv.kernel, seed + 1, 1.0);
            let b = values(conv.c_out, seed + 2, 1.0);
            let mut y = vec![0f32; conv.out_len(t_in) * conv.c_out];
            ops.conv1d(conv, &x, t_in, &w, &b, &mut y).map_err(err)?;
            let want = conv1d_f64(conv, &x, t_in, &w, &b);
            close(&y, &want, 1e-6 * (conv.c_in * conv.kernel) as f64, 1e-5)
        }
        Case::DecoderAttention { len, heads, d_head } => {
            let w = heads * d_head;
            let q = values(w, seed, 2.0);
            let to16 = |v: Vec<f32>| -> Vec<f16> { v.into_iter().map(f16::from_f32).collect() };
            let (k, v) = (
                to16(values(len * w, seed + 1, 2.0)),
                to16(values(len * w, seed + 2, 2.0)),
            );
            let scale = 1.0 / (d_head as f32).sqrt();
            let mut out = vec![0f32; w];
            ops.decoder_attention(&q, &k, &v, len, heads, d_head, scale, &mut out)
                .map_err(err)?;
            let kf: Vec<f32> = k.iter().map(|x| x.to_f32()).collect();
            let vf: Vec<f32> = v.iter().map(|x| x.to_f32()).collect();
            let want = per_head(&q, &kf, &vf, 1, len, heads, d_head, scale);
            close(&out, &want, 2e-5, 0.0)
        }
    }
}

/// conv1d by the direct sum in f64 (zero padding).
fn conv1d_f64(conv: Conv1d, x: &[f32], t_in: usize, w: &[f32], b: &[f32]) -> Vec<f64> {
    let t_out = conv.out_len(t_in);
    let mut y = vec![0.0; t_out * conv.c_out];
    for t in 0..t_out {
        for o in 0..conv.c_out {
            let mut acc = f64::from(b[o]);
            for tap in 0..conv.kernel {
                let Some(src) = (conv.stride * t + tap).checked_sub(conv.padding) else {
                    continue;
                };
                if src >= t_in {
                    continue;
                }
                for i in 0..conv.c_in {
                    acc += f64::from(x[src * conv.c_in + i])
                        * f64::from(w[(o * conv.c_in + i) * conv.kernel + tap]);
                }
            }
            y[t * conv.c_out + o] = acc;
        }
    }
    y
}

/// The f64 attention reference over token-major rows, head by head, back in token-major order.
#[allow(clippy::too_many_arguments)]
fn per_head(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    tq: usize,
    tk: usize,
    heads: usize,
    dh: usize,
    scale: f32,
) -> Vec<f64> {
    let w = heads * dh;
    let head = |x: &[f32], rows: usize, h: usize| -> Vec<f64> {
        (0..rows)
            .flat_map(|r| {
                x[r * w + h * dh..r * w + (h + 1) * dh]
                    .iter()
                    .map(|&v| f64::from(v))
            })
            .collect()
    };
    let mut out = vec![0.0; tq * w];
    for h in 0..heads {
        let o = reference::attention_f64(
            &head(q, tq, h),
            &head(k, tk, h),
            &head(v, tk, h),
            dh,
            f64::from(scale),
        );
        for r in 0..tq {
            out[r * w + h * dh..r * w + (h + 1) * dh].copy_from_slice(&o[r * dh..(r + 1) * dh]);
        }
    }
    out
}
