//! Averages interleaved frames to mono, carrying incomplete frames between calls.

/// Turns interleaved chunks of any length into mono samples, one per complete frame.
#[derive(Debug, Clone)]
pub(super) struct Downmixer {
    channels: usize,
    /// Samples of a frame that was split across calls (always shorter than `channels`).
    carry: Vec<f32>,
}

impl Downmixer {
    /// A downmixer for `channels` (> 0) interleaved channels.
    pub(super) fn new(channels: usize) -> Self {
        Self {
            channels,
            carry: Vec::with_capacity(channels),
        }
    }

    /// Calls `emit` with the channel average of every frame completed by `interleaved`.
    pub(super) fn push(&mut self, mut interleaved: &[f32], mut emit: impl FnMut(f32)) {
        if self.channels == 1 {
            interleaved.iter().for_each(|&sample| emit(sample));
            return;
        }
        if !self.carry.is_empty() {
            let missing = (self.channels - self.carry.len()).min(interleaved.len());
            self.carry.extend_from_slice(&interleaved[..missing]);
            interleaved = &interleaved[missing..];
            if self.carry.len() < self.channels {
                return;
            }
            emit(average(&self.carry));
            self.carry.clear();
        }
        let mut frames = interleaved.chunks_exact(self.channels);
        frames.by_ref().for_each(|frame| emit(average(frame)));
        self.carry.extend_from_slice(frames.remainder());
    }

    /// Forgets any incomplete frame.
    pub(super) fn reset(&mut self) {
        self.carry.clear();
    }
}

fn average(frame: &[f32]) -> f32 {
    frame.iter().sum::<f32>() / frame.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_calls_are_averaged_once() {
        let mut downmixer = Downmixer::new(3);
        let mut mono = Vec::new();
        for chunk in [&[3.0, 0.0][..], &[0.0, 6.0], &[], &[0.0, 0.0, 9.0, 0.0]] {
            downmixer.push(chunk, |sample| mono.push(sample));
        }
        assert_eq!(mono, vec![1.0, 2.0]);
        downmixer.push(&[0.0, 3.0], |sample| mono.push(sample));
        assert_eq!(mono, vec![1.0, 2.0, 3.0]);
    }
}
