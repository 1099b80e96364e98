use proptest::prelude::*;

use super::*;
use crate::reference;

fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    }
}

/// Random u8 activations and i8 weights (−127..=127), both packed, plus their raw values.
fn case(m: usize, n: usize, k: usize, seed: u64) -> (U8Rows, I8Rows, Vec<u8>, Vec<i8>) {
    let mut r = lcg(seed);
    let a: Vec<u8> = (0..m * k).map(|_| (r() % 256) as u8).collect();
    let q: Vec<i8> = (0..n * k)
        .map(|_| ((r() % 255) as i32 - 127) as i8)
        .collect();
    let a_scales: Vec<f32> = (0..m).map(|i| 0.01 + i as f32 * 1e-3).collect();
    let w_scales: Vec<f32> = (0..n).map(|i| 0.02 + i as f32 * 1e-4).collect();
    (
        U8Rows::from_u8(&a, &a_scales, m, k).unwrap(),
        I8Rows::from_i8(&q, &w_scales, n, k).unwrap(),
        a,
        q,
    )
}

fn check_all_isas(m: usize, n: usize, k: usize, seed: u64) {
    let (a, w, a_raw, q_raw) = case(m, n, k, seed);
    let want = reference::gemm_u8i8_i32(&a_raw, &q_raw, m, n, k);
    let want_f = reference::dequantize_acc(&want, a.scales(), w.scales(), None, m, n);
    for isa in Isa::all_available() {
        let mut got = vec![0i32; m * n];
        gemm_q8_i32(isa, &a, &w, &mut got).unwrap();
        assert_eq!(got, want, "{isa:?} m={m} n={n} k={k}");
        let mut got_f = vec![0f32; m * n];
        gemm_q8(isa, &a, &w, None, &mut got_f).unwrap();
        for (g, e) in got_f.iter().zip(&want_f) {
            assert!(
                (f64::from(*g) - e).abs() <= 1e-6 * e.abs() + 1e-30,
                "{isa:?}: {g} vs {e}"
            );
        }
    }
}

#[test]
fn extreme_values_accumulate_exactly_without_saturation() {
    // 255 · 127 everywhere: the sum an AVX2 maddubs would saturate at i16.
    for isa in Isa::all_available() {
        let (m, n, k) = (5, 17, 1031);
        let a = U8Rows::from_u8(&vec![255; m * k], &vec![1.0; m], m, k).unwrap();
        let q = I8Rows::from_i8(&vec![127; n * k], &vec![1.0; n], n, k).unwrap();
        let mut got = vec![0i32; m * n];
        gemm_q8_i32(isa, &a, &q, &mut got).unwrap();
        assert!(got.iter().all(|&v| v == 127 * 127 * k as i32), "{isa:?}");
        let a0 = U8Rows::from_u8(&vec![0; m * k], &vec![1.0; m], m, k).unwrap();
        gemm_q8_i32(isa, &a0, &q, &mut got).unwrap();
        assert!(got.iter().all(|&v| v == -128 * 127 * k as i32), "{isa:?}");
    }
}

#[test]
fn whisper_shapes_are_bit_exact_on_every_kernel() {
    check_all_isas(1, 1000, 384, 1);
    check_all_isas(3, 200, 1536, 2);
    check_all_isas(37, 100, 384, 3);
}

#[test]
fn bias_and_scales_are_applied_per_column_and_row() {
    let (m, n, k) = (6, 21, 9);
    let (a, w, a_raw, q_raw) = case(m, n, k, 7);
    let bias: Vec<f32> = (0..n).map(|i| i as f32 - 3.0).collect();
    let want = reference::dequantize_acc(
        &reference::gemm_u8i8_i32(&a_raw, &q_raw, m, n, k),
        a.scales(),
        w.scales(),
        Some(&bias),
        m,
        n,
    );
    for isa in Isa::all_available() {
        let mut got = vec![0f32; m * n];
        gemm_q8(isa, &a, &w, Some(&bias), &mut got).unwrap();
        for (g, e) in got.iter().zip(&want) {
            assert!(
                (f64::from(*g) - e).abs() <= 1e-5 * (1.0 + e.abs()),
                "{g} vs {e}"
            );
        }
    }
}

#[test]
fn fused_epilogue_equals_the_unfused_steps_bit_for_bit() {
    for (m, n, k) in [(1, 70, 33), (13, 40, 64)] {
        let (a, w, _, _) = case(m, n, k, 5);
        let bias: Vec<f32> = (0..n).map(|i| (i as f32 - 20.0) * 0.1).collect();
        let residual: Vec<f32> = (0..m * n).map(|i| (i as f32).sin()).collect();
        for isa in Isa::all_available() {
            let mut want = vec![0f32; m * n];
            gemm_q8(isa, &a, &w, Some(&bias), &mut want).unwrap();
            crate::cpu::activation::gelu_erf(&mut want);
            want.iter_mut().zip(&residual).for_each(|(y, r)| *y += r);
            let mut got = residual.clone();
            let ep = Epilogue {
                bias: Some(&bias),
                gelu: true,
                accumulate: true,
            };
            gemm_q8_fused(isa, &a, &w, ep, &mut got).unwrap();
            assert_eq!(got, want, "{isa:?}");
        }
    }
}

#[test]
fn quantized_gemm_approximates_the_float_product() {
    let (m, n, k) = (9, 33, 384);
    let mut r = lcg(11);
    let mut f = move || (r() % 20001) as f32 / 10000.0 - 1.0;
    let x: Vec<f32> = (0..m * k).map(|_| f()).collect();
    let wf: Vec<f32> = (0..n * k).map(|_| f()).collect();
    let a = U8Rows::quantize(&x, m, k).unwrap();
    let w = I8Rows::quantize(&wf, n, k).unwrap();
    let mut got = vec![0f32; m * n];
    gemm_q8(Isa::best(), &a, &w, None, &mut got).unwrap();
    let want = reference::gemm_f64(&x, &wf, m, n, k);
    let scale = (k as f64).sqrt() / 3.0; // typical |y| for uniform ±1 inputs
    for (g, e) in got.iter().zip(&want) {
        assert!((f64::from(*g) - e).abs() < 0.02 * scale, "{g} vs {e}");
    }
}

#[test]
fn mismatched_k_is_an_error_that_names_it() {
    let (a, _, _, _) = case(2, 3, 8, 1);
    let (_, w, _, _) = case(2, 3, 12, 1);
    let err = gemm_q8(Isa::scalar(), &a, &w, None, &mut [0.0; 6]).unwrap_err();
    assert!(err.to_string().contains("activation k"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn every_kernel_is_bit_exact_on_shapes_with_tails(
        m in 1usize..20, n in 1usize..80, k in 1usize..90, seed in any::<u64>()
    ) {
        check_all_isas(m, n, k, seed);
    }
}
