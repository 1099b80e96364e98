//! Logs fit where they land: no colour codes in a file, syslog priorities and no timestamps in
//! systemd's journal, one JSON object per line with `log.format = "json"`.
//!
//! The driver is a quick `perceptd run`: it loads the speech models (an info line), cannot reach
//! its broker (a closed port: warnings) and fails on a microphone that does not exist (the error
//! line), all within a second or two.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{models_dir, perceptd, scratch_dir};

/// A config for the driver, with `log` in its `[log]` table.
fn config(dir: &Path, log: &str) -> PathBuf {
    let path = dir.join("perceptd.toml");
    std::fs::write(
        &path,
        format!(
            "[mqtt]\nurl = \"mqtt://127.0.0.1:9\"\n[log]\n{log}\n\
             [[source]]\nkind = \"mic\"\ndevice = \"no-such-device\"\n"
        ),
    )
    .unwrap();
    path
}

/// Runs the driver with stderr into a file (not a terminal); `journal` sets `JOURNAL_STREAM` to
/// that file's device and inode, as systemd does for a service's stream. Returns stderr.
fn run_logging_to_a_file(name: &str, log: &str, journal: Option<&str>) -> String {
    let dir = scratch_dir(name);
    let stderr_path = dir.join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let meta = stderr.metadata().unwrap();
    let mut command = perceptd();
    command
        .args(["run", "--config"])
        .arg(config(&dir, log))
        .arg("--models-dir")
        .arg(models_dir())
        .env_remove("NO_COLOR")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(stderr);
    match journal {
        Some("this file") => {
            command.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
        }
        Some(other) => {
            command.env("JOURNAL_STREAM", other);
        }
        None => {}
    }
    let status = command.status().unwrap();
    assert!(!status.success(), "the driver fails on its microphone");
    let text = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("no-such-device"), "{text}");
    text
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
fn logs_to_a_file_carry_no_colour_codes_but_timestamps() {
    let text = run_logging_to_a_file("logging_file", "", None);
    assert!(!text.contains("\x1b["), "{text:?}");
    let info = text
        .lines()
        .find(|l| l.contains("speech models loaded"))
        .unwrap_or_else(|| panic!("no info line:\n{text}"));
    assert!(has_timestamp(info) && info.contains("INFO"), "{info}");
}

#[test]
fn in_the_journal_every_line_starts_with_its_syslog_priority_and_has_no_timestamp() {
    let text = run_logging_to_a_file("logging_journal", "", Some("this file"));
    let mut priorities = Vec::new();
    for line in text.lines() {
        let priority = line
            .strip_prefix('<')
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(n, _)| n.parse::<u8>().ok())
            .unwrap_or_else(|| panic!("no <N> prefix: {line:?}\n{text}"));
        assert!(!has_timestamp(line), "{line}");
        assert!(!line.contains("\x1b["), "{line:?}");
        priorities.push(priority);
    }
    assert!(priorities.contains(&6), "an info line: {text}");
    assert_eq!(priorities.last(), Some(&3), "the error line last: {text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("<6>") && l.contains("speech models loaded")),
        "{text}"
    );
}

#[test]
fn a_journal_stream_that_is_not_stderr_is_ignored() {
    // A child of a service whose stderr was redirected inherits JOURNAL_STREAM, not the stream.
    let text = run_logging_to_a_file("logging_not_journal", "", Some("1:1"));
    assert!(!text.lines().any(|l| l.starts_with('<')), "{text}");
    assert!(has_timestamp(&text), "{text}");
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let text = run_logging_to_a_file("logging_json", "format = \"json\"", None);
    let mut levels = Vec::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{text}"));
        let level = value["level"].as_str().unwrap_or_else(|| panic!("{line}"));
        assert!(value["message"].is_string(), "{line}");
        assert!(value["timestamp"].is_string(), "{line}");
        levels.push(level.to_string());
    }
    assert!(levels.iter().any(|l| l == "INFO"), "{text}");
    // The command's final error is one of the objects.
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("perceptd: error: ")
    );
}
