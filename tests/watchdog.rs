//! The systemd watchdog tied to progress: `perceptd::app::run_with` in process, its
//! `NOTIFY_SOCKET` a datagram socket this test owns (passed as a library option, not through the
//! process-wide environment) and `WATCHDOG_USEC` = 2 s. Pings come every second while every stage
//! shows progress, go on while the broker (a private Mosquitto the test kills) is down, with
//! `STATUS=degraded: …`, and stop once a stage is made to stall.

mod common;

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::scratch_dir;
use common::stream::{PrivateBroker, unique_prefix};
use perceptd::app::{RunOptions, run_with};
use perceptd::config::Config;
use perceptd::health::{Notifier, Progress};
use perceptd::shutdown::Shutdown;

/// What systemd would receive: each datagram with the time it came.
struct SystemdSocket {
    socket: UnixDatagram,
}

impl SystemdSocket {
    fn bind(path: &std::path::Path) -> Self {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Self { socket }
    }

    /// Every datagram that arrives within `window`.
    fn collect_for(&self, window: Duration) -> Vec<(Instant, String)> {
        let end = Instant::now() + window;
        let mut got = Vec::new();
        while Instant::now() < end {
            if let Some(message) = self.next() {
                got.push((Instant::now(), message));
            }
        }
        got
    }

    /// Reads datagrams until one has a line satisfying `pred` (that line), or `timeout` passes.
    /// Everything read on the way is appended to `seen`.
    fn wait_for(
        &self,
        timeout: Duration,
        seen: &mut Vec<String>,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(message) = self.next() {
                seen.push(message.clone());
                if let Some(line) = message.lines().find(|l| pred(l)) {
                    return Some(line.to_string());
                }
            }
        }
        None
    }

    fn next(&self) -> Option<String> {
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }
}

fn pings(messages: &[(Instant, String)]) -> usize {
    messages
        .iter()
        .filter(|(_, m)| m.lines().any(|l| l == "WATCHDOG=1"))
        .count()
}

/// Log lines of the in-process daemon.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(bytes)?;
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The log of every in-process daemon of this test binary (one subscriber per process).
fn log() -> Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        log
    })
    .clone()
}

/// Runs `run_with` on a runtime of its own, on a thread; its error comes back as text.
fn spawn_daemon(
    config: Config,
    shutdown: Shutdown,
    options: RunOptions,
) -> std::thread::JoinHandle<Result<(), String>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(run_with(config, shutdown, options))
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    })
}

/// A daemon looping the demo speech clip in real time, publishing to `port`.
fn config(port: u16, state_dir: &std::path::Path) -> Config {
    let clip = common::repo_root().join("configs/demo-speech.wav");
    let text = format!(
        r#"device = "watchdogbox"
models_dir = "{models}"
state_dir = "{state}"
[mqtt]
url = "mqtt://127.0.0.1:{port}"
topic_prefix = "{prefix}"
reconnect_min_ms = 100
reconnect_max_ms = 500
[log]
stats_interval_secs = 0
[speech]
threads = 1
partial_interval_ms = 0
[[source]]
kind = "file"
name = "clip"
path = "{clip}"
realtime = true
loop = true
"#,
        models = common::models_dir().display(),
        state = state_dir.display(),
        prefix = unique_prefix("watchdog"),
        clip = clip.display(),
    );
    Config::from_toml(&text, "watchdog test").expect("the test config is valid")
}

#[test]
fn pings_while_healthy_and_degraded_and_stop_when_a_stage_stalls() {
    let log = log();
    let dir = scratch_dir("watchdog");
    let mut broker = PrivateBroker::start(&dir);
    let socket_path = dir.join("notify.sock");
    let systemd = SystemdSocket::bind(&socket_path);
    let progress = Progress::new();
    let options = RunOptions {
        notifier: Notifier::to_socket(&socket_path),
        watchdog: Some(Duration::from_micros(2_000_000)),
        progress: progress.clone(),
        config_file: None,
    };
    let shutdown = Shutdown::new();
    let config = config(broker.port, &dir.join("state"));
    let daemon = spawn_daemon(config, shutdown.clone(), options);

    // Healthy: READY=1, STATUS=running, and a ping every second.
    let mut seen = Vec::new();
    systemd
        .wait_for(Duration::from_secs(120), &mut seen, |l| l == "READY=1")
        .unwrap_or_else(|| panic!("no READY=1; got {seen:?}"));
    systemd
        .wait_for(Duration::from_secs(30), &mut seen, |l| {
            l == "STATUS=running"
        })
        .unwrap_or_else(|| panic!("no STATUS=running; got {seen:?}"));
    let healthy = systemd.collect_for(Duration::from_secs(4));
    assert!(
        pings(&healthy) >= 3,
        "healthy: {} pings in 4 s: {healthy:?}",
        pings(&healthy)
    );
    for stage in ["mqtt", "source clip", "vad clip", "inference"] {
        assert!(
            progress.stage_names().iter().any(|s| s == stage),
            "{stage} is watched: {:?}",
            progress.stage_names()
        );
    }

    // The broker goes away: degraded, not stalled; the pings go on.
    broker.stop();
    let expected = format!(
        "STATUS=degraded: mqtt broker unreachable (mqtt://127.0.0.1:{})",
        broker.port
    );
    let degraded = systemd
        .wait_for(Duration::from_secs(30), &mut seen, |l| {
            l.starts_with("STATUS=degraded")
        })
        .unwrap_or_else(|| panic!("no STATUS=degraded; got {seen:?}"));
    assert_eq!(degraded, expected);
    let offline = systemd.collect_for(Duration::from_secs(4));
    assert!(
        pings(&offline) >= 3,
        "degraded: {} pings in 4 s: {offline:?}",
        pings(&offline)
    );

    // The broker is back: running again.
    broker.restart();
    systemd
        .wait_for(Duration::from_secs(30), &mut seen, |l| {
            l == "STATUS=running"
        })
        .unwrap_or_else(|| panic!("no STATUS=running after the broker came back; got {seen:?}"));

    // A stage stalls: STATUS says which, and the pings stop.
    progress
        .heartbeat("inference")
        .expect("the worker is registered")
        .stall_for_test();
    let stalled = systemd
        .wait_for(Duration::from_secs(10), &mut seen, |l| {
            l.starts_with("STATUS=stalled")
        })
        .unwrap_or_else(|| panic!("no STATUS=stalled; got {seen:?}"));
    assert!(
        stalled.starts_with("STATUS=stalled: inference"),
        "{stalled}"
    );
    let after = systemd.collect_for(Duration::from_secs(4));
    assert_eq!(pings(&after), 0, "pings after the stall: {after:?}");
    let logged = log.text();
    assert_eq!(
        logged.matches("stage inference stalled").count(),
        1,
        "the stall is logged once at error: {logged}"
    );
    assert!(logged.contains("ERROR"), "{logged}");

    shutdown.trigger();
    let result = daemon.join().expect("the daemon thread");
    assert!(result.is_ok(), "run_with: {result:?}");
}

#[test]
fn a_first_boot_waiting_for_its_models_keeps_pinging() {
    let _log = log();
    let dir = scratch_dir("watchdog-first-boot");
    let empty = dir.join("models");
    std::fs::create_dir_all(&empty).unwrap();
    let socket_path = dir.join("notify.sock");
    let systemd = SystemdSocket::bind(&socket_path);
    let text = format!(
        "device = \"waitbox\"\nmodels_dir = \"{}\"\n[log]\nstats_interval_secs = 0\n",
        empty.display()
    );
    let config = Config::from_toml(&text, "first boot").unwrap();
    let options = RunOptions {
        notifier: Notifier::to_socket(&socket_path),
        watchdog: Some(Duration::from_micros(2_000_000)),
        progress: Progress::new(),
        config_file: None,
    };
    let shutdown = Shutdown::new();
    let daemon = spawn_daemon(config, shutdown.clone(), options);
    let mut seen = Vec::new();
    systemd
        .wait_for(Duration::from_secs(60), &mut seen, |l| {
            l.starts_with("STATUS=not ready: waiting for models")
        })
        .unwrap_or_else(|| panic!("no not-ready status; got {seen:?}"));
    // WatchdogSec= runs from READY=1: without pings a first boot would be killed and restarted.
    let waiting = systemd.collect_for(Duration::from_secs(4));
    assert!(
        pings(&waiting) >= 3,
        "waiting for models: {} pings in 4 s: {waiting:?}",
        pings(&waiting)
    );
    shutdown.trigger();
    assert_eq!(daemon.join().expect("the daemon thread"), Ok(()));
}
