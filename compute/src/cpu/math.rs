//! Scalar f32 `exp` and `erf` written so that loops over slices auto-vectorize (no libm calls,
//! selects instead of branches). Coefficients: `compute/scripts/fit_erf.py`.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2⁹ (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds an f32 below 2²² to the nearest integer.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` with a relative error below 3e-7 for x in [−87, 88]; 0 below −87, +inf above 88.7.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let xc = x.clamp(-87.0, 88.5);
    let shifted = xc * LOG2E + ROUND_MAGIC; // bits: 0x4B40_0000 + n
    let n = shifted - ROUND_MAGIC;
    let r = (xc - n * LN2_HI) - n * LN2_LO; // |r| <= ln2/2
    // Taylor series of e^r to r⁷ (truncation < 5e-9 on |r| <= 0.347).
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2ⁿ from the integer in the low mantissa bits (no float-to-int conversion: vectorizes).
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    let y = p * scale;
    if x < -87.0 {
        0.0
    } else if x > 88.5 {
        f32::INFINITY
    } else {
        y
    }
}

/// `erf(x) / x` on |x| <= 1 as a polynomial in `t = x²` (max error 3e-11 in exact arithmetic).
const P: [f32; 8] = [
    std::f32::consts::FRAC_2_SQRT_PI,
    -0.376_126_38,
    0.112_837_82,
    -0.026_865_43,
    0.005_221_032,
    -0.000_848_408,
    0.000_112_659_59,
    -9.667_044e-6,
];

/// `erfc(x) · e^(x²)` on 1 <= x <= 4 as a polynomial in `u = (x − 2.5) / 1.5` (max error 7e-10).
const Q: [f32; 13] = [
    0.210_806_36,
    -0.111_521,
    0.056_110_49,
    -0.027_005_717,
    0.012_489_52,
    -0.005_567_38,
    0.002_402_487_4,
    -0.001_017_009,
    0.000_412_986_92,
    -0.000_144_057_79,
    5.630_357_7e-5,
    -3.688_891e-5,
    1.336_583_6e-5,
];

#[inline(always)]
fn horner<const N: usize>(c: &[f32; N], x: f32) -> f32 {
    c[..N - 1]
        .iter()
        .rev()
        .fold(c[N - 1], |acc, &v| acc * x + v)
}

/// `erfc(|x|)` for `|x| > 1` (0 from 4 on, where erfc < 1.6e-8).
#[inline(always)]
fn erfc_tail(ax: f32) -> f32 {
    let u = (ax.min(4.0) - 2.5) * (1.0 / 1.5);
    let tail = exp_f32(-ax * ax) * horner(&Q, u);
    if ax >= 4.0 { 0.0 } else { tail }
}

/// erf with an absolute error below 2e-7 everywhere.
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let ax = x.abs();
    let small = x * horner(&P, x * x);
    let big = (1.0 - erfc_tail(ax)).copysign(x);
    if ax <= 1.0 { small } else { big }
}

/// `1 + erf(x)`, without the cancellation of `1 + erf` for negative x (it is `erfc(|x|)` there).
#[inline(always)]
pub fn one_plus_erf(x: f32) -> f32 {
    let ax = x.abs();
    let small = 1.0 + x * horner(&P, x * x);
    let tail = erfc_tail(ax);
    let big = if x > 0.0 { 2.0 - tail } else { tail };
    if ax <= 1.0 { small } else { big }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::erf_f64;

    #[test]
    fn exp_is_within_three_ulps_of_f64() {
        let mut worst = 0.0f64;
        for i in -87_000..88_000 {
            let x = i as f32 * 1e-3 + 0.000_37;
            let want = f64::from(x).exp();
            worst = worst.max((f64::from(exp_f32(x)) - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
    }

    #[test]
    fn erf_is_within_2e7_of_f64_everywhere() {
        let mut worst = 0.0f64;
        for i in -7_000..=7_000 {
            let x = i as f32 * 1e-3 + 0.000_13;
            let want = erf_f64(f64::from(x));
            worst = worst.max((f64::from(erf_f32(x)) - want).abs());
            let want1 = 1.0 + want;
            let got1 = f64::from(one_plus_erf(x));
            // Below −1 it is erfc(|x|): relative accuracy (x² rounds by 6e-8 relative, which
            // e^(−x²) turns into up to 1e-6 at |x| = 4); elsewhere absolute.
            let tol = if x <= -4.0 {
                1.6e-8
            } else if x < -1.0 {
                2e-6 * want1
            } else {
                2e-7
            };
            assert!(
                (got1 - want1).abs() <= tol,
                "1+erf({x}) = {got1}, want {want1}"
            );
        }
        assert!(worst < 2e-7, "worst absolute error {worst:e}");
        assert_eq!(erf_f32(0.0), 0.0);
        assert_eq!(erf_f32(10.0), 1.0);
        assert_eq!(erf_f32(-10.0), -1.0);
    }
}
