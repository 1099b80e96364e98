//! Delivery that survives the process: the durable outbox (`{state_dir}/outbox`) keeps finals
//! made while the broker is away across a `kill -9`, and the next start sends them first, in
//! order. Real binary, real Mosquitto on a port of its own, espeak-ng speech.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::stream::{
    Daemon, PrivateBroker, Received, Subscriber, config_head, one_at_a_time, silence_wav,
    unique_prefix, utterances_wav,
};
use common::{models_dir, perceptd, scratch_dir, stdout};
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
    let (speech, texts) = utterances_wav(&dir, &[3, 4, 5], 1.0, 1.5);
    // The daemon must still be running when it is killed: a long silence after the speech.
    let hush = dir.join("hush.wav");
    silence_wav(&hush, 120.0);
    let wav = dir.join("speech_then_silence.wav");
    common::stream::run_ok(Command::new("sox").arg(&speech).arg(&hush).arg(&wav));

    // The subscriber's persistent session is made first; then the broker goes down, and the
    // daemon never sees it up during the speech.
    let mut broker = PrivateBroker::start(&dir);
    let prefix = unique_prefix("outbox");
    let subscriber = Subscriber::start(
        broker.port,
        &format!("{prefix}/#"),
        Some(&format!("{prefix}-sub")),
    );
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
    let normalizer =
        EnglishNormalizer::from_json_file(models_dir().join("whisper-tiny.en/english.json"))
            .unwrap();
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
