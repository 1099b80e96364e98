//! Wider auto-vectorization for the portable f32 loops: [`vectorized`] runs a closure inside a
//! function compiled for AVX2+FMA(+F16C) when the CPU has them. Rust never contracts `a·b + c` into an
//! FMA on its own, so the results are bit-identical to the baseline build; only the vector width
//! changes.
#![allow(unsafe_code)]

/// Runs `f`, compiled with AVX2, FMA and F16C enabled where the CPU supports them. `f` (and the small
/// `#[inline]` helpers it calls) get inlined into the AVX2 function, so its loops use ymm registers.
#[inline]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma_f16c() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        return unsafe { with_avx2(f) };
    }
    f()
}

/// Whether [`vectorized`] and `vectorized_fn!` take their AVX2 path.
#[inline]
pub fn has_avx2_fma_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Defines a function whose body is compiled twice, as is and with AVX2+FMA+F16C, and runs the
/// wide copy where the CPU allows. Unlike [`vectorized`] it cannot fail to inline the body.
/// No generics: spell the types out.
macro_rules! vectorized_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])* $vis fn $name($($a: $t),*) {
            #[inline(always)]
            fn body($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma,f16c")]
            fn wide($($a: $t),*) {
                body($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::simd::has_avx2_fma_f16c() {
                // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
                #[allow(unsafe_code)]
                unsafe {
                    wide($($a),*)
                };
                return;
            }
            body($($a),*)
        }
    };
}
pub(crate) use vectorized_fn;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Lanes of the partial sums in the reductions (enough for two ymm of independent chains).
pub const LANES: usize = 16;

/// `Σ a[i]·b[i]` over `LANES` independent partial sums (vectorizes; slightly more accurate than a
/// single running sum).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// `Σ x[i]` over `LANES` partial sums.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let c = x.chunks_exact(LANES);
    let rest: f32 = c.remainder().iter().sum();
    for v in c {
        for i in 0..LANES {
            acc[i] += v[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// `max_i x[i]` (−inf for an empty slice; NaN-ignoring like `f32::max`).
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let c = x.chunks_exact(LANES);
    let rest = c
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for v in c {
        for i in 0..LANES {
            acc[i] = acc[i].max(v[i]);
        }
    }
    acc.iter().fold(rest, |m, &v| m.max(v))
}

/// `max_i |x[i]|`.
#[inline(always)]
pub fn max_abs(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let c = x.chunks_exact(LANES);
    let rest = c.remainder().iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    for v in c {
        for i in 0..LANES {
            acc[i] = acc[i].max(v[i].abs());
        }
    }
    acc.iter().fold(rest, |m, &v| m.max(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_agree_with_plain_loops_on_tails() {
        for len in [0, 1, 15, 16, 17, 100] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let y: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let d: f64 = x
                .iter()
                .zip(&y)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!((f64::from(vectorized(|| dot(&x, &y))) - d).abs() < 1e-5);
            let s: f64 = x.iter().map(|&v| f64::from(v)).sum();
            assert!((f64::from(sum(&x)) - s).abs() < 1e-5);
            let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            assert_eq!(max(&x), m);
            assert_eq!(max_abs(&x), x.iter().fold(0.0f32, |m, &v| m.max(v.abs())));
        }
    }
}
