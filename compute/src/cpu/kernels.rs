//! [`CpuKernels`]: the CPU ops for one kernel set, behind the backend-neutral conformance seam.

use half::f16;

use super::attention::{self, DecoderScratch, EncoderScratch, Heads, KvCache, Tokens};
use super::conv::{self, Conv1d};
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

    fn conv1d(
        &self,
        conv: Conv1d,
        x: &[f32],
        t_in: usize,
        weight: &[f32],
        bias: &[f32],
        y: &mut [f32],
    ) -> Result<(), OpError> {
        conv::conv1d(conv, x, t_in, weight, Some(bias), y)
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

    /// The CPU kernels with two planted faults: one int8 accumulator off by one, tanh GELU.
    struct Faulty(CpuKernels);

    impl ConformanceOps for Faulty {
        fn label(&self) -> String {
            "faulty".into()
        }
        fn gemm_q8_i32(&self, a: &U8Rows, w: &I8Rows, out: &mut [i32]) -> Result<(), OpError> {
            self.0.gemm_q8_i32(a, w, out)?;
            out[out.len() / 2] += 1;
            Ok(())
        }
        fn gemm_q8(
            &self,
            a: &U8Rows,
            w: &I8Rows,
            b: Option<&[f32]>,
            o: &mut [f32],
        ) -> Result<(), OpError> {
            self.0.gemm_q8(a, w, b, o)
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
            self.0.linear_f32(x, w, m, n, k, y)
        }
        fn layer_norm(
            &self,
            x: &[f32],
            d: usize,
            g: &[f32],
            b: &[f32],
            e: f32,
            o: &mut [f32],
        ) -> Result<(), OpError> {
            self.0.layer_norm(x, d, g, b, e, o)
        }
        fn softmax_rows(&self, x: &mut [f32], d: usize) -> Result<(), OpError> {
            self.0.softmax_rows(x, d)
        }
        fn gelu_erf(&self, x: &mut [f32]) -> Result<(), OpError> {
            for v in x.iter_mut() {
                let t = (0.797_884_6 * (*v + 0.044_715 * *v * *v * *v)).tanh();
                *v = 0.5 * *v * (1.0 + t);
            }
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
            self.0
                .encoder_attention(q, k, v, tq, tk, heads, d_head, scale, out)
        }
        fn conv1d(
            &self,
            c: Conv1d,
            x: &[f32],
            t: usize,
            w: &[f32],
            b: &[f32],
            y: &mut [f32],
        ) -> Result<(), OpError> {
            self.0.conv1d(c, x, t, w, b, y)
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
            self.0
                .decoder_attention(q, k, v, len, heads, d_head, scale, out)
        }
    }

    #[test]
    fn conformance_catches_an_off_by_one_accumulator_and_tanh_gelu() {
        let failures = conformance::run(&Faulty(CpuKernels { isa: Isa::scalar() }));
        let q8 = failures
            .iter()
            .filter(|f| matches!(f.case, conformance::Case::GemmQ8 { .. }))
            .count();
        let gelu = failures
            .iter()
            .filter(|f| matches!(f.case, conformance::Case::Gelu { .. }))
            .count();
        assert_eq!((q8, gelu, failures.len()), (5, 1, 6), "{failures:#?}");
        assert!(
            failures[0].detail.contains("must be exact"),
            "{}",
            failures[0].detail
        );
    }

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
