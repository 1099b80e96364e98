//! The decoded-audio container shared by every decoder and resampler.

/// Decoded PCM audio: interleaved `f32` samples in the nominal range `[-1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Frames per second.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: u16,
    /// Interleaved samples, `frames() * channels` long.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Number of whole frames (one sample per channel); 0 when `channels` is 0.
    pub fn frames(&self) -> usize {
        match self.channels {
            0 => 0,
            channels => self.samples.len() / usize::from(channels),
        }
    }

    /// Duration in seconds; 0 when `sample_rate` is 0.
    pub fn duration_secs(&self) -> f64 {
        match self.sample_rate {
            0 => 0.0,
            rate => self.frames() as f64 / f64::from(rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_duration_follow_interleaving() {
        let audio = Audio {
            sample_rate: 4,
            channels: 2,
            samples: vec![0.0; 16],
        };
        assert_eq!(audio.frames(), 8);
        assert_eq!(audio.duration_secs(), 2.0);
    }

    #[test]
    fn zero_channels_or_rate_do_not_divide_by_zero() {
        let audio = Audio {
            sample_rate: 0,
            channels: 0,
            samples: vec![0.0; 3],
        };
        assert_eq!(audio.frames(), 0);
        assert_eq!(audio.duration_secs(), 0.0);
    }
}
