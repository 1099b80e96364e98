//! This host's own limits, measured the same way as notes/compute.md §0 (best of many short
//! runs): the f32 FMA peak of one core (AVX2, 256-bit, 12 independent chains) and read
//! bandwidth from DRAM (a 256 MiB buffer) on one and on every thread, and from a buffer that
//! fits L3. The kernels' figures are printed as a percentage of these.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::Instant;

/// The measured limits.
#[derive(Debug, Clone, Copy)]
pub struct Peaks {
    /// f32 GFLOP/s of one core with 256-bit FMA (`None` without AVX2+FMA).
    pub fma_gflops: Option<f64>,
    /// One thread reading a 256 MiB buffer, GB/s.
    pub dram_gbs: f64,
    /// Every hardware thread reading its own part of it, GB/s in all.
    pub dram_all_gbs: f64,
    /// One thread reading a 4 MiB buffer again and again (L2/L3), GB/s.
    pub cache_gbs: f64,
}

impl Peaks {
    /// Measures (about two seconds).
    pub fn measure() -> Self {
        let big = vec![1u64; 256 << 17];
        let small = vec![1u64; 4 << 17];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let dram_gbs = bytes_per_sec(&big, 5) / 1e9;
        let chunk = big.len().div_ceil(threads);
        let dram_all_gbs = {
            let t = best(5, || {
                std::thread::scope(|s| {
                    for part in big.chunks(chunk) {
                        s.spawn(move || {
                            black_box(sum(part));
                        });
                    }
                })
            });
            (big.len() * 8) as f64 / t / 1e9
        };
        let cache_gbs = bytes_per_sec(&small, 200) / 1e9;
        Self {
            fma_gflops: fma_peak(),
            dram_gbs,
            dram_all_gbs,
            cache_gbs,
        }
    }
}

/// Best wall time of `reps` runs (after one warm-up), in seconds.
pub fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn bytes_per_sec(buf: &[u64], reps: usize) -> f64 {
    (buf.len() * 8) as f64
        / best(reps, || {
            black_box(sum(black_box(buf)));
        })
}

/// Wrapping sum of `v` (vectorised with AVX2 where the CPU has it).
fn sum(v: &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { sum_avx2(v) };
    }
    sum_plain(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(v: &[u64]) -> u64 {
    sum_plain(v)
}

#[inline(always)]
fn sum_plain(v: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    for c in v.chunks_exact(8) {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(*x);
        }
    }
    acc.iter().fold(0, |s, a| s.wrapping_add(*a))
}

#[cfg(target_arch = "x86_64")]
fn fma_peak() -> Option<f64> {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    const ITERS: usize = 2_000_000;
    // SAFETY: the CPU has AVX2 and FMA (checked just above).
    let t = best(20, || {
        black_box(unsafe { fma_chains(black_box(ITERS)) });
    });
    Some((ITERS * 12 * 8 * 2) as f64 / t / 1e9)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak() -> Option<f64> {
    None
}

/// `iters` rounds of 12 independent 8-wide FMAs; returns a value so nothing is optimised away.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains(iters: usize) -> f32 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_cvtss_f32, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps,
    };
    let (a, b) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_setzero_ps(); 12];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let total = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, x| _mm256_add_ps(s, *x));
    _mm256_cvtss_f32(total)
}
