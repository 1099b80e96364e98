//! The microphone path end to end, with no sound card: a private PulseAudio server with a null
//! sink plays a 1 kHz tone, and cpal captures the sink's monitor through ALSA's `default` device
//! (Debian routes it to PulseAudio while a server runs).
//!
//! The server is found through `XDG_RUNTIME_DIR`, which a test can only set for a child process
//! (`std::env::set_var` is unsafe), so every check runs `perceptd` or this test binary itself as
//! a child with that variable set.

mod common;
mod source_conformance;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{perceptd, perceptd_bin, scratch_dir, stderr, stdout};
use source_conformance::{Expected, assert_tone, check_source_delivers};

const TONE_HZ: f64 = 1000.0;
const TONE_AMPLITUDE: f64 = 0.5;
/// Set (to anything) in the child that runs the in-process conformance check.
const CHILD_MARKER: &str = "PERCEPTD_MIC_CONFORMANCE_CHILD";

/// A PulseAudio server private to one test, killed on drop.
struct PrivatePulse {
    runtime_dir: PathBuf,
    scratch: PathBuf,
}

impl PrivatePulse {
    fn start(name: &str) -> Self {
        let scratch = scratch_dir(name);
        let runtime_dir = private_dir(&scratch.join("runtime"));
        let status = Command::new("pulseaudio")
            .args([
                "-D",
                "--exit-idle-time=-1",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=ci_sink rate=48000",
                "--load=module-always-sink",
            ])
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run pulseaudio (install it with scripts/setup.sh)");
        let pulse = Self {
            runtime_dir,
            scratch,
        };
        assert!(status.success(), "pulseaudio -D failed: {status}");
        // Ready once a client can talk to it (bounded wait).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = pulse
                .command("pactl")
                .arg("info")
                .output()
                .expect("run pactl");
            if info.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not come up: {}",
                stderr(&info)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pulse
    }

    /// `program` with this server's environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("XDG_RUNTIME_DIR", &self.runtime_dir);
        command
    }

    /// Plays a 20 s tone into the null sink from 0.5 s on (again if a test outlasts it) until
    /// stopped.
    fn play_tone(&self) -> TonePlayer {
        let tone = self.scratch.join("tone.wav");
        let status = Command::new("sox")
            .args(["-n", "-r", "48000", "-c", "1", "-b", "16"])
            .arg(&tone)
            .args(["synth", "20", "sine", "1000", "vol", "0.5"])
            .status()
            .expect("run sox");
        assert!(status.success(), "sox failed");
        let stop = Arc::new(AtomicBool::new(false));
        let mut command = self.command("paplay");
        command.args(["-d", "ci_sink"]).arg(&tone);
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            while !stopping.load(Ordering::Relaxed) {
                let mut child: Child = command.spawn().expect("run paplay");
                while child.try_wait().expect("wait for paplay").is_none() {
                    if stopping.load(Ordering::Relaxed) {
                        let _ = child.kill();
                        let _ = child.wait();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        TonePlayer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PrivatePulse {
    fn drop(&mut self) {
        let _ = self
            .command("pulseaudio")
            .arg("--kill")
            .stderr(Stdio::null())
            .status();
    }
}

/// Stops the tone loop on drop.
struct TonePlayer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TonePlayer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fresh directory only its owner can enter (what PulseAudio demands of a runtime dir).
fn private_dir(path: &Path) -> PathBuf {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .expect("create runtime dir");
    path.to_path_buf()
}

/// Runs `command`, killing it if it outlives `limit` (bounded wait, so a hang fails the test).
fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "still running after {limit:?}; stdout: {} stderr: {}",
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect output")
}

#[test]
fn capture_records_a_played_tone_through_the_real_mic_path() {
    let pulse = PrivatePulse::start("mic_capture_tone");
    let out_wav = pulse.scratch.join("captured.wav");
    let _player = pulse.play_tone();
    let mut command = pulse.command(perceptd_bin());
    command
        .args(["capture", "--seconds", "6", "--out"])
        .arg(&out_wav);
    let out = output_within(&mut command, Duration::from_secs(60));
    println!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "capture failed: {}", stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("device: alsa:default"), "{report}");
    assert!(report.contains("overruns: "), "{report}");

    let audio = percept_dsp::decode_wav(&std::fs::read(&out_wav).expect("read capture")).unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (16_000, 1));
    assert_eq!(audio.samples.len(), 6 * 16_000);
    assert_tone(&audio.samples, TONE_HZ, TONE_AMPLITUDE, 2.0);
}

#[test]
fn the_mic_source_passes_the_conformance_check() {
    let pulse = PrivatePulse::start("mic_capture_conformance");
    let _player = pulse.play_tone();
    let exe = std::env::current_exe().expect("own test binary");
    let mut command = pulse.command(exe);
    command
        .args(["mic_child_", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_MARKER, "1");
    let out = output_within(&mut command, Duration::from_secs(120));
    println!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "a mic child check failed");
    assert!(
        stdout(&out).contains("2 passed"),
        "the child checks did not run"
    );
}

/// Whether this process is a child started by `the_mic_source_passes_the_conformance_check`.
fn is_mic_child() -> bool {
    let child = std::env::var_os(CHILD_MARKER).is_some();
    if !child {
        eprintln!(
            "skipped: only meaningful as a child of the_mic_source_passes_the_conformance_check"
        );
    }
    child
}

/// The in-process half of `the_mic_source_passes_the_conformance_check`, run as a child with the
/// private server's environment; on its own it does nothing.
#[test]
#[ignore = "run by the_mic_source_passes_the_conformance_check"]
fn mic_child_conformance() {
    if !is_mic_child() {
        return;
    }
    use perceptd::sources::{AudioSource, MicSource};
    let mic = MicSource::open(None, MicSource::DEFAULT_RING_MS).expect("open the default mic");
    println!(
        "mic: {} {} Hz {} ch {}",
        mic.spec().name,
        mic.spec().sample_rate,
        mic.spec().channels,
        mic.sample_format()
    );
    let made = std::sync::Mutex::new(Some(mic));
    check_source_delivers(
        &|| Box::new(made.lock().unwrap().take().expect("the mic is opened once")),
        &Expected::Tone {
            hz: TONE_HZ,
            amplitude: TONE_AMPLITUDE,
            min_secs: 2.0,
        },
    );
}

#[test]
fn an_unknown_device_fails_with_one_line_listing_the_devices() {
    let pulse = PrivatePulse::start("mic_capture_unknown_device");
    let out_wav = pulse.scratch.join("never.wav");
    let mut command = pulse.command(perceptd_bin());
    command
        .args([
            "capture",
            "--device",
            "no-such-device",
            "--seconds",
            "1",
            "--out",
        ])
        .arg(&out_wav);
    let out = output_within(&mut command, Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "expected one line: {err}");
    assert!(
        err.starts_with(
            "perceptd: error: no input device named \"no-such-device\"; available input devices: "
        ),
        "{err}"
    );
    assert!(err.contains("alsa:default"), "{err}");
    assert!(!out_wav.exists());
}

#[test]
fn capture_without_a_sound_server_fails_cleanly_without_a_panic() {
    let scratch = scratch_dir("mic_capture_no_server");
    let runtime_dir = private_dir(&scratch.join("runtime"));
    let out_wav = scratch.join("never.wav");
    let mut command = perceptd();
    command
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .args(["capture", "--seconds", "1", "--out"])
        .arg(&out_wav);
    let out = output_within(&mut command, Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("perceptd: error: input device \"alsa:default\" is unavailable: "),
        "{err}"
    );
    assert!(!out_wav.exists());
}

/// Also run as a child: a pipeline that stops taking blocks makes the mic's ring overrun; the
/// loss is counted and reported on the next block delivered once the pipeline drains again.
#[test]
#[ignore = "run by the_mic_source_passes_the_conformance_check"]
fn mic_child_overrun_is_counted_and_reported_on_the_next_block() {
    if !is_mic_child() {
        return;
    }
    use perceptd::health::{Counter, Metrics};
    use perceptd::shutdown::Shutdown;
    use perceptd::sources::{AudioSource, MicSource, SourceContext, SourceEnd};

    let mic = MicSource::open(None, 100).expect("open the default mic");
    let monitor = mic.monitor();
    let shutdown = Shutdown::new();
    let metrics = Metrics::new();
    let (cx, rx) = SourceContext::new(1, shutdown.clone(), metrics.clone());
    let thread = std::thread::spawn(move || Box::new(mic).run(cx));
    // Nobody receives: the reader blocks on the full channel and the 100 ms ring overflows.
    let deadline = Instant::now() + Duration::from_secs(20);
    while monitor.stats().overruns == 0 {
        assert!(Instant::now() < deadline, "no overrun within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut reported = 0;
    for _ in 0..500 {
        let block = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a block after draining");
        if block.dropped_samples > 0 {
            reported = block.dropped_samples;
            break;
        }
    }
    shutdown.trigger();
    drop(rx);
    let end = thread.join().expect("mic thread").expect("mic run");
    assert!(matches!(
        end,
        SourceEnd::Shutdown | SourceEnd::ReceiverClosed
    ));
    let stats = monitor.stats();
    println!("overrun check: {stats:?}; first reported loss {reported} samples");
    assert!(reported > 0, "no block reported the loss");
    assert!(metrics.get(Counter::AudioOverruns) >= 1);
    assert!(metrics.get(Counter::DroppedAudioMs) >= reported * 1000 / 16_000);
}
