//! A linear layer `y = x·Wᵀ + b` on f32 or int8 weights, split over threads by rows of `x`.

use percept_compute::OpError;
use percept_compute::cpu::gemm::{MatMut, MatRef, gemm_f32};
use percept_compute::cpu::q8::{Epilogue, gemm_q8_fused};
use percept_compute::cpu::{Isa, activation};
use percept_compute::quant::{I8Rows, U8Rows};

use super::super::engine::Precision;
use super::super::model::WhisperError;
use super::safetensors::SafeTensors;

/// The kernels and threads one model call runs with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub isa: Isa,
    pub threads: usize,
}

/// Rows of `x` below which a product stays on one thread (thread start-up would dominate).
const MIN_ROWS_PER_THREAD: usize = 32;

/// Maps a kernel error to the engine's error.
pub(crate) fn op_error(stage: &'static str) -> impl Fn(OpError) -> WhisperError {
    move |e| WhisperError::Inference {
        graph: stage,
        message: e.to_string(),
    }
}

/// What the product does with its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    /// `out = x·Wᵀ + b`.
    Write,
    /// `out = GELU(x·Wᵀ + b)` (exact erf form).
    Gelu,
    /// `out += x·Wᵀ + b` (a residual connection).
    Accumulate,
}

enum Weights {
    F32(Vec<f32>),
    Int8(I8Rows),
}

/// `n` outputs of `k` inputs with a bias.
pub(crate) struct Linear {
    pub n: usize,
    pub k: usize,
    weights: Weights,
    bias: Vec<f32>,
}

impl Linear {
    /// Reads weight `name` (`n × k`) and, if given, bias `bias` (`n`) at `precision`: the int8
    /// file holds `name.q8` and `name.scale`, the float16 file `name`.
    pub fn load(
        st: &SafeTensors,
        name: &str,
        bias: Option<&str>,
        (n, k): (usize, usize),
        precision: Precision,
    ) -> Result<Self, WhisperError> {
        let weights = match precision {
            Precision::F32 => Weights::F32(st.f32(name, &[n, k])?),
            Precision::Int8 => {
                let q = st.i8(&format!("{name}.q8"), &[n, k])?;
                let scales = st.f32(&format!("{name}.scale"), &[n])?;
                Weights::Int8(
                    I8Rows::from_i8(&q, &scales, n, k)
                        .map_err(|e| WhisperError::bad_model(st.path(), format!("{name}: {e}")))?,
                )
            }
        };
        let bias = match bias {
            Some(b) => st.f32(b, &[n])?,
            None => vec![0.0; n],
        };
        Ok(Self {
            n,
            k,
            weights,
            bias,
        })
    }

    /// Row `r` of the weight matrix as f32 (an embedding lookup).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        match &self.weights {
            Weights::F32(w) => out.copy_from_slice(&w[r * self.k..(r + 1) * self.k]),
            Weights::Int8(w) => {
                let s = w.scales()[r];
                for (c, o) in out.iter_mut().enumerate() {
                    *o = f32::from(w.get(r, c)) * s;
                }
            }
        }
    }

    /// `out (m × n) ⟵ x (m × k) · Wᵀ + b` as `mode` says, rows split over `ctx.threads`.
    /// `scratch` holds the quantized activations of the calling thread.
    pub fn forward(
        &self,
        ctx: Ctx,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        mode: Out,
        scratch: &mut U8Rows,
    ) -> Result<(), OpError> {
        let parts = ctx.threads.min(m / MIN_ROWS_PER_THREAD).max(1);
        if parts == 1 {
            return self.forward_rows(ctx.isa, x, m, out, mode, scratch);
        }
        let rows = m.div_ceil(parts).next_multiple_of(8);
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            let mut chunks = x
                .chunks(rows * self.k)
                .zip(out.chunks_mut(rows * self.n))
                .peekable();
            while let Some((xc, oc)) = chunks.next() {
                let mr = xc.len() / self.k.max(1);
                if chunks.peek().is_none() {
                    // The last chunk runs here, with the caller's scratch.
                    let here = self.forward_rows(ctx.isa, xc, mr, oc, mode, scratch);
                    let others: Result<(), OpError> = handles
                        .into_iter()
                        .map(|h: std::thread::ScopedJoinHandle<'_, _>| {
                            h.join().expect("linear worker panicked")
                        })
                        .collect();
                    return here.and(others);
                }
                handles.push(s.spawn(move || {
                    self.forward_rows(ctx.isa, xc, mr, oc, mode, &mut U8Rows::default())
                }));
            }
            Ok(())
        })
    }

    fn forward_rows(
        &self,
        isa: Isa,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        mode: Out,
        scratch: &mut U8Rows,
    ) -> Result<(), OpError> {
        match &self.weights {
            Weights::Int8(w) => {
                scratch.quantize_from(x, m, self.k)?;
                let ep = Epilogue {
                    bias: Some(&self.bias),
                    gelu: mode == Out::Gelu,
                    accumulate: mode == Out::Accumulate,
                };
                gemm_q8_fused(isa, scratch, w, ep, out)
            }
            Weights::F32(w) => {
                let a = MatRef::row_major(x, m, self.k)?;
                let b = MatRef::row_major(w, self.n, self.k)?.t();
                let c = MatMut::row_major(out, m, self.n)?;
                gemm_f32(c, a, b, 1.0, mode == Out::Accumulate)?;
                for row in out.chunks_exact_mut(self.n) {
                    row.iter_mut().zip(&self.bias).for_each(|(o, b)| *o += b);
                    if mode == Out::Gelu {
                        activation::gelu_erf(row);
                    }
                }
                Ok(())
            }
        }
    }
}

/// LayerNorm parameters.
pub(crate) struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// Whisper's LayerNorm epsilon.
const LN_EPS: f32 = 1e-5;

impl Norm {
    /// Reads `name.gamma` and `name.beta` (`d` each).
    pub fn load(st: &SafeTensors, name: &str, d: usize) -> Result<Self, WhisperError> {
        Ok(Self {
            gamma: st.f32(&format!("{name}.gamma"), &[d])?,
            beta: st.f32(&format!("{name}.beta"), &[d])?,
        })
    }

    /// `out = LayerNorm(x)` row by row.
    pub fn apply(&self, x: &[f32], out: &mut [f32]) -> Result<(), OpError> {
        percept_compute::cpu::norm::layer_norm(
            x,
            self.gamma.len(),
            &self.gamma,
            &self.beta,
            LN_EPS,
            out,
        )
    }
}
