//! Compute backends for perceptd.
//!
//! Today there is one backend, the CPU, which runs models through tract with a configurable number
//! of matmul threads. A Vulkan backend comes later behind the `vulkan` feature; asking for it now
//! gives an error that says so.
//!
//! The native kernels grow next to it (not yet used by the models):
//! - [`quant`]: int8 weights per output row, packed for VNNI, and per-row u8 activations;
//! - [`cpu`]: int8 GEMM/GEMV (AVX-512 VNNI, AVX2, scalar; chosen at run time through
//!   [`cpu::Isa`]), f32 GEMM (`gemm` crate), conv1d, LayerNorm, softmax, exact GELU, blocked
//!   encoder attention and decoder attention over f16 caches. aarch64 and other non-x86 targets
//!   get the portable kernels until a NEON path exists;
//! - [`reference`](mod@reference): plain f64 / exact-i32 references;
//! - [`conformance`]: cases every backend must pass ([`cpu::CpuKernels`] passes them on every
//!   kernel set this CPU has).

use std::sync::OnceLock;

pub mod conformance;
pub mod cpu;
mod error;
pub mod quant;
pub mod reference;

pub use error::OpError;

/// Errors when selecting or configuring a backend.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackendError {
    /// The name is not a backend.
    #[error("unknown backend {name:?}; expected one of: cpu, vulkan, vulkan-or-cpu")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The backend exists but cannot be used here.
    #[error("backend {name} is unavailable: {reason}")]
    Unavailable {
        /// The backend.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A thread count of zero.
    #[error("threads must be >= 1, got {0}")]
    BadThreads(usize),
}

/// A place where models run.
pub trait Backend: Send + Sync {
    /// Short name (`cpu`, `vulkan`).
    fn name(&self) -> &'static str;
    /// Checks the backend can run here; the error says why not.
    fn check(&self) -> Result<(), BackendError>;
}

/// The CPU backend: tract's kernels, with `threads` matmul threads for the whole process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuBackend {
    threads: usize,
}

static TRACT_THREADS: OnceLock<usize> = OnceLock::new();

impl CpuBackend {
    /// A CPU backend with `threads` matmul threads (1 = single-threaded).
    ///
    /// tract has one process-wide executor, so the first backend created sets it; later ones
    /// report the thread count actually in force through [`CpuBackend::threads`].
    pub fn new(threads: usize) -> Result<Self, BackendError> {
        if threads == 0 {
            return Err(BackendError::BadThreads(threads));
        }
        let threads = *TRACT_THREADS.get_or_init(|| {
            if threads > 1 {
                tract_linalg::multithread::set_default_executor(
                    tract_linalg::multithread::Executor::multithread(threads),
                );
            }
            threads
        });
        Ok(Self { threads })
    }

    /// Matmul threads in force.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn check(&self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// Looks a backend up by name: `cpu`; `vulkan` (strict: fails when unavailable); `vulkan-or-cpu`
/// (falls back to the CPU).
pub fn backend_for_name(name: &str, threads: usize) -> Result<Box<dyn Backend>, BackendError> {
    match name {
        "cpu" | "vulkan-or-cpu" => Ok(Box::new(CpuBackend::new(threads)?)),
        "vulkan" => Err(BackendError::Unavailable {
            name: "vulkan",
            reason: "this build has no Vulkan backend yet (planned behind the `vulkan` feature)"
                .into(),
        }),
        other => Err(BackendError::Unknown {
            name: other.to_string(),
        }),
    }
}

/// Default thread count: the number of cores, at least 1.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs `f` with tract's matrix products on the calling thread only, whatever the process-wide
/// executor is. Background work (vision) uses it so it never competes with speech for the
/// shared thread pool.
pub fn single_threaded<R>(f: impl FnOnce() -> R) -> R {
    tract_linalg::multithread::multithread_tract_scope(
        tract_linalg::multithread::Executor::SingleThread,
        f,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_vulkan_says_why_it_is_unavailable() {
        let err = backend_for_name("vulkan", 1).err().unwrap();
        assert!(err.to_string().contains("no Vulkan backend"), "{err}");
    }

    #[test]
    fn unknown_backend_names_the_choices() {
        let err = backend_for_name("tpu", 1).err().unwrap();
        assert!(err.to_string().contains("cpu, vulkan, vulkan-or-cpu"));
    }

    #[test]
    fn cpu_backend_passes_its_check() {
        let cpu = backend_for_name("cpu", 1).unwrap();
        assert_eq!(cpu.name(), "cpu");
        assert!(cpu.check().is_ok());
    }
}
