//! Parses the `fmt ` chunk into channels, rate and sample encoding.

use super::WavError;
use crate::sample_codec::SampleEncoding;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_IEEE_FLOAT: u16 = 0x0003;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
const FMT_MIN_LEN: usize = 16;
const FMT_EXTENSIBLE_MIN_LEN: usize = 40;
/// Bytes 2..16 of every KSDATAFORMAT_SUBTYPE_* GUID; bytes 0..2 hold the format tag.
const SUBFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// What the `fmt ` chunk says about the sample layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WavFormat {
    /// Interleaved channel count (> 0).
    pub(super) channels: u16,
    /// Frames per second (> 0).
    pub(super) sample_rate: u32,
    /// Storage of one sample.
    pub(super) encoding: SampleEncoding,
}

impl WavFormat {
    /// Bytes per interleaved frame.
    pub(super) fn frame_bytes(&self) -> usize {
        usize::from(self.channels) * self.encoding.bytes()
    }
}

/// Parses a `fmt ` chunk body, including WAVE_FORMAT_EXTENSIBLE with PCM or float subformats.
pub(super) fn parse_fmt(fmt: &[u8]) -> Result<WavFormat, WavError> {
    if fmt.len() < FMT_MIN_LEN {
        return Err(WavError::FmtChunkTooShort {
            required: FMT_MIN_LEN,
            len: fmt.len(),
        });
    }
    let u16_at = |at: usize| u16::from_le_bytes([fmt[at], fmt[at + 1]]);
    let declared_tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let block_align = u16_at(12);
    let bits = u16_at(14);

    let tag = if declared_tag == FORMAT_EXTENSIBLE {
        if fmt.len() < FMT_EXTENSIBLE_MIN_LEN {
            return Err(WavError::FmtChunkTooShort {
                required: FMT_EXTENSIBLE_MIN_LEN,
                len: fmt.len(),
            });
        }
        if fmt[26..40] != SUBFORMAT_GUID_TAIL {
            return Err(WavError::UnsupportedFormat {
                format: "WAVE_FORMAT_EXTENSIBLE with a non-standard subformat GUID".to_owned(),
            });
        }
        u16_at(24)
    } else {
        declared_tag
    };
    if channels == 0 {
        return Err(WavError::ChannelsZero);
    }
    if sample_rate == 0 {
        return Err(WavError::SampleRateZero);
    }
    // Samples narrower than their container (e.g. 12-bit in 16) are left-justified,
    // so decoding by container width is exact.
    // In u32: a hostile bits_per_sample near 65535 must not overflow (found by tests/fuzz.rs).
    let container_bits = u32::from(bits).div_ceil(8) * 8;
    let encoding = match (tag, container_bits) {
        (FORMAT_PCM, 8) => SampleEncoding::U8,
        (FORMAT_PCM, 16) => SampleEncoding::I16,
        (FORMAT_PCM, 24) => SampleEncoding::I24,
        (FORMAT_PCM, 32) => SampleEncoding::I32,
        (FORMAT_IEEE_FLOAT, 32) => SampleEncoding::F32,
        (FORMAT_IEEE_FLOAT, 64) => SampleEncoding::F64,
        _ => {
            return Err(WavError::UnsupportedFormat {
                format: format!("{} {bits}-bit", format_name(tag)),
            });
        }
    };
    let sample_bytes = u16::try_from(container_bits / 8).expect("at most 8 after the match");
    // block_align 0 is a common writer bug; anything else must agree with the layout.
    if block_align != 0 && u32::from(block_align) != u32::from(channels) * u32::from(sample_bytes) {
        return Err(WavError::BlockAlignMismatch {
            block_align,
            channels,
            sample_bytes,
            bits,
        });
    }
    Ok(WavFormat {
        channels,
        sample_rate,
        encoding,
    })
}

fn format_name(tag: u16) -> String {
    match tag {
        FORMAT_PCM => "PCM integer".to_owned(),
        FORMAT_IEEE_FLOAT => "IEEE float".to_owned(),
        0x0002 => "Microsoft ADPCM (0x0002)".to_owned(),
        0x0006 => "A-law (0x0006)".to_owned(),
        0x0007 => "mu-law (0x0007)".to_owned(),
        0x0011 => "IMA ADPCM (0x0011)".to_owned(),
        0x0055 => "MPEG layer 3 (0x0055)".to_owned(),
        other => format!("format tag 0x{other:04X}"),
    }
}
