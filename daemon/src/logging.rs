//! tracing setup: logs on stderr, filtered by `RUST_LOG` (default `warn`, or `info` with `-v` and
//! for `perceptd run`), shaped for where they land:
//! - a terminal: timestamps and colour (no colour with `NO_COLOR` set);
//! - systemd's journal (`JOURNAL_STREAM` names stderr's device and inode, as sd-daemon documents):
//!   no timestamp of our own (the journal stamps each line), the level as a syslog priority prefix
//!   (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug and trace) that journald reads off the
//!   stream;
//! - anything else (a file, a pipe): timestamps, no colour.
//!
//! `log.format = "json"` writes one JSON object per line instead (`timestamp`, `level`,
//! `message`, the event's fields, `target`, the current span), for log shippers; in the journal
//! it too gets the priority prefix and no timestamp. The embedded broker's per-connection chatter
//! is kept at `warn` unless `RUST_LOG` asks for it.

use std::fmt;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use serde::Deserialize;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written: `log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where stderr leads, as far as the shape of a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// A terminal: colour (unless `NO_COLOR`) and timestamps.
    Terminal { colour: bool },
    /// systemd's journal: priority prefixes, no timestamps.
    Journal,
    /// A file or a pipe: timestamps, no colour.
    Plain,
}

impl Sink {
    /// Chooses from what stderr is; the journal wins over a terminal.
    fn choose(journal: bool, terminal: bool, no_color: bool) -> Self {
        if journal {
            Sink::Journal
        } else if terminal {
            Sink::Terminal { colour: !no_color }
        } else {
            Sink::Plain
        }
    }

    /// What this process's stderr is.
    fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Sink::choose(
            stderr_is_journal(),
            std::io::stderr().is_terminal(),
            no_color,
        )
    }
}

/// The shape chosen by [`init`], for [`print_error`].
static SHAPE: OnceLock<(LogFormat, Sink)> = OnceLock::new();

/// Installs the global subscriber once; later calls change nothing. `perceptd run` calls it
/// after reading its config (for `log.format`), every other command at start.
pub fn init(verbose: bool, format: LogFormat) {
    let default = if verbose {
        "info,rumqttd=off,rumqttc=warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let sink = Sink::detect();
    if tracing_subscriber::registry()
        .with(fmt_layer(format, sink, std::io::stderr))
        .with(filter)
        .try_init()
        .is_ok()
    {
        let _ = SHAPE.set((format, sink));
    }
}

/// Writes a command's final error (`perceptd: error: …`, perhaps with one problem per line) in the
/// shape of the log: each line with the `<3>` prefix in the journal, one JSON object with
/// `log.format = "json"`. Before [`init`] (a config that did not load) it is text, still prefixed
/// in the journal.
pub fn print_error(line: &str) {
    match SHAPE.get().copied() {
        Some((LogFormat::Json, _)) => tracing::error!(target: "perceptd", "{line}"),
        Some((LogFormat::Text, Sink::Journal)) => journal_error(line),
        None if Sink::detect() == Sink::Journal => journal_error(line),
        _ => eprintln!("{line}"),
    }
}

/// Every line of `text` at priority error: the journal takes each line as one entry.
fn journal_error(text: &str) {
    for line in text.lines() {
        eprintln!("<3>{line}");
    }
}

/// The formatting layer for a format and a sink, writing to `writer` (stderr, or a test's).
fn fmt_layer<S, W>(format: LogFormat, sink: Sink, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(matches!(sink, Sink::Terminal { colour: true }));
    let json = || {
        tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_span_list(false)
    };
    match (format, sink) {
        (LogFormat::Text, Sink::Journal) => base
            .event_format(Prioritized(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_level(false),
            ))
            .boxed(),
        (LogFormat::Text, _) => base.boxed(),
        (LogFormat::Json, Sink::Journal) => base
            .fmt_fields(JsonFields::new())
            .event_format(Prioritized(json().without_time()))
            .boxed(),
        (LogFormat::Json, _) => base
            .fmt_fields(JsonFields::new())
            .event_format(json())
            .boxed(),
    }
}

/// An event format with the level as a syslog priority prefix in front (sd-daemon(3)).
struct Prioritized<F>(F);

/// The syslog priority of a level.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<S, N, F> FormatEvent<S, N> for Prioritized<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// Whether stderr is the stream systemd connected to the journal: `JOURNAL_STREAM` is
/// `DEVICE:INODE` of that stream, and a child whose stderr was redirected inherits the variable
/// but not the stream.
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the layer for `format` and `sink` writes for `emit`.
    fn logged(format: LogFormat, sink: Sink, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(fmt_layer(format, sink, move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn journal_lines_carry_the_syslog_priority_and_no_timestamp() {
        let text = logged(LogFormat::Text, Sink::Journal, || {
            tracing::error!("e");
            tracing::warn!("w");
            tracing::info!(source = "mic", "i");
            tracing::debug!("d");
            tracing::trace!("t");
        });
        let lines: Vec<&str> = text.lines().collect();
        // No filter here: every level is written.
        assert_eq!(lines.len(), 5, "{text}");
        for (line, prefix) in lines.iter().zip(["<3>", "<4>", "<6>", "<7>", "<7>"]) {
            assert!(line.starts_with(prefix), "{text}");
        }
        assert!(lines[0].ends_with(": e"), "{text}");
        assert!(lines[2].contains("source=\"mic\""), "{text}");
        // The priority is the level; no timestamp, no colour.
        assert!(!text.contains("INFO") && !text.contains('\x1b'), "{text}");
        assert!(!has_timestamp(&text), "{text}");
    }

    #[test]
    fn journal_json_lines_are_prefixed_json_objects() {
        let text = logged(LogFormat::Json, Sink::Journal, || {
            tracing::warn!(source = "mic", "overrun");
        });
        let line = text.trim_end();
        let json = line.strip_prefix("<4>").expect(line);
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(value["level"], "WARN");
        assert_eq!(value["message"], "overrun");
        assert_eq!(value["source"], "mic");
        assert!(value.get("timestamp").is_none(), "{line}");
    }

    /// Whether `text` holds an RFC 3339 date and time ("2026-12-03T17:22").
    fn has_timestamp(text: &str) -> bool {
        let shape = b"dddd-dd-ddTdd:dd";
        text.as_bytes().windows(shape.len()).any(|w| {
            w.iter().zip(shape).all(|(c, s)| {
                if *s == b'd' {
                    c.is_ascii_digit()
                } else {
                    c == s
                }
            })
        })
    }

    #[test]
    fn plain_lines_carry_a_timestamp_and_no_colour() {
        let text = logged(LogFormat::Text, Sink::Plain, || tracing::info!("i"));
        assert!(has_timestamp(&text), "{text}");
        assert!(text.contains("INFO") && !text.contains('\x1b'), "{text}");
    }

    #[test]
    fn the_priorities_follow_syslog() {
        let got: Vec<u8> = [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ]
        .into_iter()
        .map(priority)
        .collect();
        assert_eq!(got, [3, 4, 6, 7, 7]);
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color_and_the_journal_wins() {
        assert_eq!(
            Sink::choose(false, true, false),
            Sink::Terminal { colour: true }
        );
        assert_eq!(
            Sink::choose(false, true, true),
            Sink::Terminal { colour: false }
        );
        assert_eq!(Sink::choose(false, false, false), Sink::Plain);
        assert_eq!(Sink::choose(true, true, false), Sink::Journal);
        assert_eq!(Sink::choose(true, false, false), Sink::Journal);
    }
}
