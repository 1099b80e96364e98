//! Bad input gets one clear error line and a non-zero exit, never a panic.

mod common;

use std::path::Path;

use common::{models_dir, perceptd, scratch_dir, stderr};

/// A 16-bit mono WAV header for `data_len` bytes of data at `rate` Hz with `channels` channels.
fn wav_header(rate: u32, channels: u16, bits: u16, format_tag: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&format_tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// Runs `perceptd transcribe FILE` (with extra args) and checks the failure is one clear line
/// that contains `expect`.
fn assert_one_error_line(args: &[&str], models: &Path, expect: &str) {
    let out = perceptd()
        .arg("transcribe")
        .args(args)
        .arg("--models-dir")
        .arg(models)
        .output()
        .expect("run perceptd");
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "expected failure for {args:?}, got success"
    );
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line for {args:?}, got: {err}"
    );
    assert!(lines[0].starts_with("perceptd: error: "), "{err}");
    assert!(
        lines[0].contains(expect),
        "error for {args:?} should mention {expect:?}: {err}"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path.to_string_lossy().into_owned()
}

#[test]
fn each_kind_of_bad_audio_gets_one_clear_error_line() {
    let dir = scratch_dir("bad_input_audio");
    let models = dir.join("no-models-needed");
    let one_second: Vec<u8> = (0..16_000i16)
        .flat_map(|i| ((i % 100) * 50).to_le_bytes())
        .collect();

    assert_one_error_line(
        &[dir.join("missing.wav").to_str().unwrap()],
        &models,
        "cannot read",
    );
    assert_one_error_line(&[&write(&dir, "empty.wav", b"")], &models, "empty");
    assert_one_error_line(
        &[&write(&dir, "text.wav", b"this is not a wav file at all")],
        &models,
        "RIFF",
    );

    let mut truncated = wav_header(16_000, 1, 16, 1, 32_000);
    truncated.extend_from_slice(&one_second[..10_000]);
    assert_one_error_line(
        &[&write(&dir, "truncated.wav", &truncated)],
        &models,
        "truncated",
    );

    let mut zero_rate = wav_header(0, 1, 16, 1, 32_000);
    zero_rate.extend_from_slice(&one_second);
    assert_one_error_line(
        &[&write(&dir, "zero_rate.wav", &zero_rate)],
        &models,
        "sample_rate must be > 0",
    );

    let mut zero_channels = wav_header(16_000, 0, 16, 1, 32_000);
    zero_channels.extend_from_slice(&one_second);
    assert_one_error_line(
        &[&write(&dir, "zero_channels.wav", &zero_channels)],
        &models,
        "channels must be > 0",
    );

    let mut nan = wav_header(16_000, 1, 32, 3, 4 * 1000);
    for i in 0..1000 {
        let v = if i == 123 { f32::NAN } else { 0.1 };
        nan.extend_from_slice(&v.to_le_bytes());
    }
    assert_one_error_line(&[&write(&dir, "nan.wav", &nan)], &models, "NaN");

    let mut inf = wav_header(16_000, 1, 32, 3, 4 * 1000);
    for i in 0..1000 {
        let v = if i == 7 { f32::INFINITY } else { 0.1 };
        inf.extend_from_slice(&v.to_le_bytes());
    }
    assert_one_error_line(&[&write(&dir, "inf.wav", &inf)], &models, "finite");
}

#[test]
fn raw_pcm_needs_a_declared_format_and_whole_frames() {
    let dir = scratch_dir("bad_input_pcm");
    let models = dir.join("no-models-needed");
    let odd = write(&dir, "odd.raw", &[0u8; 1001]);
    assert_one_error_line(
        &[
            &odd,
            "--format",
            "s16le",
            "--rate",
            "16000",
            "--channels",
            "2",
        ],
        &models,
        "bytes over",
    );
    assert_one_error_line(
        &[
            &odd,
            "--format",
            "s24le",
            "--rate",
            "16000",
            "--channels",
            "1",
        ],
        &models,
        "--format",
    );
    assert_one_error_line(
        &[&odd, "--format", "s16le", "--rate", "0", "--channels", "1"],
        &models,
        "rate",
    );
    assert_one_error_line(&[&odd, "--format", "s16le"], &models, "--rate");
}

#[test]
fn a_corrupted_model_file_is_named() {
    let real = models_dir().join("whisper-tiny.en");
    let dir = scratch_dir("bad_input_models");
    let model = dir.join("whisper-tiny.en");
    std::fs::create_dir_all(&model).unwrap();
    for entry in std::fs::read_dir(&real).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "model.json" {
            // Same size, one byte changed: small files are re-hashed at every load.
            let mut text = std::fs::read(entry.path()).unwrap();
            let last = text.len() - 1;
            text[last] = if text[last] == b' ' { b'\t' } else { b' ' };
            std::fs::write(model.join(&name), text).unwrap();
        } else {
            std::os::unix::fs::symlink(entry.path(), model.join(&name)).unwrap();
        }
    }
    let mut speechish = wav_header(16_000, 1, 16, 1, 32_000);
    speechish.extend((0..16_000i16).flat_map(|i| ((i % 80) * 100).to_le_bytes()));
    let wav = write(&dir, "tone.wav", &speechish);
    assert_one_error_line(&[&wav], &dir, "whisper-tiny.en/model.json: sha256 mismatch");
}

#[test]
fn a_missing_model_says_how_to_fetch_it() {
    let dir = scratch_dir("bad_input_no_models");
    let mut tone = wav_header(16_000, 1, 16, 1, 3200);
    tone.extend(std::iter::repeat_n(0u8, 3200));
    let wav = write(&dir, "tone.wav", &tone);
    assert_one_error_line(
        &[&wav, "--model", "base"],
        &dir,
        "perceptd models fetch --with base",
    );
    assert_one_error_line(&[&wav, "--model", "huge"], &dir, "unknown model");
}
