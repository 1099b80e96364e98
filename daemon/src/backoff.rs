//! Retry delays, capped and exponential, with two named uses:
//!
//! * [`Backoff::device_reopen`] (an audio source or camera that failed): `min`, then doubling
//!   per failure up to `max`, no jitter (one device, nothing to spread).
//! * [`Backoff::broker_reconnect`] (the MQTT connection): exponential with full jitter above a
//!   floor. The n-th wait is drawn uniformly from `[min, min(max, min * 2^(n-1))]`: it never drops
//!   below `min` (no spinning), its ceiling doubles per failure up to `max`, and the jitter
//!   spreads many devices reconnecting to one restarted broker.
//!
//! [`Backoff::reset`] (after a ConnAck, or a run that lasted) starts over at `min`.

use std::time::Duration;

/// Retry delays; see the module docs.
#[derive(Debug, Clone)]
pub struct Backoff {
    min_ms: u64,
    max_ms: u64,
    ceiling_ms: u64,
    /// `None`: every wait is the ceiling itself.
    jitter: Option<XorShift64>,
}

impl Backoff {
    /// Reopening a device: `min`, `2 min`, `4 min`, … up to `max` (a `max` below `min` is raised
    /// to `min`).
    pub fn device_reopen(min: Duration, max: Duration) -> Self {
        Self::new(min, max, None)
    }

    /// Reconnecting to the broker: uniform between `min` and a ceiling doubling up to `max` (a
    /// `max` below `min` is raised to `min`), jitter from `seed`.
    pub fn broker_reconnect(min: Duration, max: Duration, seed: u64) -> Self {
        Self::new(min, max, Some(XorShift64::new(seed)))
    }

    /// Like [`Backoff::broker_reconnect`], seeded from the clock and the process id so that
    /// devices differ.
    pub fn broker_reconnect_from_entropy(min: Duration, max: Duration) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self::broker_reconnect(min, max, nanos ^ (u64::from(std::process::id()) << 32))
    }

    fn new(min: Duration, max: Duration, jitter: Option<XorShift64>) -> Self {
        let min_ms = duration_ms(min);
        let max_ms = duration_ms(max).max(min_ms);
        Self {
            min_ms,
            max_ms,
            ceiling_ms: min_ms,
            jitter,
        }
    }

    /// The wait before the next attempt; each call doubles the ceiling (up to max).
    pub fn next_delay(&mut self) -> Duration {
        let delay_ms = match &mut self.jitter {
            Some(rng) => {
                let span = self.ceiling_ms - self.min_ms;
                self.min_ms + rng.next_u64() % (span + 1)
            }
            None => self.ceiling_ms,
        };
        self.ceiling_ms = self.ceiling_ms.saturating_mul(2).min(self.max_ms);
        Duration::from_millis(delay_ms)
    }

    /// The largest delay the next call to [`Backoff::next_delay`] can return.
    pub fn ceiling(&self) -> Duration {
        Duration::from_millis(self.ceiling_ms)
    }

    /// Starts over at the minimum.
    pub fn reset(&mut self) {
        self.ceiling_ms = self.min_ms;
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Marsaglia's xorshift64: tiny, seedable, plenty for jitter (not for secrets).
#[derive(Debug, Clone)]
struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    fn new(seed: u64) -> Self {
        // The all-zero state is a fixed point; any other constant works.
        Self {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(1_000);

    #[test]
    fn broker_delays_lie_between_min_and_the_current_ceiling() {
        for seed in [0, 1, 42, u64::MAX] {
            let mut backoff = Backoff::broker_reconnect(MIN, MAX, seed);
            for _ in 0..200 {
                let ceiling = backoff.ceiling();
                let delay = backoff.next_delay();
                assert!(
                    delay >= MIN && delay <= ceiling,
                    "{delay:?} outside [{MIN:?}, {ceiling:?}]"
                );
                assert!(ceiling <= MAX);
            }
        }
    }

    #[test]
    fn broker_ceiling_doubles_per_failure_until_the_cap() {
        let mut backoff = Backoff::broker_reconnect(MIN, MAX, 7);
        let mut ceilings = vec![backoff.ceiling()];
        for _ in 0..6 {
            backoff.next_delay();
            ceilings.push(backoff.ceiling());
        }
        let ms: Vec<u128> = ceilings.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000, 1000]);
    }

    #[test]
    fn broker_delays_grow_on_average_and_reach_the_cap_region() {
        let mut backoff = Backoff::broker_reconnect(MIN, MAX, 99);
        let first = backoff.next_delay();
        assert_eq!(first, MIN, "the first wait after a loss is exactly min");
        let late: Vec<Duration> = (0..100).map(|_| backoff.next_delay()).skip(10).collect();
        let mean_ms = late.iter().map(Duration::as_millis).sum::<u128>() / late.len() as u128;
        // Uniform on [100, 1000] has mean 550; far from min and from max.
        assert!((400..=700).contains(&mean_ms), "mean {mean_ms} ms");
        assert!(late.iter().any(|d| d.as_millis() > 900));
    }

    #[test]
    fn broker_reset_starts_over_at_min() {
        let mut backoff = Backoff::broker_reconnect(MIN, MAX, 3);
        for _ in 0..10 {
            backoff.next_delay();
        }
        assert_eq!(backoff.ceiling(), MAX);
        backoff.reset();
        assert_eq!(backoff.ceiling(), MIN);
        assert_eq!(backoff.next_delay(), MIN);
    }

    #[test]
    fn broker_same_seed_gives_the_same_delays_and_different_seeds_differ() {
        let run = |seed| {
            let mut b = Backoff::broker_reconnect(MIN, MAX, seed);
            (0..20).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn broker_max_below_min_is_raised_to_min() {
        let mut backoff = Backoff::broker_reconnect(MIN, Duration::from_millis(1), 1);
        assert_eq!(backoff.next_delay(), MIN);
        assert_eq!(backoff.next_delay(), MIN);
    }

    #[test]
    fn device_reopen_waits_min_then_doubles_to_max_without_jitter() {
        let mut backoff =
            Backoff::device_reopen(Duration::from_millis(500), Duration::from_secs(30));
        let ms: Vec<u128> = (0..9).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(
            ms,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn device_reopen_reset_starts_over_at_min() {
        let mut backoff = Backoff::device_reopen(MIN, MAX);
        for _ in 0..10 {
            backoff.next_delay();
        }
        assert_eq!(backoff.next_delay(), MAX);
        backoff.reset();
        assert_eq!(backoff.next_delay(), MIN);
        assert_eq!(backoff.next_delay(), MIN * 2);
    }

    #[test]
    fn device_reopen_max_below_min_is_raised_to_min() {
        let mut backoff = Backoff::device_reopen(MIN, Duration::from_millis(1));
        assert_eq!(backoff.next_delay(), MIN);
        assert_eq!(backoff.next_delay(), MIN);
    }
}
