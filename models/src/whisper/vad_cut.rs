//! Long audio cut at speech before it is transcribed (`perceptd transcribe --vad`), as the
//! daemon hears it: the Silero VAD scores each 32 ms chunk, the daemon's [`Endpointer`] turns the
//! scores into speech ranges, and neighbouring ranges are put end to end into pieces of at most
//! one window. Whisper then never decodes a long silence or a window's short tail, where it
//! repeats earlier sentences; the silence between pieces is simply not transcribed. Timestamps
//! are mapped back to the file's time line.

use std::ops::Range;

use percept_dsp::whisper_mel::SAMPLE_RATE;

use super::error::WhisperError;
use super::transcribe::{TranscribeOptions, Transcriber, Transcript};
use crate::vad::{CHUNK_SAMPLES, EndpointConfig, Endpointer, VadError, VadEvent, VadSession};

/// How far a timestamp may lie on the wrong side of a seam between two ranges of a piece.
pub const SEAM_TOLERANCE_SECS: f32 = 0.4;

/// The endpointer for files: the daemon's defaults, with utterances up to `max_ms` long.
pub fn file_endpoint_config(max_ms: u32) -> EndpointConfig {
    EndpointConfig {
        max_utterance_ms: max_ms,
        ..EndpointConfig::default()
    }
}

/// The speech ranges of `samples` (16 kHz mono, finite), in order and not overlapping, padding
/// included: each 512-sample chunk's speech probability from `vad` through `endpointer` (a
/// short last chunk is padded with zeros).
pub fn speech_ranges(
    vad: &mut VadSession,
    endpointer: &mut Endpointer,
    samples: &[f32],
) -> Result<Vec<Range<usize>>, VadError> {
    let mut ranges = Vec::new();
    let mut take = |events: Vec<VadEvent>| {
        for e in events {
            if let VadEvent::End {
                start_sample,
                end_sample,
                ..
            } = e
            {
                let end = (end_sample as usize).min(samples.len());
                if (start_sample as usize) < end {
                    ranges.push(start_sample as usize..end);
                }
            }
        }
    };
    let mut chunk = [0.0f32; CHUNK_SAMPLES];
    for block in samples.chunks(CHUNK_SAMPLES) {
        chunk[..block.len()].copy_from_slice(block);
        chunk[block.len()..].fill(0.0);
        let p = vad.process_chunk(&chunk)?;
        take(endpointer.push(p));
    }
    take(endpointer.finish());
    Ok(ranges)
}

/// Audio made of speech ranges put end to end, and where each part came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The samples of the ranges, one after the other.
    pub audio: Vec<f32>,
    /// `(offset in audio, offset in the file, length)` of each range, in order.
    parts: Vec<(usize, usize, usize)>,
}

impl Piece {
    /// Where a time in the piece (seconds) lies in the file. Whisper's timestamps near a seam
    /// of two ranges (each holds 200 ms of padding there) are a few hundred ms off either way,
    /// and across a seam the file's time jumps by the gap left out: an end up to
    /// [`SEAM_TOLERANCE_SECS`] into the later range belongs to the earlier one, a start as
    /// close before the seam to the later one.
    pub fn file_secs(&self, secs: f32, is_end: bool) -> f32 {
        let rate = SAMPLE_RATE as f32;
        let at = (secs.max(0.0) * rate).round() as usize;
        let tolerance = (SEAM_TOLERANCE_SECS * rate) as usize;
        let part = if is_end {
            self.parts
                .iter()
                .find(|&&(offset, _, len)| at <= offset + len + tolerance)
        } else {
            self.parts
                .iter()
                .find(|&&(offset, _, len)| at + tolerance < offset + len)
        };
        match part.or(self.parts.last()) {
            Some(&(offset, file, len)) => (file + at.saturating_sub(offset).min(len)) as f32 / rate,
            None => secs,
        }
    }

    /// The file's samples this piece covers, first to last.
    pub fn file_span(&self) -> Range<usize> {
        let start = self.parts.first().map_or(0, |p| p.1);
        let end = self.parts.last().map_or(0, |p| p.1 + p.2);
        start..end
    }
}

/// Puts neighbouring `ranges` of `samples` end to end into pieces of at most `max_samples`; a
/// range longer than that is a piece of its own (the transcriber windows it).
pub fn pieces(samples: &[f32], ranges: &[Range<usize>], max_samples: usize) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for r in ranges {
        let r = r.start.min(samples.len())..r.end.min(samples.len());
        if r.is_empty() {
            continue;
        }
        let fits = out
            .last()
            .is_some_and(|p| p.audio.len() + r.len() <= max_samples);
        if !fits {
            out.push(Piece {
                audio: Vec::new(),
                parts: Vec::new(),
            });
        }
        let piece = out.last_mut().expect("a piece was just pushed");
        piece.parts.push((piece.audio.len(), r.start, r.len()));
        piece.audio.extend_from_slice(&samples[r]);
    }
    out
}

/// Transcribes each piece on its own and joins their segments on the file's time line
/// (`file_secs` long). With `condition_on_previous_text`, each piece is prompted with the text
/// of the pieces before it, as the reference prompts each window; a multilingual model detects
/// the language on the first piece and keeps it.
pub fn transcribe_pieces(
    transcriber: &Transcriber,
    pieces: &[Piece],
    file_secs: f32,
    options: &TranscribeOptions,
) -> Result<Transcript, WhisperError> {
    let eot = transcriber.model().tokenizer().specials().eot;
    let prompt_room = transcriber.model().config().n_text_ctx / 2;
    let mut options = options.clone();
    let mut joined = Transcript {
        language: options.language.clone(),
        segments: Vec::new(),
        duration_secs: file_secs,
        suppressed: Vec::new(),
    };
    for piece in pieces {
        let t = transcriber.transcribe(&piece.audio, &options)?;
        if options.language.is_none() {
            options.language.clone_from(&t.language);
            joined.language.clone_from(&t.language);
        }
        if options.condition_on_previous_text {
            options.initial_prompt.extend(
                t.segments
                    .iter()
                    .flat_map(|s| s.tokens.iter().copied().filter(|&k| k < eot)),
            );
            // The decoder keeps at most the last half of its text context of a prompt.
            let excess = options.initial_prompt.len().saturating_sub(prompt_room);
            options.initial_prompt.drain(..excess);
        }
        for mut s in t.segments {
            s.start = piece.file_secs(s.start, false);
            s.end = piece.file_secs(s.end, true).max(s.start);
            joined.segments.push(s);
        }
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_ranges_share_a_piece_up_to_the_limit() {
        let samples: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let ranges = [0..100, 200..350, 400..500, 600..1000];
        let p = pieces(&samples, &ranges, 300);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].audio.len(), 250);
        assert_eq!(p[0].audio[100], 200.0);
        assert_eq!(p[1].audio.len(), 100);
        // Longer than the limit: alone.
        assert_eq!(p[2].audio.len(), 400);
        assert_eq!(p[0].file_span(), 0..350);
    }

    #[test]
    fn piece_times_map_back_to_the_file() {
        let samples = vec![0.0; 10 * 16_000];
        // 1-2 s and 5-7 s of the file.
        let p = &pieces(&samples, &[16_000..32_000, 80_000..112_000], 160_000)[0];
        assert_eq!(p.audio.len(), 48_000);
        assert_eq!(p.file_secs(0.0, false), 1.0);
        assert_eq!(p.file_secs(0.5, false), 1.5);
        // The seam: a start is in the second range, an end in the first, also a little off.
        assert_eq!(p.file_secs(1.0, false), 5.0);
        assert_eq!(p.file_secs(0.75, false), 5.0);
        assert_eq!(p.file_secs(1.0, true), 2.0);
        assert_eq!(p.file_secs(1.25, true), 2.0);
        assert_eq!(p.file_secs(1.5, true), 5.5);
        assert_eq!(p.file_secs(2.5, true), 6.5);
        // Past the audio (Whisper's last timestamp): clamped to the last range's end.
        assert_eq!(p.file_secs(4.0, true), 7.0);
    }
}
