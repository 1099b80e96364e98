//! Finiteness checks shared by the decoders.

/// Names a non-finite (or `f32`-overflowing) sample for error messages, or `None` if it is usable.
pub(crate) fn non_finite_name(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value == f64::INFINITY {
        Some("+inf")
    } else if value == f64::NEG_INFINITY {
        Some("-inf")
    } else if value.abs() > f64::from(f32::MAX) {
        Some("outside the f32 range")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_values_have_no_name() {
        assert_eq!(non_finite_name(0.5), None);
        assert_eq!(non_finite_name(f64::from(f32::MAX)), None);
    }

    #[test]
    fn non_finite_values_are_named() {
        assert_eq!(non_finite_name(f64::NAN), Some("NaN"));
        assert_eq!(non_finite_name(f64::INFINITY), Some("+inf"));
        assert_eq!(non_finite_name(f64::NEG_INFINITY), Some("-inf"));
        assert_eq!(non_finite_name(1e300), Some("outside the f32 range"));
    }
}
