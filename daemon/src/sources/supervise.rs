//! Keeps a source running: a source that fails to open or stops with an error is reported,
//! counted and restarted after a capped exponential backoff.

use std::time::{Duration, Instant};

use super::{AudioSource, SourceContext, SourceEnd, SourceError};
use crate::health::Counter;

/// Delays between restarts: `min` after the first failure, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub min: Duration,
    /// Longest delay; a source that ran at least this long starts again from `min`.
    pub max: Duration,
}

impl Default for Backoff {
    /// 500 ms doubling to 30 s.
    fn default() -> Self {
        Self {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Runs the source that `make` opens until it ends normally or shutdown fires, restarting it
/// after every failure.
///
/// Each failure (open error or run error) is one `warn` line and one
/// [`Counter::SourceRestarts`]; the wait before the next attempt is interrupted by shutdown.
/// Every error is retried, so give it sources whose errors can pass (a device that may come
/// back), not a file that will stay corrupt.
pub fn run_supervised(
    mut make: impl FnMut() -> Result<Box<dyn AudioSource>, SourceError>,
    cx: SourceContext,
    backoff: Backoff,
) -> SourceEnd {
    let mut delay = backoff.min;
    loop {
        if cx.shutdown.is_triggered() {
            return SourceEnd::Shutdown;
        }
        let started = Instant::now();
        let error = match make() {
            Ok(source) => {
                let name = source.spec().name.clone();
                match source.run(cx.clone()) {
                    Ok(end) => return end,
                    Err(error) => {
                        if started.elapsed() >= backoff.max {
                            delay = backoff.min;
                        }
                        format!("audio source {name} failed: {error}")
                    }
                }
            }
            Err(error) => format!("audio source cannot start: {error}"),
        };
        cx.metrics.incr(Counter::SourceRestarts);
        tracing::warn!(
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "{error}"
        );
        if cx.shutdown.sleep(delay) {
            return SourceEnd::Shutdown;
        }
        delay = (delay * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::health::Metrics;
    use crate::shutdown::Shutdown;
    use crate::sources::{SourceKind, SourceSpec};

    /// Fault injection: a source that fails with `DeviceLost` or ends, as told.
    struct Scripted {
        spec: SourceSpec,
        fail: bool,
    }

    impl AudioSource for Scripted {
        fn spec(&self) -> &SourceSpec {
            &self.spec
        }
        fn run(self: Box<Self>, _cx: SourceContext) -> Result<SourceEnd, SourceError> {
            if self.fail {
                Err(SourceError::DeviceLost {
                    device: self.spec.name.clone(),
                    reason: "unplugged".into(),
                })
            } else {
                Ok(SourceEnd::EndOfInput)
            }
        }
    }

    fn scripted(fail: bool) -> Box<dyn AudioSource> {
        Box::new(Scripted {
            spec: SourceSpec {
                name: "fake".into(),
                kind: SourceKind::Mic,
                sample_rate: 16_000,
                channels: 1,
            },
            fail,
        })
    }

    fn context() -> SourceContext {
        SourceContext::new(1, Shutdown::new(), Metrics::new()).0
    }

    fn tiny_backoff() -> Backoff {
        Backoff {
            min: Duration::from_millis(1),
            max: Duration::from_millis(4),
        }
    }

    #[test]
    fn open_failures_and_lost_devices_are_retried_until_the_source_ends() {
        let cx = context();
        let attempts = AtomicUsize::new(0);
        let end = run_supervised(
            || match attempts.fetch_add(1, Ordering::Relaxed) {
                0 | 2 => Err(SourceError::DeviceUnavailable {
                    device: "fake".into(),
                    reason: "no card".into(),
                }),
                1 | 3 => Ok(scripted(true)),
                _ => Ok(scripted(false)),
            },
            cx.clone(),
            tiny_backoff(),
        );
        assert_eq!(end, SourceEnd::EndOfInput);
        assert_eq!(attempts.load(Ordering::Relaxed), 5);
        assert_eq!(cx.metrics.get(Counter::SourceRestarts), 4);
    }

    #[test]
    fn shutdown_during_the_backoff_wait_returns_without_another_attempt() {
        let cx = context();
        let attempts = Arc::new(Mutex::new(0));
        let shutdown = cx.shutdown.clone();
        let counted = Arc::clone(&attempts);
        let worker = std::thread::spawn(move || {
            run_supervised(
                move || {
                    *counted.lock().unwrap() += 1;
                    Err(SourceError::DeviceUnavailable {
                        device: "fake".into(),
                        reason: "no card".into(),
                    })
                },
                cx,
                Backoff {
                    min: Duration::from_secs(600),
                    max: Duration::from_secs(600),
                },
            )
        });
        while *attempts.lock().unwrap() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        shutdown.trigger();
        assert_eq!(worker.join().unwrap(), SourceEnd::Shutdown);
        assert_eq!(*attempts.lock().unwrap(), 1);
    }

    #[test]
    fn nothing_is_opened_after_shutdown() {
        let cx = context();
        cx.shutdown.trigger();
        let end = run_supervised(
            || -> Result<Box<dyn AudioSource>, SourceError> { panic!("must not open") },
            cx,
            tiny_backoff(),
        );
        assert_eq!(end, SourceEnd::Shutdown);
    }
}
