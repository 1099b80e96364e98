//! [`CpuKernels`]: the CPU ops for one kernel set, behind the backend-neutral conformance seam.

use half::f16;

use super::attention::{self, DecoderScratch, EncoderScratch, Heads, KvCache, Tokens};
use super::gemm::{MatMut, MatRef, gemm_f32};
use super::{Isa, activation, norm, q8, softmax};
use crate::conformance::ConformanceOps;
use crate::error::OpError;
use crate::quant::{I8Rows, U8Rows};

/// The CPU kernels of one [`Isa`] (the f32 ops are shared by all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuKernels {
    /// The int8 kernel set.
    pub isa: Isa,
}

impl ConformanceOps for CpuKernels {
    fn label(&self) -> String {
        format!("cpu ({:?})", self.isa.level())
    }

    fn gemm_q8_i32(&self, a: &U8Rows, w: &I8Rows, out: &mut [i32]) -> Result<(), OpError> {
        q8::gemm_q8_i32(self.isa, a, w, out)
    }

    fn gemm_q8(
        &self,
        a: &U8Rows,
        w: &I8Rows,
        bias: Option<&[f32]>,
        out: &mut [f32],
    ) -> Result<(), OpError> {
        q8::gemm_q8(self.isa, a, w, bias, out)
    }

    fn linear_f32(
        &self,
        x: &[f32],
        w: &[f32],
        m: usize,
        n: usize,
        k: usize,
        y: &mut [f32],
    ) -> Result<(), OpError> {
        let a = MatRef::row_major(x, m, k)?;
        let b = MatRef::row_major(w, n, k)?.t();
        gemm_f32(MatMut::row_major(y, m, n)?, a, b, 1.0, false)
    }

    fn layer_norm(
        &self,
        x: &[f32],
        d: usize,
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
        out: &mut [f32],
    ) -> Result<(), OpError> {
        norm::layer_norm(x, d, gamma, beta, eps, out)
    }

    fn softmax_rows(&self, x: &mut [f32], d: usize) -> Result<(), OpError> {
        softmax::softmax_rows(x, d)
    }

    fn gelu_erf(&self, x: &mut [f32]) -> Result<(), OpError> {
        activation::gelu_erf(x);
        Ok(())
    }

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
    ) -> Result<(), OpError> {
        let w = heads * d_head;
        let tok = |data, rows| Tokens {
            data,
            rows,
            stride: w,
        };
        let h = Heads { heads, d_head };
        let mut scratch = EncoderScratch::default();
        attention::encoder_attention(
            tok(q, tq),
            tok(k, tk),
            tok(v, tk),
            h,
            scale,
            out,
            w,
            &mut scratch,
        )
    }

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
    ) -> Result<(), OpError> {
        let cache = |data| KvCache {
            data,
            len,
            pos_stride: heads * d_head,
            head_stride: d_head,
        };
        let h = Heads { heads, d_head };
        let mut scratch = DecoderScratch::default();
        attention::decoder_attention(q, cache(k), cache(v), h, scale, out, &mut scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[test]
    fn every_cpu_kernel_set_passes_the_conformance_cases() {
        let isas = Isa::all_available();
        assert_eq!(isas[0], Isa::scalar());
        for isa in isas {
            let failures = conformance::run(&CpuKernels { isa });
            assert!(failures.is_empty(), "{failures:#?}");
        }
    }
}
