//! What the supervisor reports, as a struct whose `emit` logs and counts in one call.

use std::fmt::Display;
use std::time::Duration;

use crate::health::{Counter, Metrics};

/// How one attempt failed.
pub(crate) enum Failure<E> {
    /// The source could not be opened.
    CannotStart(E),
    /// The source named `name` was opened and then failed.
    Failed { name: String, error: E },
}

/// A source failed; it is reopened after `retry_in`.
pub(crate) struct SourceRestarting<'a, E: Display> {
    /// "audio source", "frame source".
    pub(crate) kind: &'static str,
    /// The `source` field, where the line carries one.
    pub(crate) source: Option<&'a str>,
    pub(crate) failure: &'a Failure<E>,
    pub(crate) retry_in: Duration,
}

impl<E: Display> SourceRestarting<'_, E> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::SourceRestarts);
        let kind = self.kind;
        let message = match self.failure {
            Failure::CannotStart(error) => format!("{kind} cannot start: {error}"),
            Failure::Failed { name, error } => format!("{kind} {name} failed: {error}"),
        };
        tracing::warn!(
            source = self.source.map(tracing::field::display),
            retry_in_ms = u64::try_from(self.retry_in.as_millis()).unwrap_or(u64::MAX),
            "{message}"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_restart_line_carries_the_source_field_only_when_given_one() {
        let metrics = Metrics::new();
        let retry_in = Duration::from_millis(500);
        let audio = logged(|| {
            SourceRestarting {
                kind: "audio source",
                source: None,
                failure: &Failure::CannotStart("no card"),
                retry_in,
            }
            .emit(&metrics)
        });
        assert!(
            audio.contains("WARN") && audio.contains("audio source cannot start: no card"),
            "{audio}"
        );
        assert!(
            audio.contains("retry_in_ms=500") && !audio.contains("source="),
            "{audio}"
        );
        let camera = logged(|| {
            SourceRestarting {
                kind: "frame source",
                source: Some("cam"),
                failure: &Failure::Failed {
                    name: "/dev/video0".into(),
                    error: "unplugged",
                },
                retry_in,
            }
            .emit(&metrics)
        });
        assert!(
            camera.contains("frame source /dev/video0 failed: unplugged"),
            "{camera}"
        );
        assert!(camera.contains("source=cam retry_in_ms=500"), "{camera}");
        assert_eq!(metrics.get(Counter::SourceRestarts), 2);
    }
}
