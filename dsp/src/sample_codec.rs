//! Little-endian sample decoding shared by the WAV and raw PCM decoders.

use crate::finite::non_finite_name;

/// How one sample is stored in the byte stream (always little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SampleEncoding {
    /// 8-bit unsigned integer, 128 is zero.
    U8,
    /// 16-bit signed integer.
    I16,
    /// 24-bit signed integer packed in 3 bytes.
    I24,
    /// 32-bit signed integer.
    I32,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl SampleEncoding {
    /// Bytes one sample occupies.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// The first sample that cannot become a finite `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonFiniteSample {
    /// Frame index (sample index / channels) of the offending sample.
    pub(crate) frame: usize,
    /// What the sample was ("NaN", "+inf", ...).
    pub(crate) value: &'static str,
}

/// Decodes `bytes` (a whole number of samples) into `f32` in `[-1, 1]` for integer encodings.
///
/// Float samples are passed through unscaled but must be finite and fit `f32`.
pub(crate) fn decode_samples(
    bytes: &[u8],
    encoding: SampleEncoding,
    channels: usize,
) -> Result<Vec<f32>, NonFiniteSample> {
    let width = encoding.bytes();
    let mut samples = Vec::with_capacity(bytes.len() / width);
    for (index, raw) in bytes.chunks_exact(width).enumerate() {
        let value = match encoding {
            SampleEncoding::U8 => (f32::from(raw[0]) - 128.0) / 128.0,
            SampleEncoding::I16 => f32::from(i16::from_le_bytes([raw[0], raw[1]])) / 32_768.0,
            SampleEncoding::I24 => {
                // Place the 24 bits at the top of an i32, then shift back to sign-extend.
                let wide = i32::from_le_bytes([0, raw[0], raw[1], raw[2]]) >> 8;
                (f64::from(wide) / 8_388_608.0) as f32
            }
            SampleEncoding::I32 => {
                let wide = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                (f64::from(wide) / 2_147_483_648.0) as f32
            }
            SampleEncoding::F32 => {
                let value = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                check_finite(f64::from(value), index, channels)?;
                value
            }
            SampleEncoding::F64 => {
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                let value = f64::from_le_bytes(le);
                check_finite(value, index, channels)?;
                value as f32
            }
        };
        samples.push(value);
    }
    Ok(samples)
}

fn check_finite(value: f64, index: usize, channels: usize) -> Result<(), NonFiniteSample> {
    match non_finite_name(value) {
        None => Ok(()),
        Some(name) => Err(NonFiniteSample {
            frame: index / channels.max(1),
            value: name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_encodings_scale_to_unit_range() {
        let u8s = decode_samples(&[0, 128, 255], SampleEncoding::U8, 1).unwrap();
        assert_eq!(u8s, vec![-1.0, 0.0, 127.0 / 128.0]);
        let i16s = decode_samples(&[0x00, 0x80, 0xff, 0x7f], SampleEncoding::I16, 1).unwrap();
        assert_eq!(i16s, vec![-1.0, 32_767.0 / 32_768.0]);
        let i24s = decode_samples(
            &[0x00, 0x00, 0x80, 0x00, 0x00, 0x40],
            SampleEncoding::I24,
            1,
        );
        assert_eq!(i24s.unwrap(), vec![-1.0, 0.5]);
        let i32s = decode_samples(&[0, 0, 0, 0x80, 0, 0, 0, 0xc0], SampleEncoding::I32, 1);
        assert_eq!(i32s.unwrap(), vec![-1.0, -0.5]);
    }

    #[test]
    fn float_encodings_pass_through() {
        let mut bytes = 0.25f32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(
            decode_samples(&bytes, SampleEncoding::F32, 1).unwrap(),
            vec![0.25, -2.0]
        );
        let bytes = (-0.125f64).to_le_bytes();
        assert_eq!(
            decode_samples(&bytes, SampleEncoding::F64, 1).unwrap(),
            vec![-0.125]
        );
    }

    #[test]
    fn non_finite_floats_report_their_frame() {
        let mut bytes = Vec::new();
        for value in [0.0f32, 0.0, 0.0, f32::NAN] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        let error = decode_samples(&bytes, SampleEncoding::F32, 2).unwrap_err();
        assert_eq!(
            error,
            NonFiniteSample {
                frame: 1,
                value: "NaN"
            }
        );
    }

    #[test]
    fn f64_beyond_f32_range_is_rejected() {
        let error = decode_samples(&1e300f64.to_le_bytes(), SampleEncoding::F64, 1).unwrap_err();
        assert_eq!(error.value, "outside the f32 range");
    }
}
