//! `perceptd classify` and `perceptd embed` on real and hostile images: the daemon's camera path,
//! one shot. Needs `perceptd models fetch` (EfficientNet-Lite0 and the reference photo).

mod common;

#[path = "frame_conformance/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::path::{Path, PathBuf};

use common::{models_dir, perceptd, scratch_dir, stderr, stdout};
use serde_json::Value;

fn kafka() -> PathBuf {
    models_dir().join("clip-assets/franz-kafka.jpg")
}

fn classify(args: &[&str]) -> std::process::Output {
    perceptd()
        .arg("classify")
        .args(args)
        .arg("--models-dir")
        .arg(models_dir())
        .output()
        .unwrap()
}

#[test]
fn classify_prints_suit_first_for_the_photo() {
    let out = classify(&[kafka().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let labels = text.split_once(": ").unwrap().1;
    assert!(labels.starts_with("suit 0.8"), "{text}");
    assert!(labels.contains("Windsor tie"), "{text}");
}

#[test]
fn each_kind_of_bad_image_gets_one_clear_error_line() {
    let dir = scratch_dir("vision-cli-bad");
    let good = fixtures::jpeg(&fixtures::picture(64, 48, 1));
    let cases: [(&str, Vec<u8>, &str); 8] = [
        (
            "truncated.jpg",
            good[..good.len() / 2].to_vec(),
            "truncated or corrupt JPEG",
        ),
        ("zero.png", fixtures::png_zero(), "0x0"),
        (
            "huge.jpg",
            fixtures::jpeg_sof_header(0, 8, 60000, 60000),
            "60000x60000",
        ),
        ("bomb.png", fixtures::png_bomb(), "PNG"),
        ("huge.png", fixtures::png_huge_claim(), "60000x60000"),
        (
            "twelve-bit.jpg",
            fixtures::jpeg_sof_header(1, 12, 64, 48),
            "12",
        ),
        (
            "text.png",
            b"hello, I am text".to_vec(),
            "unsupported image format",
        ),
        ("empty.jpg", Vec::new(), "empty"),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = classify(&[path.to_str().unwrap()]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{name}: expected a failure");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: one error line, got: {err}");
        assert!(lines[0].starts_with("perceptd: error: "), "{name}: {err}");
        assert!(
            lines[0].contains(name),
            "{name}: the line names the file: {err}"
        );
        assert!(
            lines[0].contains(expect),
            "{name}: should mention {expect:?}: {err}"
        );
    }
}

#[test]
fn a_bad_image_among_good_ones_is_reported_and_the_others_are_classified() {
    let dir = scratch_dir("vision-cli-mixed");
    let bad = dir.join("bad.jpg");
    std::fs::write(&bad, b"\xFF\xD8\xFF\xE0 not really").unwrap();
    let kafka = kafka();
    let out = classify(&["--json", kafka.to_str().unwrap(), bad.to_str().unwrap()]);
    assert!(!out.status.success(), "a bad image makes the command fail");
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["labels"][0]["label"], "suit");
    let err = stderr(&out);
    assert!(err.lines().any(|l| l.contains("bad.jpg")), "{err}");
    assert!(
        err.contains("1 of 2 images could not be classified"),
        "{err}"
    );
}

#[test]
fn embed_prints_a_unit_length_1280_value_vector() {
    let out = perceptd()
        .args(["embed", "--json", "--models-dir"])
        .arg(models_dir())
        .arg(kafka())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["dim"], 1280);
    let values: Vec<f64> = v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 1280);
    let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

fn assert_one_line_error(args: &[&str], model_dir: &Path, expect: &str) {
    let out = perceptd()
        .args(args)
        .arg("--models-dir")
        .arg(model_dir)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(expect),
        "{args:?} should mention {expect:?}: {err}"
    );
}

#[test]
fn text_and_labels_need_a_clip_model_and_unknown_models_are_named() {
    let models = models_dir();
    let kafka = kafka();
    let kafka = kafka.to_str().unwrap();
    assert_one_line_error(&["embed", "--text", "a cat"], &models, "no text encoder");
    assert_one_line_error(
        &["classify", kafka, "--labels", "a,b"],
        &models,
        "zero-shot",
    );
    assert_one_line_error(
        &["classify", kafka, "--model", "resnet9000"],
        &models,
        "unknown model",
    );
    assert_one_line_error(
        &["classify", kafka, "--model", "/nonexistent/clip.onnx"],
        &models,
        "no such file",
    );
}
