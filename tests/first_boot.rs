//! First boot of the packaged service, before `perceptd models fetch`: under systemd
//! (`$NOTIFY_SOCKET`) the daemon must not exit (that would be a restart loop): it says once
//! what to run, reports `READY=1` with a not-ready `STATUS=`, and starts when the models appear.
//! The test owns the notify socket.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::stream::{Lines, one_at_a_time, silence_wav};
use common::{models_dir, perceptd, scratch_dir};

/// Every datagram that arrives within `timeout`, until one contains `until`.
fn datagrams_until(socket: &UnixDatagram, until: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = text.contains(until);
            got.push(text);
            if done {
                break;
            }
        }
    }
    got
}

#[test]
fn without_models_the_service_waits_not_ready_and_starts_when_they_appear() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("first_boot");
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let wav = dir.join("hush.wav");
    silence_wav(&wav, 60.0);
    let config = dir.join("perceptd.toml");
    std::fs::write(
        &config,
        format!(
            "device = \"firstboot\"\nmodels_dir = \"{}\"\n[log]\nstats_interval_secs = 0\n\
             [[source]]\nkind = \"file\"\nname = \"clip\"\npath = \"{}\"\nrealtime = true\n",
            models.display(),
            wav.display()
        ),
    )
    .unwrap();
    let socket_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let mut child = perceptd()
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("PERCEPTD_MODELS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Lines::collect_from_child(child.stderr.take().unwrap());

    let first = datagrams_until(&socket, "STATUS=not ready", Duration::from_secs(30));
    let waiting = first.last().cloned().unwrap_or_default();
    assert!(
        waiting.contains("READY=1") && waiting.contains("waiting for models"),
        "{first:?}\n{}",
        log.snapshot().join("\n")
    );
    // Two more polls: still alive, and the instruction was logged once.
    std::thread::sleep(Duration::from_secs(11));
    assert!(child.try_wait().unwrap().is_none(), "the daemon exited");
    let told = log
        .snapshot()
        .iter()
        .filter(|l| l.contains("perceptd models fetch"))
        .count();
    assert_eq!(told, 1, "{}", log.snapshot().join("\n"));

    // `perceptd models fetch` happens: the models appear and the daemon starts.
    for name in ["whisper-tiny.en", "silero-vad"] {
        std::os::unix::fs::symlink(models_dir().join(name), models.join(name)).unwrap();
    }
    let later = datagrams_until(&socket, "STATUS=running", Duration::from_secs(60));
    assert!(
        later.iter().any(|d| d.contains("STATUS=running")),
        "{later:?}\n{}",
        log.snapshot().join("\n")
    );
    assert!(
        log.snapshot()
            .iter()
            .any(|l| l.contains("perceptd running"))
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{status:?}\n{}",
        log.snapshot().join("\n")
    );
}
