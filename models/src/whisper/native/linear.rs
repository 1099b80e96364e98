//! A linear layer `y = x·Wᵀ + b` on f32 or int8 weights, split over threads by rows of `x`.

use percept_compute::OpError;
use percept_compute::cpu::gemm::{MatMut, MatRef, gemm_f32};
use percept_compute::cpu::q8::{Epilogue, gemm_q8_fused};
use percept_compute::cpu::{Isa, activation};
use percept_compute::quant::{I8Rows, U8Rows};

use super::super::engine::Precision;
use super::super::error::WhisperError;
use super::parallel::run_all;
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
        let mut parts = Self::load_split(st, name, bias, (n, k), precision, 1)?;
        Ok(parts.remove(0))
    }

    /// The layer `prefix`: weight `prefix.weight` (`n × k`) and bias `prefix.bias`.
    pub fn load_layer(
        st: &SafeTensors,
        prefix: &str,
        shape: (usize, usize),
        precision: Precision,
    ) -> Result<Self, WhisperError> {
        let bias = format!("{prefix}.bias");
        Self::load(
            st,
            &format!("{prefix}.weight"),
            Some(&bias),
            shape,
            precision,
        )
    }

    /// [`Linear::load`] cut into `parts` row ranges of nearly equal size (multiples of 16
    /// rows), each its own layer: a wide product (the vocabulary projection) whose parts run
    /// on different threads.
    pub fn load_split(
        st: &SafeTensors,
        name: &str,
        bias: Option<&str>,
        (n, k): (usize, usize),
        precision: Precision,
        parts: usize,
    ) -> Result<Vec<Self>, WhisperError> {
        let bias = match bias {
            Some(b) => st.f32(b, &[n])?,
            None => vec![0.0; n],
        };
        let per = n.div_ceil(parts.max(1)).next_multiple_of(16);
        let ranges: Vec<(usize, usize)> =
            (0..n).step_by(per).map(|r| (r, (r + per).min(n))).collect();
        let weights: Vec<Weights> = match precision {
            Precision::F32 => {
                let w = st.f32(name, &[n, k])?;
                ranges
                    .iter()
                    .map(|&(a, b)| Weights::F32(w[a * k..b * k].to_vec()))
                    .collect()
            }
            Precision::Int8 => {
                let q = st.i8(&format!("{name}.q8"), &[n, k])?;
                let scales = st.f32(&format!("{name}.scale"), &[n])?;
                ranges
                    .iter()
                    .map(|&(a, b)| {
                        I8Rows::from_i8(&q[a * k..b * k], &scales[a..b], b - a, k)
                            .map(Weights::Int8)
                            .map_err(|e| WhisperError::bad_model(st.path(), format!("{name}: {e}")))
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(ranges
            .iter()
            .zip(weights)
            .map(|(&(a, b), weights)| Self {
                n: b - a,
                k,
                weights,
                bias: bias[a..b].to_vec(),
            })
            .collect())
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
        let mut scratch = Some(scratch);
        let jobs: Vec<_> = x
            .chunks(rows * self.k)
            .zip(out.chunks_mut(rows * self.n))
            .map(|(xc, oc)| {
                let mine = scratch.take();
                move || {
                    let mut own = U8Rows::default();
                    let u8 = mine.unwrap_or(&mut own);
                    self.forward_rows(ctx.isa, xc, xc.len() / self.k, oc, mode, u8)
                }
            })
            .collect();
        run_all(jobs)
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

/// One wide linear layer stored as row ranges ([`Linear::load_split`]): each range's product runs
/// on its own thread, into its own columns of the output.
pub(crate) struct SplitLinear {
    parts: Vec<Linear>,
    n: usize,
    scratch: std::sync::Mutex<Vec<U8Rows>>,
}

impl SplitLinear {
    pub fn new(parts: Vec<Linear>) -> Self {
        let n = parts.iter().map(|p| p.n).sum();
        let scratch = std::sync::Mutex::new((0..parts.len()).map(|_| U8Rows::default()).collect());
        Self { parts, n, scratch }
    }

    /// Row `r` of the whole weight matrix as f32.
    pub fn row_into(&self, mut r: usize, out: &mut [f32]) {
        for p in &self.parts {
            if r < p.n {
                return p.row_into(r, out);
            }
            r -= p.n;
        }
    }

    /// `out (m × n) = x · Wᵀ + b`, each part on its own thread (the last on this one). With one
    /// row (a decoding step) the parts write straight into their columns of `out`.
    pub fn forward(&self, isa: Isa, x: &[f32], m: usize, out: &mut [f32]) -> Result<(), OpError> {
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        if m == 1 {
            let mut rest = &mut out[..self.n];
            let mut dsts = Vec::with_capacity(self.parts.len());
            for p in &self.parts {
                let (head, tail) = rest.split_at_mut(p.n);
                dsts.push(head);
                rest = tail;
            }
            return self.run_parts(isa, x, m, dsts, &mut scratch);
        }
        let mut cols: Vec<Vec<f32>> = self.parts.iter().map(|p| vec![0.0; m * p.n]).collect();
        self.run_parts(
            isa,
            x,
            m,
            cols.iter_mut().map(|c| &mut c[..]).collect(),
            &mut scratch,
        )?;
        let mut n0 = 0;
        for (p, c) in self.parts.iter().zip(&cols) {
            for r in 0..m {
                out[r * self.n + n0..][..p.n].copy_from_slice(&c[r * p.n..(r + 1) * p.n]);
            }
            n0 += p.n;
        }
        Ok(())
    }

    fn run_parts(
        &self,
        isa: Isa,
        x: &[f32],
        m: usize,
        dsts: Vec<&mut [f32]>,
        scratch: &mut [U8Rows],
    ) -> Result<(), OpError> {
        let jobs: Vec<_> = self
            .parts
            .iter()
            .zip(dsts)
            .zip(scratch.iter_mut())
            .map(|((p, dst), u8)| move || p.forward_rows(isa, x, m, dst, Out::Write, u8))
            .collect();
        run_all(jobs)
    }
}
