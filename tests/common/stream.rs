//! Helpers for the streaming-daemon tests: spoken test WAVs, a `perceptd run` child with its log,
//! an MQTT subscriber (mosquitto_sub) and a private mosquitto the test may kill.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::{perceptd, sentences};

/// Runs a command and panics with its stderr if it fails.
pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Seconds of digital silence as a 16 kHz mono WAV.
pub fn silence_wav(path: &Path, secs: f32) {
    run_ok(
        Command::new("sox")
            .args(["-n", "-r", "16000", "-c", "1", "-b", "16"])
            .arg(path)
            .args(["trim", "0", &secs.to_string()]),
    );
}

/// `sentences[i]` for each index, spoken by espeak-ng, with `gap_secs` of silence between them
/// (and `lead_secs` before, 2 s after), as one 16 kHz mono WAV. Returns the WAV and the texts.
pub fn utterances_wav(
    dir: &Path,
    indices: &[usize],
    lead_secs: f32,
    gap_secs: f32,
) -> (PathBuf, Vec<String>) {
    let all = sentences();
    let mut parts = Vec::new();
    let lead = dir.join("lead.wav");
    silence_wav(&lead, lead_secs);
    parts.push(lead);
    let gap = dir.join("gap.wav");
    silence_wav(&gap, gap_secs);
    let mut texts = Vec::new();
    for (n, &i) in indices.iter().enumerate() {
        let raw = dir.join(format!("u{n}_22k.wav"));
        run_ok(
            Command::new("espeak-ng")
                .args(["-v", "en-us", "-s", "150", "-w"])
                .arg(&raw)
                .arg(&all[i]),
        );
        let wav = dir.join(format!("u{n}.wav"));
        run_ok(
            Command::new("sox")
                .arg(&raw)
                .args(["-r", "16000", "-c", "1", "-b", "16"])
                .arg(&wav),
        );
        if n > 0 {
            parts.push(gap.clone());
        }
        parts.push(wav);
        texts.push(all[i].clone());
    }
    let tail = dir.join("tail.wav");
    silence_wav(&tail, 2.0);
    parts.push(tail);
    let out = dir.join("utterances.wav");
    run_ok(Command::new("sox").args(&parts).arg(&out));
    (out, texts)
}

/// The daemons of one test binary run one at a time: each uses both cores for inference, and
/// latency and the 5 s shutdown bound are about one daemon on this machine, not several
/// competing ones. Hold the guard for the whole test.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE_DAEMON_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_DAEMON_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The `[mqtt]` line that points a test daemon at the Mosquitto on 127.0.0.1:1883.
pub const MOSQUITTO_URL: &str = "url = \"mqtt://127.0.0.1:1883\"";

/// The start of every test daemon's config: its device name, the MQTT topic prefix plus
/// `mqtt_extra` lines (such as `url = …`; none: the embedded broker), and no stats messages.
pub fn config_head(device: &str, prefix: &str, mqtt_extra: &str) -> String {
    format!(
        "device = \"{device}\"\n[mqtt]\ntopic_prefix = \"{prefix}\"\n{mqtt_extra}\n[log]\nstats_interval_secs = 0\n"
    )
}

/// A topic prefix no other test (or earlier run) uses.
pub fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("perceptd-test-{tag}-{}-{nanos}", std::process::id())
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines collected from a child's pipe by a reader thread, each with the time it was read.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<(SystemTime, String)>>>);

impl Lines {
    /// Collects a child's stderr (or stdout), echoed to the test's stderr.
    pub fn collect_from_child(reader: impl std::io::Read + Send + 'static) -> Self {
        Self::collect_from(reader, Some("perceptd"))
    }

    fn collect_from(
        reader: impl std::io::Read + Send + 'static,
        echo: Option<&'static str>,
    ) -> Self {
        let lines = Lines::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                if let Some(tag) = echo {
                    eprintln!("[{tag}] {line}");
                }
                sink.0.lock().unwrap().push((SystemTime::now(), line));
            }
        });
        lines
    }

    /// Everything so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Everything so far, with the time each line was read.
    pub fn timed_snapshot(&self) -> Vec<(SystemTime, String)> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `pred`; returns it, or None after `timeout`.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.snapshot().into_iter().find(|l| pred(l)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `perceptd run --config FILE` as a child process, its stderr collected (and echoed).
pub struct Daemon {
    child: Child,
    /// The log lines.
    pub log: Lines,
}

impl Daemon {
    /// Writes `config` into `dir` and starts the daemon on it, its log echoed to stderr.
    pub fn start(dir: &Path, config: &str) -> Self {
        Self::start_logging(dir, config, true)
    }

    /// Like [`Daemon::start`]; `echo = false` keeps a long run's log out of the test output
    /// (it is still collected).
    pub fn start_logging(dir: &Path, config: &str, echo: bool) -> Self {
        let path = dir.join("perceptd.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = perceptd()
            .args(["run", "--config"])
            .arg(&path)
            .arg("--models-dir")
            .arg(super::models_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start perceptd run");
        let log = Lines::collect_from(child.stderr.take().unwrap(), echo.then_some("perceptd"));
        Daemon { child, log }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        run_ok(Command::new("kill").args(["-TERM", &self.pid().to_string()]));
    }

    /// The exit status, if it has exited (does not wait).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits for the exit, up to `timeout`; None if it is still running (then it is killed).
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The embedded broker's port, from the log line announcing it.
    pub fn embedded_broker_port(&self) -> u16 {
        let line = self
            .log
            .wait_for(Duration::from_secs(60), |l| {
                l.contains("embedded MQTT broker on mqtt://")
            })
            .expect("the daemon announces its embedded broker");
        let addr = line.split("mqtt://").nth(1).unwrap();
        let port: String = addr
            .split(':')
            .nth(1)
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        port.parse().unwrap()
    }

    /// A counter's value from the final "perceptd stopped" log line.
    pub fn final_counter(&self, name: &str) -> Option<u64> {
        let line = self
            .log
            .snapshot()
            .into_iter()
            .rev()
            .find(|l| l.contains("perceptd stopped"))?;
        let key = format!("\"{name}\":");
        let rest = &line[line.find(&key)? + key.len()..];
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message seen by the subscriber.
#[derive(Debug, Clone)]
pub struct Received {
    /// The topic.
    pub topic: String,
    /// The payload as text.
    pub payload: String,
    /// When the subscriber printed it.
    pub at: SystemTime,
}

/// `mosquitto_sub -v` on `{filter}` at host:port, QoS 1.
pub struct Subscriber {
    child: Child,
    lines: Lines,
}

impl Subscriber {
    /// Subscribes (a persistent session when `client_id` is given) and waits for the SUBACK.
    pub fn start(port: u16, filter: &str, client_id: Option<&str>) -> Self {
        Self::start_filters(port, &[filter], client_id)
    }

    /// Like [`Subscriber::start`], with several topic filters (text payloads only: a binary
    /// payload would end the line reader).
    pub fn start_filters(port: u16, filters: &[&str], client_id: Option<&str>) -> Self {
        Self::start_with(port, filters, client_id, &[])
    }

    /// Like [`Subscriber::start_filters`], with more `mosquitto_sub` arguments (credentials).
    pub fn start_with(
        port: u16,
        filters: &[&str],
        client_id: Option<&str>,
        extra: &[&str],
    ) -> Self {
        // Line-buffered: mosquitto_sub block-buffers a piped stdout otherwise.
        let mut cmd = Command::new("stdbuf");
        cmd.args([
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
            "-q",
            "1",
            "-d",
        ]);
        for filter in filters {
            cmd.args(["-t", filter]);
        }
        if let Some(id) = client_id {
            cmd.args(["-c", "-i", id]);
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub (apt install mosquitto-clients)");
        let lines = Lines::collect_from(child.stdout.take().unwrap(), None);
        lines
            .wait_for(Duration::from_secs(10), |l| l.contains("SUBACK"))
            .expect("mosquitto_sub subscribed");
        Subscriber { child, lines }
    }

    /// Messages received so far (debug lines from `-d` removed).
    pub fn messages(&self) -> Vec<Received> {
        let lines = self.lines.timed_snapshot();
        let mut out = Vec::new();
        for (at, line) in lines {
            if line.starts_with("Client ") || line.starts_with("Subscribed") {
                continue;
            }
            if let Some((topic, payload)) = line.split_once(' ') {
                out.push(Received {
                    topic: topic.into(),
                    payload: payload.into(),
                    at,
                });
            }
        }
        out
    }

    /// Waits until `pred` holds for the messages so far.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&[Received]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.messages()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mosquitto of the test's own on a free port, with persistence so that a subscriber's
/// session survives a restart.
pub struct PrivateBroker {
    child: Option<Child>,
    conf: PathBuf,
    /// Its port.
    pub port: u16,
}

impl PrivateBroker {
    /// Writes its config into `dir` and starts it on a free port.
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    /// Like [`PrivateBroker::start`], on `port`.
    pub fn start_on(dir: &Path, port: u16) -> Self {
        let conf = dir.join("mosquitto.conf");
        // Started as root, mosquitto switches to its own user: the store must be writable by it,
        // or the subscriber's session (and its subscription) is lost over the restart.
        let store = dir.join("mosquitto-store");
        std::fs::create_dir_all(&store).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nautosave_interval 1\n",
                store.display()
            ),
        )
        .unwrap();
        let mut broker = PrivateBroker {
            child: None,
            conf,
            port,
        };
        broker.restart();
        broker
    }

    /// Starts it again (after `stop`), and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt install mosquitto)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "private mosquitto did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with SIGTERM (it saves its sessions) and waits for the exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            run_ok(Command::new("kill").args(["-TERM", &child.id().to_string()]));
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
