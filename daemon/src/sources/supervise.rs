//! Keeps an audio source running with the one supervisor ([`crate::supervise`]): a source
//! that fails to open or stops with an error is reported, counted and restarted after its
//! [`RestartPolicy`]'s delay.

use super::{AudioSource, SourceContext, SourceEnd, SourceError};
use crate::health::{Heartbeat, Metrics};
use crate::shutdown::Shutdown;
use crate::supervise::{RestartPolicy, Supervised, SupervisedContext, supervise};

/// Runs the source that `make` opens until it ends normally or shutdown fires, restarting it
/// after every failure.
///
/// Each failure (open error or run error) is one `warn` line and one
/// [`Counter::SourceRestarts`](crate::health::Counter::SourceRestarts); the wait before the
/// next attempt is interrupted by shutdown. Every error is retried, so give it sources whose
/// errors can pass (a device that may come back), not a file that will stay corrupt.
pub fn run_supervised(
    make: impl FnMut() -> Result<Box<dyn AudioSource>, SourceError>,
    cx: SourceContext,
    policy: RestartPolicy,
) -> SourceEnd {
    supervise(make, cx, policy)
}

impl Supervised for Box<dyn AudioSource> {
    type Context = SourceContext;
    type End = SourceEnd;
    type Error = SourceError;
    const KIND: &'static str = "audio source";

    fn name(&self) -> String {
        self.spec().name.clone()
    }

    fn run(self, cx: SourceContext) -> Result<SourceEnd, SourceError> {
        AudioSource::run(self, cx)
    }
}

impl SupervisedContext for SourceContext {
    type End = SourceEnd;

    fn stopped(&self) -> Option<SourceEnd> {
        self.shutdown.is_triggered().then_some(SourceEnd::Shutdown)
    }

    fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// None: audio lines take the source from their `capture` span.
    fn log_source(&self) -> Option<&str> {
        None
    }

    fn heartbeat(&self) -> &Heartbeat {
        &self.heartbeat
    }

    /// Active: a reopened device must deliver within the capture budget.
    fn opened(&self) {
        self.heartbeat.active();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::health::Counter;
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

    fn tiny_policy() -> RestartPolicy {
        RestartPolicy {
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
            tiny_policy(),
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
                RestartPolicy {
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
    fn a_source_waiting_to_be_reopened_is_degraded_and_active_once_it_opens() {
        use crate::health::{Progress, Watch};
        let progress = Progress::new();
        let heartbeat =
            progress.register("source mic", Duration::from_secs(60), Watch::WhileActive);
        let cx = context().with_heartbeat(heartbeat);
        let attempts = AtomicUsize::new(0);
        let states = Mutex::new(Vec::new());
        run_supervised(
            || {
                states.lock().unwrap().push(progress.check(true).status());
                match attempts.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(SourceError::DeviceUnavailable {
                        device: "fake".into(),
                        reason: "no card".into(),
                    }),
                    _ => Ok(scripted(false)),
                }
            },
            cx,
            tiny_policy(),
        );
        assert_eq!(
            *states.lock().unwrap(),
            ["running", "degraded: source mic restarting"]
        );
        assert_eq!(
            progress.check(true).status(),
            "running",
            "opened: active again"
        );
    }

    #[test]
    fn nothing_is_opened_after_shutdown() {
        let cx = context();
        cx.shutdown.trigger();
        let end = run_supervised(
            || -> Result<Box<dyn AudioSource>, SourceError> { panic!("must not open") },
            cx,
            tiny_policy(),
        );
        assert_eq!(end, SourceEnd::Shutdown);
    }
}
