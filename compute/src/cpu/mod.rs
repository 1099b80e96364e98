//! CPU kernels: int8 GEMM/GEMV on [`crate::quant`] layouts, f32 GEMM, norms, activations and
//! attention. Kernels are chosen at run time through [`Isa`].

mod isa;
pub mod q8;

pub use isa::{Isa, IsaLevel};
