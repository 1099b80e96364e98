//! f16 rows read with F16C (`vcvtph2ps`) and combined with FMA: the decoder's K/V cache loops.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm256_add_ps, _mm256_cvtph_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use half::f16;

/// Proof that the CPU has AVX2, FMA and F16C.
#[derive(Clone, Copy, Debug)]
pub(crate) struct F16c(());

impl F16c {
    /// `Some` when the CPU has AVX2, FMA and F16C.
    pub(crate) fn new() -> Option<Self> {
        (std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c"))
        .then_some(Self(()))
    }

    /// `Σ q[i] · k[i]` over the shorter length.
    #[inline(always)]
    pub(crate) fn dot(self, q: &[f32], k: &[f16]) -> f32 {
        // SAFETY: `self` proves the CPU features.
        unsafe { dot(q, k) }
    }

    /// `out[i] += p · v[i]` over the shorter length.
    #[inline(always)]
    pub(crate) fn axpy(self, p: f32, v: &[f16], out: &mut [f32]) {
        // SAFETY: `self` proves the CPU features.
        unsafe { axpy(p, v, out) }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn dot(q: &[f32], k: &[f16]) -> f32 {
    let n = q.len().min(k.len());
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (qp, kp) = (q.as_ptr(), k.as_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 <= n` elements of both slices; f16 is a transparent u16.
        unsafe {
            let k0 = _mm256_cvtph_ps(_mm_loadu_si128(kp.add(i).cast::<__m128i>()));
            let k1 = _mm256_cvtph_ps(_mm_loadu_si128(kp.add(i + 8).cast::<__m128i>()));
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), k0, acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), k1, acc1);
        }
        i += 16;
    }
    if i + 8 <= n {
        // SAFETY: `i + 8 <= n`.
        unsafe {
            let k0 = _mm256_cvtph_ps(_mm_loadu_si128(kp.add(i).cast::<__m128i>()));
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), k0, acc0);
        }
        i += 8;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: 8 f32 into an 8-element array.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc0, acc1)) };
    let tail: f32 = (i..n).map(|j| q[j] * k[j].to_f32()).sum();
    lanes.iter().sum::<f32>() + tail
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn axpy(p: f32, v: &[f16], out: &mut [f32]) {
    let n = v.len().min(out.len());
    let pv = _mm256_set1_ps(p);
    let (vp, op) = (v.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n` elements of both slices.
        unsafe {
            let x = _mm256_cvtph_ps(_mm_loadu_si128(vp.add(i).cast::<__m128i>()));
            let o = _mm256_fmadd_ps(pv, x, _mm256_loadu_ps(op.add(i)));
            _mm256_storeu_ps(op.add(i), o);
        }
        i += 8;
    }
    for j in i..n {
        out[j] += p * v[j].to_f32();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16c_rows_match_the_portable_conversion_on_tails() {
        let Some(f) = F16c::new() else { return };
        for n in [0, 1, 7, 8, 9, 16, 17, 64, 70] {
            let q: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).sin()).collect();
            let k: Vec<f16> = (0..n)
                .map(|i| f16::from_f32((i as f32 * 0.7).cos()))
                .collect();
            let want: f64 = q
                .iter()
                .zip(&k)
                .map(|(a, b)| f64::from(*a) * f64::from(b.to_f32()))
                .sum();
            assert!((f64::from(f.dot(&q, &k)) - want).abs() < 1e-5, "n={n}");
            let mut out = q.clone();
            f.axpy(0.5, &k, &mut out);
            for i in 0..n {
                assert!((out[i] - (q[i] + 0.5 * k[i].to_f32())).abs() < 1e-6);
            }
        }
    }
}
