//! The Whisper decoder on native kernels: cross-attention keys and values computed once per window
//! (f16), then one step per token over an f16 self-attention cache, with reusable buffers.

use half::f16;
use half::slice::HalfFloatSliceExt;
use percept_compute::cpu::attention::{DecoderScratch, Heads, KvCache, decoder_attention};
use percept_compute::quant::U8Rows;

use super::super::config::WhisperConfig;
use super::super::engine::Precision;
use super::super::error::WhisperError;
use super::linear::{Ctx, Linear, Norm, Out, SplitLinear, op_error};
use super::safetensors::SafeTensors;

struct Block {
    self_ln: Norm,
    self_qkv: Linear,
    self_out: Linear,
    cross_ln: Norm,
    cross_q: Linear,
    cross_kv: Linear,
    cross_out: Linear,
    mlp_ln: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// The decoder's weights.
pub(crate) struct Decoder {
    d: usize,
    heads: usize,
    n_ctx: usize,
    n_vocab: usize,
    /// The tied token embedding: the input lookup and the output projection, split in one part
    /// per thread.
    embed: SplitLinear,
    pos: Vec<f32>,
    blocks: Vec<Block>,
    ln: Norm,
}

/// One window's cross-attention keys and values per layer, position-major `[T][d]`, f16.
pub(crate) struct NativeCross {
    frames: usize,
    layers: Vec<(Vec<f16>, Vec<f16>)>,
}

impl Decoder {
    pub fn load(
        st: &SafeTensors,
        c: &WhisperConfig,
        precision: Precision,
        threads: usize,
    ) -> Result<Self, WhisperError> {
        let d = c.n_text_state;
        let lin =
            |name: String, n: usize, k: usize| Linear::load_layer(st, &name, (n, k), precision);
        let blocks = (0..c.n_text_layer)
            .map(|i| {
                let p = format!("decoder.{i}");
                let norm = |n: &str| Norm::load(st, &format!("{p}.{n}"), d);
                Ok(Block {
                    self_ln: norm("self_ln")?,
                    self_qkv: lin(format!("{p}.self_qkv"), 3 * d, d)?,
                    self_out: lin(format!("{p}.self_out"), d, d)?,
                    cross_ln: norm("cross_ln")?,
                    cross_q: lin(format!("{p}.cross_q"), d, d)?,
                    cross_kv: lin(format!("{p}.cross_kv"), 2 * d, c.n_audio_state)?,
                    cross_out: lin(format!("{p}.cross_out"), d, d)?,
                    mlp_ln: norm("mlp_ln")?,
                    fc1: lin(format!("{p}.fc1"), 4 * d, d)?,
                    fc2: lin(format!("{p}.fc2"), d, 4 * d)?,
                })
            })
            .collect::<Result<_, WhisperError>>()?;
        Ok(Self {
            d,
            heads: c.n_text_head,
            n_ctx: c.n_text_ctx,
            n_vocab: c.n_vocab,
            embed: SplitLinear::new(Linear::load_split(
                st,
                "decoder.embed",
                None,
                (c.n_vocab, d),
                precision,
                threads,
            )?),
            pos: st.f32("decoder.pos", &[c.n_text_ctx, d])?,
            blocks,
            ln: Norm::load(st, "decoder.ln", d)?,
        })
    }

    /// Keys and values of every layer's cross-attention over `audio` (`frames × n_audio_state`).
    pub fn cross_kv(
        &self,
        ctx: Ctx,
        audio: &[f32],
        frames: usize,
    ) -> Result<NativeCross, WhisperError> {
        let d = self.d;
        let mut kv = vec![0.0f32; frames * 2 * d];
        let mut scratch = U8Rows::default();
        let mut layers = Vec::with_capacity(self.blocks.len());
        for b in &self.blocks {
            b.cross_kv
                .forward(ctx, audio, frames, &mut kv, Out::Write, &mut scratch)
                .map_err(op_error("native cross_kv"))?;
            let mut k = vec![f16::ZERO; frames * d];
            let mut v = vec![f16::ZERO; frames * d];
            for (t, row) in kv.chunks_exact(2 * d).enumerate() {
                k[t * d..(t + 1) * d].convert_from_f32_slice(&row[..d]);
                v[t * d..(t + 1) * d].convert_from_f32_slice(&row[d..]);
            }
            layers.push((k, v));
        }
        Ok(NativeCross { frames, layers })
    }
}

/// One decoding pass: the f16 self-attention caches and every buffer a step needs, allocated once.
pub(crate) struct DecoderState {
    self_k: Vec<Vec<f16>>,
    self_v: Vec<Vec<f16>>,
    x: Vec<f32>,
    h: Vec<f32>,
    qkv: Vec<f32>,
    att: Vec<f32>,
    wide: Vec<f32>,
    u8: U8Rows,
    attn: DecoderScratch,
}

impl DecoderState {
    pub fn new(dec: &Decoder) -> Self {
        let (d, n) = (dec.d, dec.n_ctx);
        let layers = dec.blocks.len();
        Self {
            self_k: vec![vec![f16::ZERO; n * d]; layers],
            self_v: vec![vec![f16::ZERO; n * d]; layers],
            x: Vec::with_capacity(4 * d),
            h: Vec::with_capacity(4 * d),
            qkv: Vec::with_capacity(4 * 3 * d),
            att: Vec::with_capacity(4 * d),
            wide: Vec::with_capacity(4 * 4 * d),
            u8: U8Rows::default(),
            attn: DecoderScratch::with_capacity(n.max(1500), d / dec.heads.max(1)),
        }
    }
}

fn resize(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buf.resize(len, 0.0);
    &mut buf[..len]
}

impl Decoder {
    /// Feeds `tokens` at positions `past..`, returns their logits `[m][n_vocab]`. The caller
    /// checked the context limit and the token ids.
    pub fn step(
        &self,
        ctx: Ctx,
        cross: &NativeCross,
        s: &mut DecoderState,
        tokens: &[u32],
        past: usize,
    ) -> Result<Vec<f32>, WhisperError> {
        let err = op_error("native decoder");
        let (d, m) = (self.d, tokens.len());
        let heads = Heads {
            heads: self.heads,
            d_head: d / self.heads,
        };
        let x = resize(&mut s.x, m * d);
        for (r, &tok) in tokens.iter().enumerate() {
            let row = &mut x[r * d..(r + 1) * d];
            self.embed.row_into(tok as usize, row);
            let p = &self.pos[(past + r) * d..(past + r + 1) * d];
            row.iter_mut().zip(p).for_each(|(v, p)| *v += p);
        }
        let h = resize(&mut s.h, m * d);
        let att = resize(&mut s.att, m * d);
        let qkv = resize(&mut s.qkv, m * 3 * d);
        let wide = resize(&mut s.wide, m * 4 * d);
        for (l, b) in self.blocks.iter().enumerate() {
            // Causal self-attention: row r sees the cache and rows ≤ r.
            b.self_ln.apply(x, h).map_err(&err)?;
            b.self_qkv
                .forward(ctx, h, m, qkv, Out::Write, &mut s.u8)
                .map_err(&err)?;
            let (ck, cv) = (&mut s.self_k[l], &mut s.self_v[l]);
            for r in 0..m {
                let row = &qkv[r * 3 * d..(r + 1) * 3 * d];
                let at = (past + r) * d;
                ck[at..at + d].convert_from_f32_slice(&row[d..2 * d]);
                cv[at..at + d].convert_from_f32_slice(&row[2 * d..]);
            }
            for r in 0..m {
                let cache = |data| KvCache {
                    data,
                    len: past + r + 1,
                    pos_stride: d,
                    head_stride: heads.d_head,
                };
                let q = &qkv[r * 3 * d..r * 3 * d + d];
                let out = &mut att[r * d..(r + 1) * d];
                decoder_attention(q, cache(ck), cache(cv), heads, 1.0, out, &mut s.attn)
                    .map_err(&err)?;
            }
            b.self_out
                .forward(ctx, att, m, x, Out::Accumulate, &mut s.u8)
                .map_err(&err)?;

            // Cross-attention over the window's audio.
            b.cross_ln.apply(x, h).map_err(&err)?;
            let q = &mut qkv[..m * d];
            b.cross_q
                .forward(ctx, h, m, q, Out::Write, &mut s.u8)
                .map_err(&err)?;
            let (xk, xv) = &cross.layers[l];
            for r in 0..m {
                let cache = |data| KvCache {
                    data,
                    len: cross.frames,
                    pos_stride: d,
                    head_stride: heads.d_head,
                };
                let out = &mut att[r * d..(r + 1) * d];
                decoder_attention(
                    &q[r * d..(r + 1) * d],
                    cache(xk),
                    cache(xv),
                    heads,
                    1.0,
                    out,
                    &mut s.attn,
                )
                .map_err(&err)?;
            }
            b.cross_out
                .forward(ctx, att, m, x, Out::Accumulate, &mut s.u8)
                .map_err(&err)?;

            b.mlp_ln.apply(x, h).map_err(&err)?;
            b.fc1
                .forward(ctx, h, m, wide, Out::Gelu, &mut s.u8)
                .map_err(&err)?;
            b.fc2
                .forward(ctx, wide, m, x, Out::Accumulate, &mut s.u8)
                .map_err(&err)?;
        }
        self.ln.apply(x, h).map_err(&err)?;
        let mut logits = vec![0.0f32; m * self.n_vocab];
        self.embed
            .forward(ctx.isa, h, m, &mut logits)
            .map_err(&err)?;
        Ok(logits)
    }
}
