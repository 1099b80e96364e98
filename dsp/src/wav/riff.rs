//! Walks the RIFF chunk list of a WAVE file and finds the `fmt ` and `data` bodies.

use super::WavError;

/// Data chunk sizes that streaming writers leave when they cannot seek back to patch the header.
const STREAMING_DATA_SIZES: [u32; 2] = [0, u32::MAX];

/// The chunk bodies `decode_wav` needs; either may be missing.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct WaveChunks<'a> {
    /// Body of the first `fmt ` chunk.
    pub(super) fmt: Option<&'a [u8]>,
    /// Body of the first `data` chunk.
    pub(super) data: Option<&'a [u8]>,
}

/// Validates the RIFF/WAVE header and collects the first `fmt ` and `data` chunks.
///
/// The RIFF size field is ignored (writers often get it wrong); chunks are walked to the
/// end of the input, odd-sized chunks skip their pad byte, and unknown chunks are skipped.
/// A non-essential chunk that runs past the end ends the walk quietly (trailing junk).
pub(super) fn find_wave_chunks(bytes: &[u8]) -> Result<WaveChunks<'_>, WavError> {
    if bytes.is_empty() {
        return Err(WavError::Empty);
    }
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotRiffWave {
            found: escape_ascii(&bytes[..bytes.len().min(12)]),
        });
    }
    let mut chunks = WaveChunks::default();
    let mut pos = 12;
    while bytes.len() - pos >= 8 {
        let id = &bytes[pos..pos + 4];
        let declared = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        let size = usize::try_from(declared).unwrap_or(usize::MAX);
        match id {
            b"data" if chunks.data.is_none() => {
                // A streaming writer's placeholder size: the samples run to the end of input.
                if STREAMING_DATA_SIZES.contains(&declared) && available > 0 {
                    chunks.data = Some(&bytes[body_start..]);
                    break;
                } else if size <= available {
                    chunks.data = Some(&bytes[body_start..body_start + size]);
                } else {
                    return Err(WavError::TruncatedChunk {
                        chunk: "data",
                        declared,
                        available,
                    });
                }
            }
            b"fmt " if chunks.fmt.is_none() => {
                if size > available {
                    return Err(WavError::TruncatedChunk {
                        chunk: "fmt",
                        declared,
                        available,
                    });
                }
                chunks.fmt = Some(&bytes[body_start..body_start + size]);
            }
            _ if size > available => break,
            _ => {}
        }
        // Chunks are word-aligned: an odd-sized body is followed by one pad byte.
        let padded = size + (size & 1);
        pos = body_start.saturating_add(padded).min(bytes.len());
    }
    Ok(chunks)
}

fn escape_ascii(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::tests::riff;

    #[test]
    fn odd_sized_unknown_chunks_are_skipped_with_their_pad_byte() {
        let bytes = riff(&[
            (b"LIST", b"abc"),
            (b"fmt ", b"0123456789abcdef"),
            (b"data", b"xy"),
        ]);
        let chunks = find_wave_chunks(&bytes).unwrap();
        assert_eq!(chunks.fmt, Some(&b"0123456789abcdef"[..]));
        assert_eq!(chunks.data, Some(&b"xy"[..]));
    }

    #[test]
    fn fmt_after_data_is_still_found() {
        let bytes = riff(&[(b"data", b"xyz"), (b"fmt ", b"0123456789abcdef")]);
        let chunks = find_wave_chunks(&bytes).unwrap();
        assert_eq!(chunks.data, Some(&b"xyz"[..]));
        assert!(chunks.fmt.is_some());
    }

    #[test]
    fn truncated_trailing_unknown_chunk_is_ignored() {
        let mut bytes = riff(&[(b"fmt ", b"0123456789abcdef"), (b"data", b"xy")]);
        bytes.extend_from_slice(b"id3 \xff\x00\x00\x00abc");
        assert_eq!(find_wave_chunks(&bytes).unwrap().data, Some(&b"xy"[..]));
    }

    #[test]
    fn header_bytes_are_escaped_in_the_error() {
        let error = find_wave_chunks(b"RF64\xff\xff\xff\xffWAVE").unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a RIFF/WAVE file: expected \"RIFF\" at byte 0 and \"WAVE\" at byte 8, found \"RF64\\xff\\xff\\xff\\xffWAVE\""
        );
    }
}
