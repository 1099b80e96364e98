//! What a source said last: its previous confident final, kept as the prompt or the left
//! context ([`LeftContext`]) of the next final (`speech.prompt_previous_ms`,
//! `speech.context_previous_ms`; both off by default).

use std::sync::Arc;

use percept_models::whisper::{LeftContext, Transcript};

use super::job::Job;

/// When a final is prompted with, or transcribed after, its source's previous final (16 kHz
/// samples; 0 turns each off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextLimits {
    /// An utterance starting at most this long after the previous (confident) final ended is
    /// prompted with that final's text.
    pub prompt_previous_samples: u64,
    /// A final is transcribed after the previous final's audio and text when that audio is at
    /// most this long (and the gap below holds).
    pub context_previous_samples: u64,
    /// The longest gap between the previous final's end and a final's start for the left
    /// context.
    pub context_gap_samples: u64,
}

impl ContextLimits {
    /// Whether either use of the previous final is on (else nothing needs remembering).
    pub fn any(&self) -> bool {
        self.prompt_previous_samples > 0 || self.context_previous_samples > 0
    }
}

/// A source's last confident final, the prompt or the left context of what it says next.
#[derive(Debug)]
pub struct PreviousFinal {
    end_offset: u64,
    text_tokens: Vec<u32>,
    audio: Arc<[f32]>,
}

impl PreviousFinal {
    /// The final `job` transcribed as `transcript` (`eot`: the tokenizer's end of text, the
    /// first special token).
    pub fn of(job: &Job, transcript: &Transcript, eot: u32) -> Self {
        Self {
            end_offset: job.end_offset,
            text_tokens: text_tokens(transcript, eot),
            audio: job.audio.clone(),
        }
    }

    /// The prompt for `job`: this final's text, when it ended at most
    /// `prompt_previous_samples` before the job's audio starts.
    pub fn prompt_for(&self, job: &Job, limits: &ContextLimits) -> Option<Vec<u32>> {
        let limit = limits.prompt_previous_samples;
        let gap = job.start_offset.saturating_sub(self.end_offset);
        (limit > 0 && gap <= limit && !self.text_tokens.is_empty())
            .then(|| self.text_tokens.clone())
    }

    /// The left context of a final: this final, when it ended at most `context_gap_samples`
    /// before the final's audio starts, is at most `context_previous_samples` long, and the
    /// VAD heard speech in the final (at least `min_vad_speech_prob`, so that the context
    /// cannot talk Whisper's no-speech vote out of a noise). Audio both hold (padding) is cut
    /// from the context's end.
    pub fn left_context(
        &self,
        job: &Job,
        limits: &ContextLimits,
        min_vad_speech_prob: f32,
    ) -> Option<LeftContext<'_>> {
        let limit = limits.context_previous_samples;
        let gap = job.start_offset.saturating_sub(self.end_offset);
        let overlap = self.end_offset.saturating_sub(job.start_offset) as usize;
        let keep = self.audio.len().saturating_sub(overlap);
        let usable = limit > 0
            && job.is_final
            && gap <= limits.context_gap_samples
            && self.audio.len() as u64 <= limit
            && keep > 0
            && !self.text_tokens.is_empty()
            && job.vad_speech_prob >= min_vad_speech_prob;
        usable.then(|| LeftContext {
            audio: &self.audio[..keep],
            tokens: &self.text_tokens,
        })
    }
}

/// Text tokens of a transcript (timestamps and other special tokens left out).
fn text_tokens(transcript: &Transcript, eot: u32) -> Vec<u32> {
    transcript
        .segments
        .iter()
        .flat_map(|s| s.tokens.iter().copied().filter(|&t| t < eot))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const MIN_VAD: f32 = 0.6;

    fn job_at(start_offset: u64, end_offset: u64, vad: f32) -> Job {
        let now = std::time::SystemTime::now();
        Job {
            source: "mic".into(),
            utterance_id: "mic-1-2".into(),
            is_final: true,
            audio: vec![0.0; (end_offset - start_offset) as usize].into(),
            start_offset,
            end_offset,
            start_wall: now,
            end_wall: now,
            speech_end: Instant::now(),
            dropped_audio_ms: 0,
            vad_speech_prob: vad,
            early: None,
        }
    }

    #[test]
    fn the_previous_final_is_the_left_context_only_when_close_short_and_speech() {
        let s = ContextLimits {
            prompt_previous_samples: 0,
            context_previous_samples: 8 * 16_000,
            context_gap_samples: 16_000,
        };
        let previous = PreviousFinal {
            end_offset: 48_000,
            text_tokens: vec![7, 8],
            audio: vec![0.5; 32_000].into(),
        };
        // Starts 0.5 s after it ended: the whole previous audio.
        let c = previous
            .left_context(&job_at(56_000, 80_000, 0.9), &s, MIN_VAD)
            .unwrap();
        assert_eq!((c.audio.len(), c.tokens), (32_000, &[7u32, 8][..]));
        // Starts 0.1 s before it ended (both hold the padding): that 0.1 s is cut.
        let c = previous
            .left_context(&job_at(46_400, 80_000, 0.9), &s, MIN_VAD)
            .unwrap();
        assert_eq!(c.audio.len(), 30_400);
        // Too far after it, weak VAD evidence, a partial, off, too long a previous final.
        assert!(
            previous
                .left_context(&job_at(70_000, 90_000, 0.9), &s, MIN_VAD)
                .is_none()
        );
        assert!(
            previous
                .left_context(&job_at(56_000, 80_000, 0.3), &s, MIN_VAD)
                .is_none()
        );
        let partial = Job {
            is_final: false,
            ..job_at(56_000, 80_000, 0.9)
        };
        assert!(previous.left_context(&partial, &s, MIN_VAD).is_none());
        assert!(
            previous
                .left_context(
                    &job_at(56_000, 80_000, 0.9),
                    &ContextLimits::default(),
                    MIN_VAD
                )
                .is_none()
        );
        let short = ContextLimits {
            context_previous_samples: 16_000,
            ..s
        };
        assert!(
            previous
                .left_context(&job_at(56_000, 80_000, 0.9), &short, MIN_VAD)
                .is_none()
        );
    }
}
