//! The watchdog thread: every half watchdog period it checks every stage's [`Progress`] and, while
//! none is stalled, sends systemd `WATCHDOG=1`. `STATUS=` says `running`, `degraded: …` (the
//! broker is down, a source is reopening: pings go on) or `stalled: …` (pings stop, so systemd
//! restarts perceptd after `WatchdogSec=`). Without a watchdog but with `$NOTIFY_SOCKET` it only
//! keeps `STATUS=` current.
//!
//! A thread of its own, not a tokio task: a wedged runtime shows as the MQTT driver's heartbeat
//! going quiet instead of silencing the checker itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::notify::Notifier;
use super::progress::{Progress, Report};
use crate::shutdown::Shutdown;

/// How often `STATUS=` is brought up to date when systemd runs no watchdog.
const STATUS_ONLY_PERIOD: Duration = Duration::from_secs(5);

/// How often the watchdog checks and pings for a watchdog `timeout`: half of it (as
/// `sd_watchdog_enabled(3)` recommends), at least 10 ms.
pub fn ping_period(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(10))
}

/// The running watchdog thread; dropping it stops the thread (at once) and joins it.
#[derive(Debug)]
pub struct Watchdog {
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the watchdog thread when systemd listens (`notifier` enabled; else nothing runs).
    /// With `timeout` (`WATCHDOG_USEC`) stalls are checked and pings sent; without, only
    /// `STATUS=` is kept current.
    pub fn start(
        progress: Arc<Progress>,
        notifier: Notifier,
        timeout: Option<Duration>,
    ) -> std::io::Result<Self> {
        let stop = Shutdown::new();
        if !notifier.is_enabled() {
            return Ok(Self { stop, thread: None });
        }
        let period = timeout.map_or(STATUS_ONLY_PERIOD, ping_period);
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let mut watch = Watcher::default();
                loop {
                    let report = progress.check(timeout.is_some());
                    if let Some(message) = watch.step(&report, timeout.is_some()) {
                        notifier.notify(&message);
                    }
                    if stopped.sleep(period) {
                        return;
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the watchdog thread panicked");
        }
    }
}

/// What the watchdog has said so far: the last `STATUS=` and the stages it reported stalled.
#[derive(Debug, Default)]
struct Watcher {
    status: Option<String>,
    stalled: HashSet<String>,
}

impl Watcher {
    /// The datagram for this check (`WATCHDOG=1` and/or a changed `STATUS=`), logging each stage
    /// that stalls or recovers once.
    fn step(&mut self, report: &Report, pinging: bool) -> Option<String> {
        let now_stalled: HashSet<String> = report.stalled.iter().map(|s| s.stage.clone()).collect();
        for stall in &report.stalled {
            if !self.stalled.contains(&stall.stage) {
                tracing::error!(
                    stage = %stall.stage,
                    quiet_s = stall.quiet_for.as_secs(),
                    budget_s = stall.budget.as_secs(),
                    "stage {} stalled: no progress for {} s (budget {} s); watchdog pings stop, so systemd restarts perceptd",
                    stall.stage,
                    stall.quiet_for.as_secs(),
                    stall.budget.as_secs()
                );
            }
        }
        for stage in self.stalled.difference(&now_stalled) {
            tracing::warn!(stage = %stage, "stage {stage} shows progress again; watchdog pings resume");
        }
        self.stalled = now_stalled;
        let mut lines = Vec::new();
        if pinging && report.stalled.is_empty() {
            lines.push("WATCHDOG=1".to_string());
        }
        let status = report.status();
        if self.status.as_deref() != Some(status.as_str()) {
            lines.push(format!("STATUS={status}"));
            self.status = Some(status);
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::progress::Watch;

    #[test]
    fn pings_go_on_while_degraded_and_stop_at_a_stall_and_status_is_sent_on_change() {
        let progress = Progress::new();
        let mqtt = progress.register("mqtt", Duration::from_secs(60), Watch::Always);
        let worker = progress.register("inference", Duration::from_secs(60), Watch::WhileActive);
        let mut watch = Watcher::default();
        let mut step = || watch.step(&progress.check(true), true);
        assert_eq!(step().as_deref(), Some("WATCHDOG=1\nSTATUS=running"));
        assert_eq!(step().as_deref(), Some("WATCHDOG=1"));
        mqtt.degraded("broker unreachable (mqtt://127.0.0.1:1)");
        assert_eq!(
            step().as_deref(),
            Some("WATCHDOG=1\nSTATUS=degraded: mqtt broker unreachable (mqtt://127.0.0.1:1)")
        );
        mqtt.active();
        worker.stall_for_test();
        let stalled = step().unwrap();
        assert!(
            stalled.starts_with("STATUS=stalled: inference (no progress for"),
            "{stalled}"
        );
        assert_eq!(step(), None, "no ping and no repeated status while stalled");
    }

    #[test]
    fn without_a_watchdog_only_status_changes_are_sent() {
        let progress = Progress::new();
        let mut watch = Watcher::default();
        assert_eq!(
            watch.step(&progress.check(false), false).as_deref(),
            Some("STATUS=running")
        );
        assert_eq!(watch.step(&progress.check(false), false), None);
    }

    #[test]
    fn the_ping_period_is_half_the_timeout() {
        assert_eq!(
            ping_period(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
        assert_eq!(
            ping_period(Duration::from_micros(1)),
            Duration::from_millis(10)
        );
    }
}
