//! Which instruction sets the CPU kernels may use, detected at run time.

/// A family of CPU kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IsaLevel {
    /// Portable Rust, compiled and tested everywhere (aarch64 gets this until a NEON path exists).
    Scalar,
    /// x86-64 AVX2 (int8 through sign-extension to i16 and `vpmaddwd`: no `maddubs` saturation).
    Avx2,
    /// x86-64 AVX-512 F+BW with VNNI (`vpdpbusd` on zmm).
    Avx512Vnni,
}

/// An [`IsaLevel`] this CPU supports: holding one is the proof the kernels check before they run
/// `#[target_feature]` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Isa(IsaLevel);

impl Isa {
    /// The portable kernels (always available).
    pub fn scalar() -> Self {
        Self(IsaLevel::Scalar)
    }

    /// `level` if this CPU supports it.
    pub fn new(level: IsaLevel) -> Option<Self> {
        supported(level).then_some(Self(level))
    }

    /// The fastest level this CPU supports.
    pub fn best() -> Self {
        [IsaLevel::Avx512Vnni, IsaLevel::Avx2]
            .into_iter()
            .find_map(Self::new)
            .unwrap_or_else(Self::scalar)
    }

    /// Every level this CPU supports, scalar first (tests run the kernels on each).
    pub fn all_available() -> Vec<Self> {
        [IsaLevel::Scalar, IsaLevel::Avx2, IsaLevel::Avx512Vnni]
            .into_iter()
            .filter_map(Self::new)
            .collect()
    }

    /// The level.
    pub fn level(self) -> IsaLevel {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
fn supported(level: IsaLevel) -> bool {
    match level {
        IsaLevel::Scalar => true,
        IsaLevel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
        IsaLevel::Avx512Vnni => {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn supported(level: IsaLevel) -> bool {
    level == IsaLevel::Scalar
}
