//! When a supervised source is reopened.

use std::time::Duration;

use crate::backoff::Backoff;

/// Delays between restarts: `min` after the first failure, doubling up to `max`
/// ([`Backoff::device_reopen`]); a source that ran at least `max` before failing starts again
/// from `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Delay after the first failure.
    pub min: Duration,
    /// Longest delay; a source that ran at least this long starts again from `min`.
    pub max: Duration,
}

impl Default for RestartPolicy {
    /// 500 ms doubling to 30 s.
    fn default() -> Self {
        Self {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl RestartPolicy {
    /// The delays of one supervised source, starting at `min`.
    pub(crate) fn restarts(self) -> Restarts {
        Restarts {
            stable_after: self.max,
            backoff: Backoff::device_reopen(self.min, self.max),
        }
    }
}

/// The policy applied to one source's failures so far.
#[derive(Debug)]
pub(crate) struct Restarts {
    stable_after: Duration,
    backoff: Backoff,
}

impl Restarts {
    /// The wait after a failure: `ran_for` is how long the source ran (with its open) before it
    /// failed, `None` when it could not be opened.
    pub(crate) fn next_delay(&mut self, ran_for: Option<Duration>) -> Duration {
        if ran_for.is_some_and(|ran| ran >= self.stable_after) {
            self.backoff.reset();
        }
        self.backoff.next_delay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn failures_wait_half_a_second_doubling_to_thirty_seconds() {
        let mut restarts = RestartPolicy::default().restarts();
        let waits: Vec<u128> = (0..8).map(|_| ms(restarts.next_delay(None))).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    }

    #[test]
    fn a_run_that_lasted_max_starts_over_at_min() {
        let mut restarts = RestartPolicy::default().restarts();
        for _ in 0..4 {
            restarts.next_delay(None);
        }
        assert_eq!(ms(restarts.next_delay(Some(Duration::from_secs(30)))), 500);
        assert_eq!(ms(restarts.next_delay(Some(Duration::from_secs(1)))), 1000);
    }

    #[test]
    fn a_short_run_or_an_open_failure_keeps_doubling() {
        let mut restarts = RestartPolicy::default().restarts();
        assert_eq!(ms(restarts.next_delay(None)), 500);
        assert_eq!(
            ms(restarts.next_delay(Some(Duration::from_millis(29_999)))),
            1000
        );
        assert_eq!(ms(restarts.next_delay(None)), 2000);
    }
}
