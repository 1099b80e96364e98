//! Wall-clock times for stream offsets, and RFC 3339 formatting.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use percept_dsp::whisper_mel::SAMPLE_RATE;

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

/// Duration of `samples` at 16 kHz.
pub fn samples_to_duration(samples: u64) -> Duration {
    Duration::from_micros(samples * 1_000_000 / u64::from(SAMPLE_RATE))
}

/// Seconds of `samples` at 16 kHz.
pub fn samples_to_secs(samples: u64) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

/// `2026-11-27T01:02:03.456Z`.
pub fn rfc3339_millis(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_741_323_456);
        assert_eq!(rfc3339_millis(t), "2026-11-27T01:02:03.456Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

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
