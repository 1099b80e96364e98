//! Every config in configs/ passes `perceptd config check`; broken configs fail with every
//! problem and its key path, on stderr, without a panic.

mod common;

use common::{perceptd, repo_root, scratch_dir, stderr, stdout};

#[test]
fn every_file_in_configs_passes_config_check() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_root().join("configs")).expect("read configs/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = perceptd()
            .arg("config")
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            path.display(),
            stderr(&out)
        );
        assert!(stdout(&out).contains(": ok"), "{}", stdout(&out));
        checked += 1;
    }
    assert!(
        checked >= 2,
        "expected demo.toml and example-full.toml, checked {checked}"
    );
}

#[test]
fn config_check_lists_every_problem_with_its_key_path() {
    let dir = scratch_dir("config_check_problems");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"
device = "shelf/1"
[mqtt]
url = "wss://broker.local"
keep_alive_secs = 1
[speech]
model = "large-v9"
[vad]
threshold = 2.0
[[source]]
kind = "stdin"
format = "s8"
sample_rate = 16000
"#,
    )
    .unwrap();
    let out = perceptd()
        .arg("config")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for key in [
        "device:",
        "mqtt.url:",
        "mqtt.keep_alive_secs:",
        "speech.model:",
        "vad.threshold:",
        "source[0].format:",
    ] {
        assert!(err.contains(key), "missing {key} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_key_is_one_clear_error_line() {
    let dir = scratch_dir("config_check_unknown");
    let path = dir.join("typo.toml");
    std::fs::write(&path, "[speech]\npartial_interval = 500\n").unwrap();
    let out = perceptd()
        .arg("config")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("partial_interval"), "{err}");
}

#[test]
fn a_missing_config_file_is_one_clear_error_line() {
    let out = perceptd()
        .args(["run", "--config", "/no/such/perceptd.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("/no/such/perceptd.toml"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_microphone_is_one_clear_error_line_naming_the_device() {
    let dir = scratch_dir("run_bad_device");
    let path = dir.join("mic.toml");
    std::fs::write(
        &path,
        "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n[[source]]\nkind = \"mic\"\ndevice = \"no-such-device\"\n",
    )
    .unwrap();
    let out = perceptd()
        .args(["run", "--config"])
        .arg(&path)
        .arg("--models-dir")
        .arg(common::models_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("perceptd: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("no-such-device"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn config_check_lists_every_vision_and_camera_problem_with_its_key_path() {
    let dir = scratch_dir("config_check_vision_problems");
    let path = dir.join("bad-vision.toml");
    std::fs::write(
        &path,
        r#"
[vision]
model = "resnet9000"
enter_threshold = 0.2
exit_threshold = 0.4
embedding_dtype = "f64"
top_k = 0
[vision.clip]
vision_model = "/models/clip/vision_model.onnx"
templates = ["no placeholder"]
logit_scale = -1.0
[[camera]]
kind = "webcam"
[[camera]]
kind = "images"
name = "inbox"
watch = true
loop = true
fps = 0
max_fps = -1
motion_threshold = 2
[[camera]]
kind = "synthetic"
name = "inbox"
format = "h264"
"#,
    )
    .unwrap();
    let out = perceptd()
        .arg("config")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for key in [
        "vision.model:",
        "vision.exit_threshold:",
        "vision.embedding_dtype:",
        "vision.top_k:",
        "vision.clip: give either",
        "vision.clip.labels:",
        "vision.clip.templates:",
        "vision.clip.logit_scale:",
        "camera[0].kind:",
        "camera[1].path: required",
        "camera[1]: `watch` and `loop`",
        "camera[1].fps:",
        "camera[1].max_fps:",
        "camera[1].motion_threshold:",
        "camera[2].name: \"inbox\" is used by another camera",
        "camera[2].format:",
    ] {
        assert!(err.contains(key), "missing {key} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}
