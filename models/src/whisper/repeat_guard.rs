//! The cross-window repetition guard: after a window, Whisper sometimes decodes a short tail
//! or a silence by repeating sentences it wrote before ("I'm Sheila in Texas. … I'm Sheila in
//! Texas."), or loops on a phrase until the token budget runs out. A segment whose normalised
//! words repeat words of the segments that ended shortly before it, or that still loops after the
//! temperature fallback, is left out and reported.

use serde::Serialize;

use super::transcribe::Segment;

/// A segment left out of a transcript, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressedSegment {
    /// Start, seconds.
    pub start: f32,
    /// End, seconds.
    pub end: f32,
    /// Its text.
    pub text: String,
    /// `"repeat"` (its words, in order, were written just before it) or `"loop"` (its compression ratio
    /// stayed above the threshold at every temperature).
    pub reason: &'static str,
}

/// What the guard looks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatGuard {
    /// A repeat of a segment that ended at most this long before the segment starts, seconds.
    pub lookback_secs: f32,
    /// Shorter texts ("Yes.", "Thank you.") may well be said twice: only texts of at least
    /// this many words are repeats.
    pub min_words: usize,
    /// Above this compression ratio (after the fallback) a segment loops; `None`: not checked.
    pub compression_ratio_threshold: Option<f32>,
}

impl Default for RepeatGuard {
    fn default() -> Self {
        Self {
            lookback_secs: 30.0,
            min_words: 4,
            compression_ratio_threshold: Some(2.4),
        }
    }
}

impl RepeatGuard {
    /// Splits `segments` (in time order) into those kept and those suppressed.
    pub fn apply(&self, segments: Vec<Segment>) -> (Vec<Segment>, Vec<SuppressedSegment>) {
        let mut kept: Vec<(Segment, Vec<String>)> = Vec::new();
        let mut suppressed = Vec::new();
        for s in segments {
            let words = normalised_words(&s.text);
            let loops = self
                .compression_ratio_threshold
                .is_some_and(|t| s.compression_ratio > t);
            let recent: Vec<&String> = kept
                .iter()
                .filter(|(k, _)| k.end >= s.start - self.lookback_secs)
                .flat_map(|(_, kw)| kw)
                .collect();
            let repeats = words.len() >= self.min_words
                && recent
                    .windows(words.len())
                    .any(|w| w.iter().zip(&words).all(|(a, b)| *a == b));
            if loops || repeats {
                suppressed.push(SuppressedSegment {
                    start: s.start,
                    end: s.end,
                    text: s.text.trim().to_string(),
                    reason: if loops { "loop" } else { "repeat" },
                });
            } else {
                kept.push((s, words));
            }
        }
        (kept.into_iter().map(|(s, _)| s).collect(), suppressed)
    }
}

/// Lower-case words of letters and digits (punctuation and case do not make a new sentence).
fn normalised_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(start: f32, end: f32, text: &str, ratio: f32) -> Segment {
        Segment {
            start,
            end,
            text: text.into(),
            avg_logprob: -0.3,
            no_speech_prob: 0.1,
            temperature: 0.0,
            compression_ratio: ratio,
            tokens: Vec::new(),
        }
    }

    #[test]
    fn a_sentence_written_again_soon_after_is_suppressed_as_a_repeat() {
        let segments = vec![
            segment(
                0.0,
                3.0,
                " I'm Sheila in Texas, originally from Chicago.",
                1.2,
            ),
            segment(3.0, 6.0, " What do you do for fun?", 1.1),
            segment(
                30.0,
                33.0,
                " I'm Sheila in Texas. Originally from Chicago",
                1.2,
            ),
            // Part of what was said: a repeat too.
            segment(33.0, 34.0, " originally from Chicago. What do", 1.2),
        ];
        let (kept, gone) = RepeatGuard::default().apply(segments);
        assert_eq!(kept.len(), 2);
        assert_eq!(gone.len(), 2);
        assert_eq!(gone[0].reason, "repeat");
        assert_eq!((gone[0].start, gone[1].start), (30.0, 33.0));
    }

    #[test]
    fn short_phrases_and_old_sentences_may_come_again() {
        let segments = vec![
            segment(0.0, 1.0, " Thank you.", 1.0),
            segment(2.0, 3.0, " Thank you.", 1.0),
            segment(3.0, 6.0, " We will meet again next week.", 1.1),
            segment(60.0, 63.0, " We will meet again next week.", 1.1),
        ];
        let (kept, gone) = RepeatGuard::default().apply(segments);
        assert_eq!((kept.len(), gone.len()), (4, 0));
    }

    #[test]
    fn a_segment_that_still_loops_is_suppressed_as_a_loop() {
        let segments = vec![segment(0.0, 30.0, " the the the the the the the", 6.0)];
        let (kept, gone) = RepeatGuard::default().apply(segments);
        assert!(kept.is_empty());
        assert_eq!(gone[0].reason, "loop");
        let off = RepeatGuard {
            compression_ratio_threshold: None,
            ..RepeatGuard::default()
        };
        let segments = vec![segment(0.0, 30.0, " the the the the the the the", 6.0)];
        assert_eq!(off.apply(segments).0.len(), 1);
    }
}
