//! Keeps a frame source running with the one supervisor ([`crate::supervise`]): one that fails
//! to open or stops with an error (a camera unplugged) is reported, counted and reopened after
//! its [`RestartPolicy`]'s delay.

use super::{FrameContext, FrameEnd, FrameSource, FrameSourceError};
use crate::health::{Heartbeat, Metrics};
use crate::shutdown::Shutdown;
use crate::supervise::{RestartPolicy, Supervised, SupervisedContext, supervise};

/// Runs the source that `make` opens until it ends normally or shutdown fires, reopening it
/// after every failure. Each failure is one `warn` line and one `SourceRestarts`; the wait
/// before the next attempt is interrupted by shutdown.
pub fn run_frame_supervised(
    make: impl FnMut() -> Result<Box<dyn FrameSource>, FrameSourceError>,
    cx: FrameContext,
    policy: RestartPolicy,
) -> FrameEnd {
    supervise(make, cx, policy)
}

impl Supervised for Box<dyn FrameSource> {
    type Context = FrameContext;
    type End = FrameEnd;
    type Error = FrameSourceError;
    const KIND: &'static str = "frame source";

    fn name(&self) -> String {
        self.spec().name
    }

    fn run(self, cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
        FrameSource::run(self, cx)
    }
}

impl SupervisedContext for FrameContext {
    type End = FrameEnd;

    fn stopped(&self) -> Option<FrameEnd> {
        FrameContext::stopped(self)
    }

    fn shutdown(&self) -> &Shutdown {
        FrameContext::shutdown(self)
    }

    fn metrics(&self) -> &Metrics {
        FrameContext::metrics(self)
    }

    fn log_source(&self) -> Option<&str> {
        Some(self.source().as_ref())
    }

    fn heartbeat(&self) -> &Heartbeat {
        FrameContext::heartbeat(self)
    }

    /// Waiting: a camera's own stall limit ends a run that delivers nothing.
    fn opened(&self) {
        FrameContext::heartbeat(self).waiting();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::frames::{FramePolicy, FrameSourceKind, FrameSourceSpec};
    use crate::health::Counter;

    /// Fault injection: a camera that is lost at once, or ends.
    struct Scripted {
        fail: bool,
    }

    impl FrameSource for Scripted {
        fn spec(&self) -> FrameSourceSpec {
            FrameSourceSpec {
                name: "fake".into(),
                kind: FrameSourceKind::Camera,
                size: None,
                fps: 1.0,
            }
        }
        fn run(self: Box<Self>, _cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
            if self.fail {
                Err(FrameSourceError::DeviceLost {
                    device: "fake".into(),
                    reason: "unplugged".into(),
                })
            } else {
                Ok(FrameEnd::EndOfInput)
            }
        }
    }

    #[test]
    fn open_failures_and_lost_cameras_are_retried_until_the_source_ends() {
        let (cx, _rx) = FrameContext::new(
            "cam",
            1,
            FramePolicy::default(),
            Shutdown::new(),
            Metrics::new(),
        )
        .unwrap();
        let attempts = AtomicUsize::new(0);
        let end = run_frame_supervised(
            || match attempts.fetch_add(1, Ordering::Relaxed) {
                0 | 2 => Err(FrameSourceError::DeviceUnavailable {
                    device: "fake".into(),
                    reason: "busy".into(),
                }),
                1 | 3 => Ok(Box::new(Scripted { fail: true })),
                _ => Ok(Box::new(Scripted { fail: false })),
            },
            cx.clone(),
            RestartPolicy {
                min: Duration::from_millis(1),
                max: Duration::from_millis(4),
            },
        );
        assert_eq!(end, FrameEnd::EndOfInput);
        assert_eq!(attempts.load(Ordering::Relaxed), 5);
        assert_eq!(cx.metrics().get(Counter::SourceRestarts), 4);
    }

    #[test]
    fn shutdown_during_the_backoff_wait_returns_without_another_attempt() {
        let (cx, _rx) = FrameContext::new(
            "cam",
            1,
            FramePolicy::default(),
            Shutdown::new(),
            Metrics::new(),
        )
        .unwrap();
        let shutdown = cx.shutdown().clone();
        let attempts = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let worker = std::thread::spawn(move || {
            run_frame_supervised(
                move || {
                    counted.fetch_add(1, Ordering::Relaxed);
                    Err(FrameSourceError::DeviceUnavailable {
                        device: "fake".into(),
                        reason: "none".into(),
                    })
                },
                cx,
                RestartPolicy {
                    min: Duration::from_secs(600),
                    max: Duration::from_secs(600),
                },
            )
        });
        while attempts.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        shutdown.trigger();
        assert_eq!(worker.join().unwrap(), FrameEnd::Shutdown);
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }
}
