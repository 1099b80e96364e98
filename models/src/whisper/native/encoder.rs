//! The Whisper encoder on native kernels: the two-conv stem (f32), positional embedding, pre-LN
//! transformer blocks (int8 or f32 products, f32 blocked attention), final LayerNorm.

use percept_compute::cpu::activation::gelu_erf;
use percept_compute::cpu::attention::{EncoderScratch, Heads, Tokens, encoder_attention};
use percept_compute::cpu::conv::{Conv1d, conv1d};
use percept_compute::quant::U8Rows;

use super::super::config::WhisperConfig;
use super::super::engine::Precision;
use super::super::error::WhisperError;
use super::linear::{Ctx, Linear, Norm, Out, op_error};
use super::parallel::run_all;
use super::safetensors::SafeTensors;

struct Block {
    attn_ln: Norm,
    qkv: Linear,
    attn_out: Linear,
    mlp_ln: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// The encoder's weights.
pub(crate) struct Encoder {
    n_mels: usize,
    d: usize,
    heads: usize,
    conv1: (Vec<f32>, Vec<f32>),
    conv2: (Vec<f32>, Vec<f32>),
    pos: Vec<f32>,
    blocks: Vec<Block>,
    ln: Norm,
}

/// Query rows per attention task on a worker thread.
const MIN_QUERY_ROWS_PER_THREAD: usize = 64;

impl Encoder {
    pub fn load(
        st: &SafeTensors,
        c: &WhisperConfig,
        precision: Precision,
    ) -> Result<Self, WhisperError> {
        let (d, mels) = (c.n_audio_state, c.n_mels);
        let conv = |name: &str, c_in: usize| -> Result<_, WhisperError> {
            Ok((
                st.f32(&format!("encoder.{name}.weight"), &[d, c_in, 3])?,
                st.f32(&format!("encoder.{name}.bias"), &[d])?,
            ))
        };
        let lin =
            |name: String, n: usize, k: usize| Linear::load_layer(st, &name, (n, k), precision);
        let blocks = (0..c.n_audio_layer)
            .map(|i| {
                let p = format!("encoder.{i}");
                Ok(Block {
                    attn_ln: Norm::load(st, &format!("{p}.attn_ln"), d)?,
                    qkv: lin(format!("{p}.qkv"), 3 * d, d)?,
                    attn_out: lin(format!("{p}.attn_out"), d, d)?,
                    mlp_ln: Norm::load(st, &format!("{p}.mlp_ln"), d)?,
                    fc1: lin(format!("{p}.fc1"), 4 * d, d)?,
                    fc2: lin(format!("{p}.fc2"), d, 4 * d)?,
                })
            })
            .collect::<Result<_, WhisperError>>()?;
        Ok(Self {
            n_mels: mels,
            d,
            heads: c.n_audio_head,
            conv1: conv("conv1", mels)?,
            conv2: conv("conv2", d)?,
            pos: st.f32("encoder.pos", &[c.n_audio_ctx, d])?,
            blocks,
            ln: Norm::load(st, "encoder.ln", d)?,
        })
    }

    /// Audio features `[frames/2][d]` of a log-mel `[n_mels][frames]` (`frames` even, checked by
    /// the caller).
    pub fn forward(&self, ctx: Ctx, mel: &[f32], frames: usize) -> Result<Vec<f32>, WhisperError> {
        let err = op_error("native encoder");
        let (d, mels) = (self.d, self.n_mels);
        let mut x0 = vec![0.0f32; frames * mels];
        for (b, row) in mel.chunks_exact(frames).enumerate() {
            for (t, &v) in row.iter().enumerate() {
                x0[t * mels + b] = v;
            }
        }
        let stem = |c_in, stride| Conv1d {
            c_in,
            c_out: d,
            kernel: 3,
            stride,
            padding: 1,
        };
        let mut y1 = vec![0.0f32; frames * d];
        conv1d(
            stem(mels, 1),
            &x0,
            frames,
            &self.conv1.0,
            Some(&self.conv1.1),
            &mut y1,
        )
        .map_err(&err)?;
        gelu_erf(&mut y1);
        let t = stem(d, 2).out_len(frames);
        let mut x = vec![0.0f32; t * d];
        conv1d(
            stem(d, 2),
            &y1,
            frames,
            &self.conv2.0,
            Some(&self.conv2.1),
            &mut x,
        )
        .map_err(&err)?;
        drop(y1);
        gelu_erf(&mut x);
        x.iter_mut().zip(&self.pos).for_each(|(v, p)| *v += p);

        let mut h = vec![0.0f32; t * d];
        let mut wide = vec![0.0f32; t * 4 * d];
        let mut att = vec![0.0f32; t * d];
        let mut scratch = U8Rows::default();
        for b in &self.blocks {
            b.attn_ln.apply(&x, &mut h).map_err(&err)?;
            let qkv = &mut wide[..t * 3 * d];
            b.qkv
                .forward(ctx, &h, t, qkv, Out::Write, &mut scratch)
                .map_err(&err)?;
            self.attention(ctx, qkv, t, &mut att).map_err(&err)?;
            b.attn_out
                .forward(ctx, &att, t, &mut x, Out::Accumulate, &mut scratch)
                .map_err(&err)?;
            b.mlp_ln.apply(&x, &mut h).map_err(&err)?;
            b.fc1
                .forward(ctx, &h, t, &mut wide, Out::Gelu, &mut scratch)
                .map_err(&err)?;
            b.fc2
                .forward(ctx, &wide, t, &mut x, Out::Accumulate, &mut scratch)
                .map_err(&err)?;
        }
        self.ln.apply(&x, &mut h).map_err(&err)?;
        Ok(h)
    }

    /// Self-attention of fused `qkv` rows (`t × 3d`, the scale folded into q) into `out` (`t × d`),
    /// query rows split over the threads.
    fn attention(
        &self,
        ctx: Ctx,
        qkv: &[f32],
        t: usize,
        out: &mut [f32],
    ) -> Result<(), percept_compute::OpError> {
        let d = self.d;
        let heads = Heads {
            heads: self.heads,
            d_head: d / self.heads,
        };
        let rows = |data, n| Tokens {
            data,
            rows: n,
            stride: 3 * d,
        };
        let (k, v) = (rows(&qkv[d..], t), rows(&qkv[2 * d..], t));
        let parts = ctx.threads.min(t / MIN_QUERY_ROWS_PER_THREAD).max(1);
        let per = t.div_ceil(parts);
        let jobs: Vec<_> = out
            .chunks_mut(per * d)
            .enumerate()
            .map(|(i, chunk)| {
                let q = rows(&qkv[i * per * 3 * d..], chunk.len() / d);
                move || {
                    let mut scratch = EncoderScratch::default();
                    encoder_attention(q, k, v, heads, 1.0, chunk, d, &mut scratch)
                }
            })
            .collect();
        run_all(jobs)
    }
}
