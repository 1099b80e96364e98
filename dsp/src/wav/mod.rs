//! RIFF/WAVE decoding into [`Audio`], and a 16-bit WAV writer ([`encode_wav_i16`]).
//!
//! Supports PCM 8-bit unsigned, 16/24/32-bit signed integer, 32/64-bit IEEE float, and
//! WAVE_FORMAT_EXTENSIBLE with PCM or float subformats, at any rate and channel count.

mod encode;
mod error;
mod format;
mod riff;

pub use encode::{WavEncodeError, encode_wav_i16};
pub use error::WavError;

use crate::Audio;
use crate::sample_codec::decode_samples;

/// Decodes a complete WAV file held in memory.
///
/// Unknown chunks (LIST, fact, ...) are skipped. A data chunk whose size is 0 or
/// 0xFFFFFFFF (placeholders left by streaming writers) is read to the end of the input,
/// so anything after it is taken as samples. A trailing
/// partial frame in the data chunk is dropped. Float samples must be finite.
pub fn decode_wav(bytes: &[u8]) -> Result<Audio, WavError> {
    let chunks = riff::find_wave_chunks(bytes)?;
    let fmt = chunks.fmt.ok_or(WavError::MissingFmtChunk)?;
    let format = format::parse_fmt(fmt)?;
    let data = chunks.data.ok_or(WavError::MissingDataChunk)?;
    let whole_frames_len = data.len() - data.len() % format.frame_bytes();
    let samples = decode_samples(
        &data[..whole_frames_len],
        format.encoding,
        usize::from(format.channels),
    )
    .map_err(|bad| WavError::NonFiniteSample {
        frame: bad.frame,
        value: bad.value,
    })?;
    Ok(Audio {
        sample_rate: format.sample_rate,
        channels: format.channels,
        samples,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PCM: u16 = 1;
    const FLOAT: u16 = 3;

    fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let block_align = channels * bits.div_ceil(8);
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt
    }

    fn extensible_fmt_body(sub_tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let mut fmt = fmt_body(0xFFFE, channels, rate, bits);
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&0u32.to_le_bytes());
        fmt.extend_from_slice(&sub_tag.to_le_bytes());
        fmt.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
        fmt
    }

    /// A RIFF/WAVE file made of `chunks`, with pad bytes and the RIFF size filled in.
    pub(crate) fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        for (id, body) in chunks {
            out.extend_from_slice(*id);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
            if body.len() % 2 == 1 {
                out.push(0);
            }
        }
        let riff_size = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff_size.to_le_bytes());
        out
    }

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        riff(&[
            (b"fmt ", &fmt_body(tag, channels, rate, bits)),
            (b"data", data),
        ])
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn pcm16_stereo_decodes_interleaved() {
        let data: Vec<u8> = [0i16, 16_384, -32_768, 32_767]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let audio = decode_wav(&wav(PCM, 2, 44_100, 16, &data)).unwrap();
        assert_eq!(audio.sample_rate, 44_100);
        assert_eq!(audio.channels, 2);
        assert_eq!(audio.samples, vec![0.0, 0.5, -1.0, 32_767.0 / 32_768.0]);
        assert_eq!(audio.frames(), 2);
    }

    #[test]
    fn a_hostile_bits_per_sample_is_an_unsupported_format_not_an_overflow() {
        // Found by tests/fuzz.rs (corpus file wav/bits-per-sample-65535.bin).
        let mut fmt = fmt_body(PCM, 1, 16_000, 16);
        fmt[14..16].copy_from_slice(&u16::MAX.to_le_bytes());
        let bytes = riff(&[(b"fmt ", &fmt), (b"data", &[0, 0])]);
        let err = decode_wav(&bytes).unwrap_err();
        assert!(matches!(err, WavError::UnsupportedFormat { .. }), "{err}");
        assert!(err.to_string().contains("65535-bit"), "{err}");
    }

    #[test]
    fn pcm8_is_unsigned() {
        let audio = decode_wav(&wav(PCM, 1, 8_000, 8, &[128, 0, 192])).unwrap();
        assert_eq!(audio.samples, vec![0.0, -1.0, 0.5]);
    }

    #[test]
    fn pcm24_and_pcm32_decode() {
        let audio = decode_wav(&wav(PCM, 1, 48_000, 24, &[0, 0, 0x40, 0, 0, 0xC0])).unwrap();
        assert_eq!(audio.samples, vec![0.5, -0.5]);
        let audio = decode_wav(&wav(PCM, 1, 48_000, 32, &[0, 0, 0, 0x40])).unwrap();
        assert_eq!(audio.samples, vec![0.5]);
    }

    #[test]
    fn float32_and_float64_decode() {
        let audio = decode_wav(&wav(FLOAT, 1, 16_000, 32, &f32_bytes(&[0.25, -1.5]))).unwrap();
        assert_eq!(audio.samples, vec![0.25, -1.5]);
        let data: Vec<u8> = [0.125f64, -0.75]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let audio = decode_wav(&wav(FLOAT, 1, 16_000, 64, &data)).unwrap();
        assert_eq!(audio.samples, vec![0.125, -0.75]);
    }

    #[test]
    fn extensible_pcm_and_float_subformats_decode() {
        let fmt = extensible_fmt_body(PCM, 1, 96_000, 24);
        let audio = decode_wav(&riff(&[(b"fmt ", &fmt), (b"data", &[0, 0, 0x40])])).unwrap();
        assert_eq!((audio.sample_rate, audio.samples), (96_000, vec![0.5]));
        let fmt = extensible_fmt_body(FLOAT, 2, 48_000, 32);
        let data = f32_bytes(&[0.5, -0.5]);
        let audio = decode_wav(&riff(&[(b"fmt ", &fmt), (b"data", &data)])).unwrap();
        assert_eq!((audio.channels, audio.samples), (2, vec![0.5, -0.5]));
    }

    #[test]
    fn list_chunks_and_odd_padding_are_skipped() {
        let fmt = fmt_body(PCM, 1, 8_000, 8);
        let bytes = riff(&[
            (b"LIST", b"odd"),
            (b"fmt ", &fmt),
            (b"junk", b"x"),
            (b"data", &[255, 1, 128]),
        ]);
        let audio = decode_wav(&bytes).unwrap();
        assert_eq!(audio.samples.len(), 3);
        assert_eq!(audio.samples[2], 0.0);
    }

    #[test]
    fn trailing_partial_frame_is_dropped() {
        let audio = decode_wav(&wav(PCM, 2, 8_000, 16, &[0, 0, 0, 0, 1, 2, 3])).unwrap();
        assert_eq!(audio.frames(), 1);
    }

    #[test]
    fn empty_input_is_rejected() {
        assert_eq!(decode_wav(&[]).unwrap_err(), WavError::Empty);
    }

    #[test]
    fn non_riff_input_is_rejected() {
        let error = decode_wav(b"ID3\x04 this is an mp3").unwrap_err();
        assert!(matches!(error, WavError::NotRiffWave { .. }), "{error}");
        assert!(error.to_string().starts_with("not a RIFF/WAVE file"));
        assert!(matches!(
            decode_wav(b"RIFF").unwrap_err(),
            WavError::NotRiffWave { .. }
        ));
    }

    #[test]
    fn missing_fmt_chunk_is_rejected() {
        let bytes = riff(&[(b"data", &[0, 0])]);
        assert_eq!(decode_wav(&bytes).unwrap_err(), WavError::MissingFmtChunk);
    }

    #[test]
    fn missing_data_chunk_is_rejected() {
        let bytes = riff(&[(b"fmt ", &fmt_body(PCM, 1, 8_000, 16))]);
        assert_eq!(decode_wav(&bytes).unwrap_err(), WavError::MissingDataChunk);
    }

    #[test]
    fn truncated_data_chunk_names_declared_and_present_sizes() {
        let mut bytes = wav(PCM, 1, 8_000, 16, &[0; 100]);
        bytes.truncate(bytes.len() - 60);
        let error = decode_wav(&bytes).unwrap_err();
        assert_eq!(
            error,
            WavError::TruncatedChunk {
                chunk: "data",
                declared: 100,
                available: 40
            }
        );
        assert_eq!(
            error.to_string(),
            "data chunk declares 100 bytes but only 40 are present"
        );
    }

    #[test]
    fn streaming_data_sizes_read_to_the_end() {
        for streaming_size in [0u32, u32::MAX] {
            let mut bytes = wav(PCM, 1, 8_000, 16, &[0, 0x40, 0, 0xC0]);
            let size_at = bytes.len() - 8;
            bytes[size_at..size_at + 4].copy_from_slice(&streaming_size.to_le_bytes());
            let audio = decode_wav(&bytes).unwrap();
            assert_eq!(
                audio.samples,
                vec![0.5, -0.5],
                "data size {streaming_size:#x}"
            );
        }
    }

    #[test]
    fn zero_sample_rate_is_rejected() {
        let error = decode_wav(&wav(PCM, 1, 0, 16, &[0, 0])).unwrap_err();
        assert_eq!(error.to_string(), "sample_rate must be > 0, got 0");
    }

    #[test]
    fn zero_channels_is_rejected() {
        let error = decode_wav(&wav(PCM, 0, 8_000, 16, &[0, 0])).unwrap_err();
        assert_eq!(error.to_string(), "channels must be > 0, got 0");
    }

    #[test]
    fn unsupported_formats_are_named() {
        let error = decode_wav(&wav(6, 1, 8_000, 8, &[0])).unwrap_err();
        assert!(
            error.to_string().contains("A-law (0x0006) 8-bit"),
            "{error}"
        );
        let error = decode_wav(&wav(FLOAT, 1, 8_000, 16, &[0, 0])).unwrap_err();
        assert!(error.to_string().contains("IEEE float 16-bit"), "{error}");
        let error = decode_wav(&wav(PCM, 1, 8_000, 48, &[0; 6])).unwrap_err();
        assert!(error.to_string().contains("PCM integer 48-bit"), "{error}");
    }

    #[test]
    fn short_fmt_chunk_is_rejected() {
        let bytes = riff(&[(b"fmt ", &[1, 0, 1, 0]), (b"data", &[0, 0])]);
        let error = decode_wav(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "fmt chunk must be at least 16 bytes for this format, got 4"
        );
    }

    #[test]
    fn inconsistent_block_align_is_rejected() {
        let mut fmt = fmt_body(PCM, 2, 8_000, 16);
        fmt[12..14].copy_from_slice(&3u16.to_le_bytes());
        let error = decode_wav(&riff(&[(b"fmt ", &fmt), (b"data", &[0; 4])])).unwrap_err();
        assert!(
            matches!(error, WavError::BlockAlignMismatch { block_align: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn nan_sample_is_rejected_with_its_frame() {
        let mut values = vec![0.0f32; 123 * 2];
        values.extend_from_slice(&[0.0, f32::NAN]);
        let error = decode_wav(&wav(FLOAT, 2, 16_000, 32, &f32_bytes(&values))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sample at frame 123 is NaN; WAV data must be finite"
        );
    }

    #[test]
    fn infinite_sample_is_rejected() {
        let error = decode_wav(&wav(
            FLOAT,
            1,
            16_000,
            32,
            &f32_bytes(&[0.0, f32::NEG_INFINITY]),
        ))
        .unwrap_err();
        assert_eq!(
            error,
            WavError::NonFiniteSample {
                frame: 1,
                value: "-inf"
            }
        );
    }
}
