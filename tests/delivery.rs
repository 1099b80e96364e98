//! Delivery that survives the process: the durable outbox (`{state_dir}/outbox`) keeps finals
//! made while the broker is away across a `kill -9`, and the next start sends them first, in
//! order. Real binary, real Mosquitto on a port of its own, espeak-ng speech.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::stream::{
    Daemon, PrivateBroker, Received, Subscriber, config_head, one_at_a_time, silence_wav,
    unique_prefix, utterances_wav,
};
use common::{perceptd, scratch_dir, stdout};
use percept_models::eval::{EnglishNormalizer, wer_for_texts};
use serde_json::Value;

const DEVICE: &str = "outboxbox";

/// A daemon on `wav` (real time) publishing to `port`, its outbox in `state_dir`.
fn config(prefix: &str, port: u16, state_dir: &Path, wav: &Path) -> String {
    let head = config_head(
        DEVICE,
        prefix,
        &format!(
            "url = \"mqtt://127.0.0.1:{port}\"\nreconnect_min_ms = 100\nreconnect_max_ms = 1000"
        ),
    );
    format!(
        r#"state_dir = "{}"
{head}
[speech]
threads = 2
partial_interval_ms = 0
[vad]
soft_max_utterance_ms = 5000
[[source]]
kind = "file"
name = "clip"
path = "{}"
realtime = true
"#,
        state_dir.display(),
        wav.display()
    )
}

/// `perceptd outbox inspect --state-dir DIR`'s "messages waiting" count.
fn waiting(state_dir: &Path) -> u64 {
    let out = perceptd()
        .args(["outbox", "inspect", "--state-dir"])
        .arg(state_dir)
        .output()
        .expect("run perceptd outbox inspect");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = stdout(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("messages waiting: "))
        .unwrap_or_else(|| panic!("no count in {text:?}"))
        .trim()
        .parse()
        .unwrap()
}

/// `indices`' sentences (espeak-ng, 1.5 s apart) followed by `silence_secs` of silence, so the
/// daemon is still running after the speech; the WAV and the sentences.
fn speech_then_silence(dir: &Path, indices: &[usize], silence_secs: f32) -> (PathBuf, Vec<String>) {
    let (speech, texts) = utterances_wav(dir, indices, 1.0, 1.5);
    let hush = dir.join("hush.wav");
    silence_wav(&hush, silence_secs);
    let wav = dir.join("speech_then_silence.wav");
    common::stream::run_ok(Command::new("sox").arg(&speech).arg(&hush).arg(&wav));
    (wav, texts)
}

/// A subscriber to everything under `prefix`, in a persistent session that outlives broker restarts.
fn persistent_subscriber(port: u16, prefix: &str) -> Subscriber {
    Subscriber::start(port, &format!("{prefix}/#"), Some(&format!("{prefix}-sub")))
}

fn finals(messages: &[Received], prefix: &str) -> Vec<Value> {
    let topic = format!("{prefix}/{DEVICE}/audio/clip/transcript");
    messages
        .iter()
        .filter(|m| m.topic == topic)
        .map(|m| serde_json::from_str(&m.payload).expect("JSON"))
        .collect()
}

#[test]
fn finals_made_while_the_broker_is_down_survive_kill_9_and_arrive_in_order_after_restart() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("outbox_kill9");
    let state_dir = dir.join("state");
    // The daemon must still be running when it is killed: a long silence after the speech.
    let (wav, texts) = speech_then_silence(&dir, &[3, 4, 5], 120.0);

    // The subscriber's persistent session is made first; then the broker goes down, and the
    // daemon never sees it up during the speech.
    let mut broker = PrivateBroker::start(&dir);
    let prefix = unique_prefix("outbox");
    let subscriber = persistent_subscriber(broker.port, &prefix);
    broker.stop();

    let mut daemon = Daemon::start(&dir, &config(&prefix, broker.port, &state_dir, &wav));
    let deadline = Instant::now() + Duration::from_secs(120);
    while waiting(&state_dir) < 3 {
        assert!(
            Instant::now() < deadline,
            "three finals in the outbox; log: {:?}",
            daemon.log.snapshot()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // kill -9: no flush, no shutdown path at all.
    let _ = daemon.wait(Duration::ZERO);
    assert_eq!(waiting(&state_dir), 3, "the outbox outlives the process");

    broker.restart();
    let quiet = dir.join("quiet.wav");
    silence_wav(&quiet, 8.0);
    let mut second = Daemon::start(&dir, &config(&prefix, broker.port, &state_dir, &quiet));
    assert!(
        subscriber.wait_until(Duration::from_secs(60), |m| finals(m, &prefix).len() >= 3),
        "three finals after the restart; got {:?}",
        finals(&subscriber.messages(), &prefix)
    );
    let status = second
        .wait(Duration::from_secs(60))
        .expect("the second daemon exits when its file ends");
    assert!(status.success());
    assert!(
        second
            .log
            .snapshot()
            .iter()
            .any(|l| l.contains("messages from an earlier run are sent first")),
        "the replay is logged"
    );
    assert_eq!(second.final_counter("outbox_replayed"), Some(3));
    assert_eq!(
        waiting(&state_dir),
        0,
        "acknowledged finals leave the outbox"
    );

    let mut got = finals(&subscriber.messages(), &prefix);
    // At least once: a final may come twice; each utterance once, in order.
    got.dedup_by(|a, b| a["utterance_id"] == b["utterance_id"]);
    assert_eq!(got.len(), 3, "{got:?}");
    let offsets: Vec<f64> = got
        .iter()
        .map(|f| f["start_offset_s"].as_f64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "in order: {offsets:?}"
    );
    let normalizer = common::english_normalizer();
    for (final_msg, text) in got.iter().zip(&texts) {
        let hyp = final_msg["text"].as_str().unwrap().to_string();
        let wer = wer_for_texts(
            &normalizer,
            std::slice::from_ref(text),
            std::slice::from_ref(&hyp),
        )
        .unwrap()
        .wer();
        eprintln!(
            "replayed final {hyp:?} for {text:?}: WER {:.0}%",
            wer * 100.0
        );
        assert!(wer <= 0.4, "{hyp:?} is not {text:?}");
    }
}

/// Resident memory of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The best WER of `text` against any of `finals`.
fn best_wer(normalizer: &EnglishNormalizer, text: &str, finals: &[Value]) -> f64 {
    finals
        .iter()
        .map(|f| {
            let hyp = f["text"].as_str().unwrap_or_default().to_string();
            wer_for_texts(normalizer, &[text.to_string()], std::slice::from_ref(&hyp))
                .unwrap()
                .wer()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn every_sentence_arrives_although_the_broker_restarts_ten_times_during_two_minutes_of_speech() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("outbox_flapping");
    let indices: Vec<usize> = (0..12).collect();
    let (wav, texts) = utterances_wav(&dir, &indices, 1.0, 5.0);
    let mut broker = PrivateBroker::start(&dir);
    let prefix = unique_prefix("flap");
    let subscriber = persistent_subscriber(broker.port, &prefix);
    let mut daemon = Daemon::start_logging(
        &dir,
        &config(&prefix, broker.port, &dir.join("state"), &wav),
        false,
    );
    let pid = daemon.pid();
    let mut rss = Vec::new();
    let started = Instant::now();
    // Ten restarts, 2-4 s down each, spread over the stream (~105 s of audio).
    for n in 0..10u64 {
        for _ in 0..5 {
            rss.extend(rss_kib(pid));
            std::thread::sleep(Duration::from_secs(1));
        }
        broker.stop();
        std::thread::sleep(Duration::from_millis(2000 + 250 * (n % 5) * 2));
        broker.restart();
    }
    let deadline = Instant::now() + Duration::from_secs(150);
    let status = loop {
        if let Some(status) = daemon.exited() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon exits when its file ends"
        );
        rss.extend(rss_kib(pid));
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(status.success(), "exit {status:?}");
    let log = daemon.log.snapshot();
    let normalizer = common::english_normalizer();
    let all_arrived = |m: &[Received]| {
        let got = finals(m, &prefix);
        texts.iter().all(|t| best_wer(&normalizer, t, &got) <= 0.4)
    };
    let arrived = subscriber.wait_until(Duration::from_secs(30), all_arrived);
    let got = finals(&subscriber.messages(), &prefix);
    for text in &texts {
        eprintln!(
            "{text:?}: best WER {:.0}%",
            best_wer(&normalizer, text, &got) * 100.0
        );
    }
    let disconnects = daemon.final_counter("mqtt_disconnects");
    // Samples once the models are loaded (the first and last ones catch start and exit).
    let steady: Vec<u64> = rss.iter().copied().filter(|&kib| kib > 32 * 1024).collect();
    eprintln!(
        "flapping: {} finals received for {} sentences over {:.0} s, disconnects {disconnects:?}, \
         outbox_written {:?}, outbox_bytes_written {:?}, outbox_fsyncs {:?}, mqtt_dropped {:?}, RSS first {} min {} max {} last {} KiB (samples {})",
        got.len(),
        texts.len(),
        started.elapsed().as_secs_f64(),
        daemon.final_counter("outbox_written"),
        daemon.final_counter("outbox_bytes_written"),
        daemon.final_counter("outbox_fsyncs"),
        daemon.final_counter("mqtt_dropped"),
        steady.first().unwrap_or(&0),
        steady.iter().min().unwrap_or(&0),
        steady.iter().max().unwrap_or(&0),
        steady.last().unwrap_or(&0),
        steady.len()
    );
    assert!(
        arrived,
        "every sentence in a final at least once; log tail: {:?}",
        &log[log.len().saturating_sub(20)..]
    );
    assert!(
        disconnects.unwrap_or(0) >= 5,
        "the broker really went away: {disconnects:?}"
    );
}

#[test]
fn a_broker_that_accepts_and_never_answers_is_a_timeout_with_backoff_and_nothing_is_lost() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("outbox_silent_broker");
    let (wav, texts) = speech_then_silence(&dir, &[9, 10], 20.0);

    // The subscriber's session first, on the port the silent listener takes over.
    let mut broker = PrivateBroker::start(&dir);
    let port = broker.port;
    let prefix = unique_prefix("silent");
    let subscriber = persistent_subscriber(port, &prefix);
    broker.stop();
    let silent = std::net::TcpListener::bind(("127.0.0.1", port)).expect("take the port");
    silent.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_flag = stop.clone();
    // Accepts every connection and never answers; returns how many it accepted.
    let listener = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
            match silent.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        held.len()
    });

    let mut daemon = Daemon::start(&dir, &config(&prefix, port, &dir.join("state"), &wav));
    let timeout_line = daemon
        .log
        .wait_for(Duration::from_secs(60), |l| l.contains("no CONNACK within"))
        .expect("a silent broker is named as such");
    eprintln!("{timeout_line}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while waiting(&dir.join("state")) < 2 {
        assert!(Instant::now() < deadline, "two finals wait in the outbox");
        std::thread::sleep(Duration::from_millis(500));
    }
    // The real broker comes back on the same port.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let accepted = listener.join().unwrap();
    eprintln!("silent listener accepted {accepted} connections");
    assert!(
        (2..=12).contains(&accepted),
        "backoff, not a spin: {accepted} connection attempts"
    );
    let _broker = PrivateBroker::start_on(&dir, port);
    assert!(
        subscriber.wait_until(Duration::from_secs(60), |m| finals(m, &prefix).len() >= 2),
        "both finals after the broker answers"
    );
    let status = daemon
        .wait(Duration::from_secs(60))
        .expect("exits at the file's end");
    assert!(status.success());
    let got = finals(&subscriber.messages(), &prefix);
    let normalizer = common::english_normalizer();
    for text in &texts {
        assert!(
            best_wer(&normalizer, text, &got) <= 0.4,
            "{text:?} in {got:?}"
        );
    }
}

/// Not a test: the outbox's disk traffic under steady speech, for BENCHMARKS.md (`cargo test
/// --workspace --test delivery outbox_io -- --ignored --nocapture`): the 12 test sentences with
/// 5 s pauses (~105 s of real time, a final every ~9 s), once with the broker up and once down.
#[test]
#[ignore]
fn outbox_io_under_steady_speech() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("outbox_io");
    let indices: Vec<usize> = (0..12).collect();
    let (wav, _) = utterances_wav(&dir, &indices, 1.0, 5.0);
    let broker = PrivateBroker::start(&dir);
    let down_port = common::stream::free_port();
    for (case, port) in [("broker up", broker.port), ("broker down", down_port)] {
        let run = dir.join(case.replace(' ', "_"));
        std::fs::create_dir_all(&run).unwrap();
        let prefix = unique_prefix("io");
        let started = Instant::now();
        let mut daemon = Daemon::start_logging(
            &run,
            &config(&prefix, port, &run.join("state"), &wav),
            false,
        );
        let status = daemon
            .wait(Duration::from_secs(200))
            .expect("ends with its file");
        assert!(status.success());
        let secs = started.elapsed().as_secs_f64();
        let get = |name| daemon.final_counter(name).unwrap_or(0);
        let per_hour = |n: u64| n as f64 * 3600.0 / secs;
        println!(
            "{case}: {secs:.0} s, {} finals written ({:.0}/h), {} bytes ({:.0} KB/h), {} fsyncs ({:.0}/h)",
            get("outbox_written"),
            per_hour(get("outbox_written")),
            get("outbox_bytes_written"),
            per_hour(get("outbox_bytes_written")) / 1000.0,
            get("outbox_fsyncs"),
            per_hour(get("outbox_fsyncs")),
        );
    }
}

#[test]
fn an_unusable_state_dir_falls_back_to_memory_with_one_warning_and_finals_still_arrive() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("outbox_unusable");
    let (wav, texts) = utterances_wav(&dir, &[11], 1.0, 1.5);
    // A state_dir that is a plain file: the outbox directory cannot be made under it.
    let not_a_dir = dir.join("state-is-a-file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let broker = PrivateBroker::start(&dir);
    let prefix = unique_prefix("unusable");
    let subscriber = Subscriber::start(broker.port, &format!("{prefix}/#"), None);
    let mut daemon = Daemon::start(&dir, &config(&prefix, broker.port, &not_a_dir, &wav));
    let status = daemon
        .wait(Duration::from_secs(60))
        .expect("exits at the file's end");
    assert!(
        status.success(),
        "start and stop do not fail because of the outbox"
    );
    assert!(
        subscriber.wait_until(Duration::from_secs(10), |m| finals(m, &prefix).len() == 1),
        "the final arrives from memory"
    );
    let warnings = daemon
        .log
        .snapshot()
        .into_iter()
        .filter(|l| l.contains("outbox unavailable"))
        .count();
    assert_eq!(warnings, 1, "one warning line");
    assert_eq!(daemon.final_counter("outbox_fallbacks"), Some(1));
    let got = finals(&subscriber.messages(), &prefix);
    let normalizer = common::english_normalizer();
    assert!(best_wer(&normalizer, &texts[0], &got) <= 0.4, "{got:?}");
}
