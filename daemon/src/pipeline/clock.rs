//! Wall-clock times for stream offsets.

use std::time::{Instant, SystemTime};

use percept_dsp::rate::samples_to_duration;

/// Maps 16 kHz stream offsets to the moment they were captured, from the arrival of the latest
/// block: a sample `n` samples before the end of that block was captured `n / 16000` s earlier.
#[derive(Debug, Clone, Copy)]
pub struct StreamClock {
    end_offset: u64,
    end_instant: Instant,
    end_wall: SystemTime,
}

impl StreamClock {
    /// A clock whose stream offset 0 is now.
    pub fn start() -> Self {
        Self {
            end_offset: 0,
            end_instant: Instant::now(),
            end_wall: SystemTime::now(),
        }
    }

    /// Records that the stream has reached `end_offset` now.
    pub fn observe(&mut self, end_offset: u64) {
        self.end_offset = end_offset;
        self.end_instant = Instant::now();
        self.end_wall = SystemTime::now();
    }

    /// When `offset` was captured (monotonic clock).
    pub fn instant_of(&self, offset: u64) -> Instant {
        let back = samples_to_duration(self.end_offset.saturating_sub(offset));
        self.end_instant
            .checked_sub(back)
            .unwrap_or(self.end_instant)
    }

    /// When `offset` was captured (wall clock).
    pub fn wall_of(&self, offset: u64) -> SystemTime {
        let back = samples_to_duration(self.end_offset.saturating_sub(offset));
        self.end_wall.checked_sub(back).unwrap_or(self.end_wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earlier_offsets_map_to_earlier_instants() {
        let mut clock = StreamClock::start();
        clock.observe(32_000);
        let end = clock.instant_of(32_000);
        let one_sec_before = clock.instant_of(16_000);
        assert_eq!(end - one_sec_before, Duration::from_secs(1));
        assert!(clock.wall_of(0) <= clock.wall_of(16_000));
    }
}
