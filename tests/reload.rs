//! `systemctl reload perceptd` = SIGHUP: a config with a mistake is rejected whole (every problem
//! logged with its key path) while the daemon runs on; a good one applies the decoding settings
//! to the next utterance and names each changed key that needs a restart. Real binary, embedded
//! broker, espeak-ng speech.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::scratch_dir;
use common::stream::{
    Daemon, Subscriber, config_head, one_at_a_time, run_ok, silence_wav, unique_prefix,
    utterances_wav,
};
use serde_json::Value;

const DEVICE: &str = "reloadbox";

fn config(prefix: &str, wav: &Path, speech_extra: &str, device: &str) -> String {
    let head = config_head(device, prefix, "");
    format!(
        r#"{head}
[speech]
threads = 2
partial_interval_ms = 0
{speech_extra}
[[source]]
kind = "file"
name = "clip"
path = "{}"
realtime = true
"#,
        wav.display()
    )
}

fn hup(daemon: &Daemon) {
    run_ok(Command::new("kill").args(["-HUP", &daemon.pid().to_string()]));
}

#[test]
fn a_bad_reload_keeps_the_old_config_and_a_good_one_applies_thresholds_live() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("reload");
    // Three sentences 8 s apart, then silence: the reloads happen in the gaps.
    let (speech, _) = utterances_wav(&dir, &[0, 1, 4], 1.0, 8.0);
    let hush = dir.join("hush.wav");
    silence_wav(&hush, 20.0);
    let wav = dir.join("speech.wav");
    run_ok(Command::new("sox").arg(&speech).arg(&hush).arg(&wav));
    let prefix = unique_prefix("reload");
    let text = config(&prefix, &wav, "", DEVICE);
    let daemon = Daemon::start(&dir, &text);
    let file = dir.join("perceptd.toml");
    assert!(
        file.is_file(),
        "Daemon::start writes the config to perceptd.toml"
    );
    let port = daemon.embedded_broker_port();
    let topic = format!("{prefix}/{DEVICE}/audio/clip/transcript");
    let sub = Subscriber::start(port, &topic, None);
    let log = || daemon.log.snapshot().join("\n");
    let finals = || -> Vec<Value> {
        sub.messages()
            .iter()
            .map(|m| serde_json::from_str(&m.payload).unwrap())
            .collect()
    };

    assert!(
        sub.wait_until(Duration::from_secs(60), |ms| !ms.is_empty()),
        "the first final; log:\n{}",
        log()
    );
    assert_eq!(finals()[0]["confidence"], "high", "{:?}", finals()[0]);

    // A mistake: the whole file is rejected, the key named, the daemon runs on.
    std::fs::write(&file, format!("{text}\n[bogus]\nkey = 1\n")).unwrap();
    hup(&daemon);
    let rejected = daemon
        .log
        .wait_for(Duration::from_secs(10), |l| l.contains("reload rejected"))
        .unwrap_or_else(|| panic!("no rejection logged:\n{}", log()));
    assert!(
        log().contains("bogus"),
        "the problem names the key: {rejected}\n{}",
        log()
    );

    // A good file: every final is now low confidence (no average log-probability reaches 0),
    // and the renamed device is named as needing a restart.
    let good = config(&prefix, &wav, "logprob_threshold = 0.0", "renamedbox");
    std::fs::write(&file, good).unwrap();
    hup(&daemon);
    daemon
        .log
        .wait_for(Duration::from_secs(10), |l| {
            l.contains("applied to the next utterance") && l.contains("speech.logprob_threshold")
        })
        .unwrap_or_else(|| panic!("no live reload logged:\n{}", log()));
    assert!(
        daemon
            .log
            .snapshot()
            .iter()
            .any(|l| l.contains("device changed; it takes effect after a restart")),
        "{}",
        log()
    );
    let seen = finals().len();
    assert!(
        sub.wait_until(Duration::from_secs(60), |ms| ms.len() > seen),
        "a final after the reload, on the same topic (device needs a restart); log:\n{}",
        log()
    );
    let after = finals();
    assert_eq!(after[seen]["confidence"], "low", "{:?}", after[seen]);
    assert!(
        !after[seen]["text"].as_str().unwrap().is_empty(),
        "low confidence is published, not withheld"
    );
}
