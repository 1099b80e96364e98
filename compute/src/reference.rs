//! Slow, plain references for every op (scalar, f64 or exact i32), used by the kernel tests and
//! by [`crate::conformance`]. They favour obviousness over speed and use no kernel code.

/// Exact `Σ_k (a[m][k] − 128) · q[n][k]` with `a` `m × k` (u8, shifted) and `q` `n × k` (i8).
pub fn gemm_u8i8_i32(a: &[u8], q: &[i8], m: usize, n: usize, k: usize) -> Vec<i32> {
    let mut out = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0i64;
            for c in 0..k {
                acc += (i64::from(a[i * k + c]) - 128) * i64::from(q[j * k + c]);
            }
            out[i * n + j] = i32::try_from(acc).expect("reference accumulator fits i32");
        }
    }
    out
}

/// `a_scale[m] · w_scale[n] · acc[m][n] + bias[n]` in f64.
pub fn dequantize_acc(
    acc: &[i32],
    a_scales: &[f32],
    w_scales: &[f32],
    bias: Option<&[f32]>,
    m: usize,
    n: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let b = bias.map_or(0.0, |b| f64::from(b[j]));
            out[i * n + j] =
                f64::from(acc[i * n + j]) * f64::from(a_scales[i]) * f64::from(w_scales[j]) + b;
        }
    }
    out
}

/// `x · wᵀ` in f64: `x` is `m × k`, `w` is `n × k`, the result `m × n`.
pub fn gemm_f64(x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|c| f64::from(x[i * k + c]) * f64::from(w[j * k + c]))
                .sum();
        }
    }
    out
}

/// LayerNorm of each row of `x` (`rows × d`) in f64: `(x − mean) / sqrt(var + eps) · gamma + beta`.
pub fn layer_norm_f64(x: &[f32], d: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / d as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for (i, &v) in row.iter().enumerate() {
            out.push((f64::from(v) - mean) * inv * f64::from(gamma[i]) + f64::from(beta[i]));
        }
    }
    out
}

/// Softmax of each row of `x` (`rows × d`) in f64.
pub fn softmax_f64(x: &[f32], d: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - max).exp()).collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    out
}

/// erf in f64 to ~1e-15: the Maclaurin series below 3, the erfc continued fraction above.
pub fn erf_f64(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 3.0 {
        // erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
        let mut term = ax; // (−1)ⁿ x^(2n+1) / n!
        let mut sum = ax;
        for n in 1..200 {
            term *= -ax * ax / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc x = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated
        // from the tail.
        let mut f = ax;
        for n in (1..60).rev() {
            f = ax + (n as f64 / 2.0) / f;
        }
        1.0 - (-ax * ax).exp() / (std::f64::consts::PI.sqrt() * f)
    };
    r.copysign(x)
}

/// Exact GELU in f64: `x/2 · (1 + erf(x/√2))`.
pub fn gelu_f64(x: f64) -> f64 {
    0.5 * x * (1.0 + erf_f64(x / std::f64::consts::SQRT_2))
}

/// Attention of one head in f64: `softmax(scale · q·kᵀ) · v` with `q` `tq × d`, `k` and `v`
/// `tk × d` (all row-major, contiguous); the result is `tq × d`.
pub fn attention_f64(q: &[f64], k: &[f64], v: &[f64], d: usize, scale: f64) -> Vec<f64> {
    let tk = k.len() / d;
    let mut out = Vec::with_capacity(q.len());
    for qr in q.chunks_exact(d) {
        let s: Vec<f64> = k
            .chunks_exact(d)
            .map(|kr| scale * qr.iter().zip(kr).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let max = s.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        for c in 0..d {
            out.push((0..tk).map(|t| e[t] * v[t * d + c]).sum::<f64>() / sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_erf_matches_published_values() {
        // Abramowitz & Stegun table 7.1 / known values.
        for (x, want) in [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
            (-1.0, -0.842_700_792_949_714_9),
        ] {
            assert!(
                (erf_f64(x) - want).abs() < 1e-15,
                "erf({x}) = {}",
                erf_f64(x)
            );
        }
        assert!((1.0 - erf_f64(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-15);
        // The two branches meet at 3.
        assert!((erf_f64(2.999_999_999) - erf_f64(3.0)).abs() < 1e-12);
    }
}
