//! CPU kernels: int8 GEMM/GEMV on [`crate::quant`] layouts, f32 GEMM, norms, activations and
//! attention. Kernels are chosen at run time through [`Isa`]; the f32 elementwise ops are portable
//! Rust written to auto-vectorize.

pub mod activation;
pub mod attention;
pub mod conv;
#[cfg(target_arch = "x86_64")]
mod f16c;
pub mod gemm;
mod isa;
mod kernels;
pub mod math;
pub mod norm;
pub mod q8;
pub mod simd;
pub mod softmax;

pub use isa::{Isa, IsaLevel};
pub use kernels::CpuKernels;
