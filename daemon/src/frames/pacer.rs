//! Paces a frame source at a fixed rate on the monotonic clock.

use std::time::{Duration, Instant};

use super::FrameSourceError;
use crate::shutdown::Shutdown;

/// Checks a configured frame rate.
pub(super) fn check_fps(what: &str, fps: f64) -> Result<(), FrameSourceError> {
    if fps > 0.0 && fps.is_finite() && fps <= 1000.0 {
        Ok(())
    } else {
        Err(FrameSourceError::InvalidConfig {
            rule: format!("{what}: fps must be within (0, 1000], got {fps}"),
        })
    }
}

/// Ticks every `1 / fps`: tick `n` is due at `start + n / fps`, so sleeps never accumulate
/// drift. A source that falls more than one interval behind (a slow decode) starts counting
/// again from now instead of bursting to catch up.
#[derive(Debug)]
pub(super) struct Pacer {
    interval: Duration,
    start: Option<Instant>,
    ticks: u32,
}

impl Pacer {
    /// A pacer at `fps` frames per second (checked with [`check_fps`]).
    pub(super) fn new(fps: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / fps),
            start: None,
            ticks: 0,
        }
    }

    /// Waits for the next tick; the first tick is immediate. Returns true if shutdown fired.
    pub(super) fn wait(&mut self, shutdown: &Shutdown) -> bool {
        let now = Instant::now();
        let start = *self.start.get_or_insert(now);
        let due = start + self.interval * self.ticks;
        if now > due + self.interval || self.ticks == u32::MAX {
            self.start = Some(now);
            self.ticks = 1;
            return shutdown.is_triggered();
        }
        self.ticks += 1;
        let wait = due.saturating_duration_since(now);
        if wait.is_zero() {
            shutdown.is_triggered()
        } else {
            shutdown.sleep(wait)
        }
    }
}
