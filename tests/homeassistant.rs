//! Home Assistant discovery and the listening switch, end to end: the real binary on espeak-ng
//! speech and a camera (EfficientNet-Lite0), a Mosquitto of the test's own (retained test
//! messages must not pile up on a shared broker), `mosquitto_pub` playing Home Assistant.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use common::stream::{
    Daemon, PrivateBroker, Received, Subscriber, config_head, one_at_a_time, run_ok, silence_wav,
    unique_prefix, utterances_wav,
};
use common::{models_dir, scratch_dir};
use perceptd::homeassistant::required_keys;
use serde_json::Value;

const DEVICE: &str = "habox";
const LEAD_SECS: f32 = 1.0;
const GAP_SECS: f32 = 6.0;

fn config(
    prefix: &str,
    ha_prefix: &str,
    port: u16,
    state: &Path,
    wav: &Path,
    images: &Path,
) -> String {
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
[homeassistant]
discovery_prefix = "{ha_prefix}"
[speech]
threads = 2
partial_interval_ms = 0
[[source]]
kind = "file"
name = "clip"
path = "{}"
realtime = true
[vision]
embedding_interval_ms = 0
min_dwell_ms = 0
snapshot = true
[[camera]]
kind = "images"
name = "door"
path = "{}"
fps = 2
max_fps = 0
"#,
        state.display(),
        wav.display(),
        images.display()
    )
}

fn seconds(wav: &Path) -> f64 {
    let out = Command::new("sox")
        .arg("--i")
        .arg("-D")
        .arg(wav)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn mosquitto_pub(port: u16, topic: &str, payload: &str) {
    run_ok(Command::new("mosquitto_pub").args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-q",
        "1",
        "-t",
        topic,
        "-m",
        payload,
    ]));
}

/// The retained message of `topic`, as a fresh subscriber gets it.
fn retained(port: u16, topic: &str) -> Option<String> {
    let out = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            topic,
            "-C",
            "1",
            "-W",
            "3",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn on_topic<'a>(messages: &'a [Received], topic: &str) -> Vec<&'a Received> {
    messages.iter().filter(|m| m.topic == topic).collect()
}

#[test]
fn discovery_birth_speaking_and_the_listening_switch_work_against_a_private_broker() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("homeassistant");
    let state = dir.join("state");
    // An earlier run announced a source that is gone now: its entity must be removed.
    std::fs::create_dir_all(state.join("homeassistant")).unwrap();
    std::fs::write(
        state.join("homeassistant/components.json"),
        r#"{"audio_gone_speaking": "binary_sensor"}"#,
    )
    .unwrap();
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(
        models_dir().join("clip-assets/franz-kafka.jpg"),
        images.join("kafka.jpg"),
    )
    .expect("clip-assets/franz-kafka.jpg: run `perceptd models fetch`");
    // Sentences A, B, C, 6 s apart: A is heard, B is spoken while paused, C after resuming.
    let (speech, texts) = utterances_wav(&dir, &[0, 1, 4], LEAD_SECS, GAP_SECS);
    let hush = dir.join("hush.wav");
    silence_wav(&hush, 25.0);
    let wav = dir.join("abc.wav");
    run_ok(Command::new("sox").arg(&speech).arg(&hush).arg(&wav));
    let (a, b) = (seconds(&dir.join("u0.wav")), seconds(&dir.join("u1.wav")));
    let b_end = f64::from(LEAD_SECS) + a + f64::from(GAP_SECS) + b;

    let broker = PrivateBroker::start(&dir);
    let port = broker.port;
    let prefix = unique_prefix("ha");
    let ha = format!("{prefix}-ha");
    let root = format!("{prefix}/{DEVICE}");
    let sub = Subscriber::start_filters(
        port,
        &[
            &format!("{ha}/#"),
            &format!("{root}/status"),
            &format!("{root}/audio/#"),
            &format!("{root}/camera/door/labels"),
            &format!("{root}/camera/door/caption"),
        ],
        None,
    );
    let mut daemon = Daemon::start(&dir, &config(&prefix, &ha, port, &state, &wav, &images));
    let lines = daemon.log.clone();
    let log = || lines.snapshot().join("\n");

    // The discovery message: retained, parses, fits the committed table, one set per thing.
    let is_discovery = |m: &Received| m.topic.starts_with(&format!("{ha}/device/"));
    assert!(
        sub.wait_until(Duration::from_secs(60), |ms| ms.iter().any(is_discovery)),
        "no discovery message; log:\n{}",
        log()
    );
    let first = sub.messages().into_iter().find(is_discovery).unwrap();
    assert!(first.topic.ends_with("/config"), "{}", first.topic);
    let id = first.topic.split('/').nth(2).unwrap().to_string();
    assert!(id.starts_with("perceptd_") && id.len() == 21, "{id}");
    let payload: Value = serde_json::from_str(&first.payload).expect("discovery is JSON");
    assert_eq!(required_keys::check(&payload), Vec::<String>::new());
    assert_eq!(payload["device"]["identifiers"][0], id.as_str());
    assert!(payload["origin"]["name"].is_string());
    let components = payload["components"].as_object().unwrap();
    for key in [
        "audio_clip_transcript",
        "audio_clip_listening",
        "audio_clip_speaking",
        "audio_clip_latency",
        "camera_door_labels",
        "camera_door_top_label",
        "camera_door_caption",
        "camera_door_snapshot",
    ] {
        assert!(components.contains_key(key), "{key} missing: {payload}");
    }
    assert_eq!(
        components["audio_gone_speaking"],
        serde_json::json!({"platform": "binary_sensor"}),
        "a removed source's entity is announced with only its platform"
    );
    let stored = retained(port, &first.topic).expect("the discovery message is retained");
    assert!(stored.contains("audio_clip_transcript"));
    assert_eq!(
        retained(port, &format!("{root}/audio/clip/listening")).as_deref(),
        Some("ON")
    );

    // Sentence A: speaking goes ON, then OFF, and its final arrives.
    let transcript = format!("{root}/audio/clip/transcript");
    let speaking = format!("{root}/audio/clip/speaking");
    assert!(
        sub.wait_until(Duration::from_secs(60), |ms| !on_topic(ms, &transcript)
            .is_empty()),
        "no final for A; log:\n{}",
        log()
    );
    let final_a: Value =
        serde_json::from_str(&on_topic(&sub.messages(), &transcript)[0].payload).unwrap();
    let states: Vec<String> = on_topic(&sub.messages(), &speaking)
        .iter()
        .map(|m| m.payload.clone())
        .collect();
    let on = states
        .iter()
        .position(|s| s == "ON")
        .expect("speaking ON during A");
    assert!(
        states[on..].iter().any(|s| s == "OFF"),
        "speaking OFF after A: {states:?}"
    );

    // Pause before B starts; B is spoken while paused.
    mosquitto_pub(port, &format!("{root}/audio/clip/listening/set"), "OFF");
    assert!(
        sub.wait_until(Duration::from_secs(5), |ms| on_topic(
            ms,
            &format!("{root}/audio/clip/listening")
        )
        .iter()
        .any(|m| m.payload == "OFF")),
        "the switch state follows the command; log:\n{}",
        log()
    );
    let paused_at = SystemTime::now();
    // Where the stream started on the wall clock, from A's final: `end` is RFC 3339 UTC.
    let a_end_offset = final_a["end_offset_s"].as_f64().unwrap();
    let a_end_wall = parse_rfc3339(final_a["end"].as_str().unwrap());
    let resume_at = a_end_wall + Duration::from_secs_f64(b_end - a_end_offset + 1.5);
    let now = SystemTime::now();
    assert!(
        resume_at > now,
        "the machine is too slow for this timeline: A's final came too late"
    );
    std::thread::sleep(resume_at.duration_since(now).unwrap());
    let during_pause: Vec<Received> = sub
        .messages()
        .into_iter()
        .filter(|m| m.at >= paused_at && (m.topic == transcript || m.topic == speaking))
        .collect();
    assert!(
        during_pause
            .iter()
            .all(|m| m.topic != speaking || m.payload != "ON"),
        "nothing is heard while paused: {:?}",
        during_pause
            .iter()
            .map(|m| (&m.topic, &m.payload))
            .collect::<Vec<_>>()
    );
    assert!(
        during_pause.iter().all(|m| m.topic != transcript),
        "no final while paused"
    );
    mosquitto_pub(port, &format!("{root}/audio/clip/listening/set"), "on");

    // C is heard again: its final starts after B, and nothing of B was transcribed.
    let c_start = b_end + f64::from(GAP_SECS) - 0.5;
    let c_final = |ms: &[Received]| {
        on_topic(ms, &transcript).iter().any(|m| {
            let v: Value = serde_json::from_str(&m.payload).unwrap();
            v["start_offset_s"].as_f64().unwrap() >= c_start - 1.0
        })
    };
    assert!(
        sub.wait_until(Duration::from_secs(40), c_final),
        "a final for C after resuming; log:\n{}",
        log()
    );
    // C is one sentence; let its utterance end completely before the birth message below.
    std::thread::sleep(Duration::from_secs(3));
    let finals: Vec<Value> = on_topic(&sub.messages(), &transcript)
        .iter()
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .collect();
    let b_start = b_end - b;
    for f in &finals[1..] {
        let (start, end) = (
            f["start_offset_s"].as_f64().unwrap(),
            f["end_offset_s"].as_f64().unwrap(),
        );
        assert!(
            end <= b_start || start >= b_end,
            "a final overlaps B, spoken while paused: {f}"
        );
    }
    let last = finals.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        last.contains("museum"),
        "C's final {last:?}, said {:?}",
        texts[2]
    );

    // Home Assistant's birth message: discovery again within 6 s, and no event topic again.
    let before = sub.messages();
    let discoveries = before.iter().filter(|m| is_discovery(m)).count();
    let events = |ms: &[Received]| {
        ms.iter()
            .filter(|m| {
                m.topic == transcript
                    || m.topic.ends_with("/labels")
                    || m.topic.ends_with("/caption")
            })
            .count()
    };
    let events_before = events(&before);
    let born = Instant::now();
    mosquitto_pub(port, &format!("{ha}/status"), "online");
    assert!(
        sub.wait_until(Duration::from_secs(6), |ms| ms
            .iter()
            .filter(|m| is_discovery(m))
            .count()
            > discoveries),
        "no re-announcement within 6 s of HA's birth; log:\n{}",
        log()
    );
    let waited = born.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "announced after a 1-5 s delay, not at once: {waited:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let after = sub.messages();
    assert_eq!(
        events(&after),
        events_before,
        "the birth message re-published an event: {:?}",
        after[before.len()..]
            .iter()
            .map(|m| (&m.topic, &m.payload))
            .collect::<Vec<_>>()
    );

    daemon.sigterm();
    assert!(
        daemon
            .wait(Duration::from_secs(15))
            .is_some_and(|s| s.success()),
        "{}",
        log()
    );
    let saved = std::fs::read_to_string(state.join("homeassistant/components.json")).unwrap();
    assert!(
        saved.contains("audio_clip_transcript") && !saved.contains("audio_gone"),
        "{saved}"
    );
    assert!(
        daemon.log.snapshot().iter().all(|l| !l.contains("ERROR")),
        "{}",
        daemon.log.snapshot().join("\n")
    );
}

/// `2026-12-03T16:00:00.123Z` as a `SystemTime`.
fn parse_rfc3339(text: &str) -> SystemTime {
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    let nanos = format!("{frac:0<9}")[..9].parse::<u64>().unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_nanos(nanos)
}
