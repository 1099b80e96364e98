//! `perceptd transcribe` end to end: raw PCM on stdin, JSON segments, and a file longer than one
//! 30 s window, all on espeak-ng speech with the real tiny.en weights.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use common::{make_speech, models_dir, perceptd, scratch_dir, sentences, stderr, stdout};
use percept_dsp::wav::decode_wav;
use percept_models::eval::wer_for_text;
use serde_json::Value;

fn transcribe(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = perceptd()
        .arg("transcribe")
        .args(args)
        .args(["--threads", "1", "--models-dir"])
        .arg(models_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run perceptd");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "perceptd transcribe {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// A 16-bit mono WAV of `samples` at `rate`.
fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let audio = decode_wav(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(audio.channels, 1);
    (audio.samples, audio.sample_rate)
}

#[test]
fn raw_pcm_on_stdin_gives_the_same_text_as_the_wav_file() {
    let speech = make_speech("cli_stdin");
    let wav = speech.join("s02.wav");
    let from_file = transcribe(&[wav.to_str().unwrap()], None);
    let (samples, rate) = read_wav(&wav);
    let raw: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let rate_arg = rate.to_string();
    let from_stdin = transcribe(
        &[
            "-",
            "--format",
            "f32le",
            "--rate",
            &rate_arg,
            "--channels",
            "1",
        ],
        Some(&raw),
    );
    assert!(!from_file.trim().is_empty());
    assert_eq!(from_stdin, from_file);
}

#[test]
fn json_output_has_timed_segments_with_scores() {
    let speech = make_speech("cli_json");
    let out = transcribe(&["--json", speech.join("s01.wav").to_str().unwrap()], None);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    let segments = json["segments"].as_array().expect("segments");
    assert!(!segments.is_empty());
    for s in segments {
        let (start, end) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(
            0.0 <= start && start < end && end <= json["duration_secs"].as_f64().unwrap() + 0.5,
            "{s}"
        );
        assert!(s["text"].as_str().is_some_and(|t| !t.trim().is_empty()));
        assert!(s["avg_logprob"].as_f64().unwrap() <= 0.0);
        assert!((0.0..=1.0).contains(&s["no_speech_prob"].as_f64().unwrap()));
    }
}

#[test]
fn a_file_longer_than_one_window_is_transcribed_in_order_to_the_end() {
    let speech = make_speech("cli_long");
    let refs = sentences();
    let mut samples = Vec::new();
    let mut rate = 0;
    for i in 1..=refs.len() {
        let (s, r) = read_wav(&speech.join(format!("s{i:02}.wav")));
        rate = r;
        samples.extend(s);
        samples.extend(std::iter::repeat_n(0.0, r as usize / 2));
    }
    let duration = samples.len() as f64 / rate as f64;
    assert!(
        duration > 40.0,
        "the long file must span two windows, is {duration:.1} s"
    );
    let long = scratch_dir("cli_long_wav").join("long.wav");
    std::fs::write(&long, wav_bytes(&samples, rate)).unwrap();

    let out = transcribe(&["--json", long.to_str().unwrap()], None);
    let json: Value = serde_json::from_str(&out).unwrap();
    let segments = json["segments"].as_array().unwrap();
    let mut last_end = 0.0;
    for s in segments {
        let start = s["start"].as_f64().unwrap();
        assert!(start >= last_end - 0.01, "segments must be in order: {s}");
        last_end = s["end"].as_f64().unwrap();
    }
    assert!(
        last_end > 30.0 && last_end <= duration + 0.5,
        "last segment ends at {last_end:.1} s of {duration:.1} s"
    );

    let text: String = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let normalizer = common::english_normalizer();
    let stats = wer_for_text(&normalizer, &refs.join(" "), &text);
    eprintln!(
        "long-form WER {:.2}% over {duration:.1} s: {text}",
        stats.wer() * 100.0
    );
    assert!(
        stats.wer() <= 0.2,
        "long-form WER {:.2}%",
        stats.wer() * 100.0
    );
}

#[test]
fn base_detects_german_speech_and_translates_it_to_english() {
    let dir = scratch_dir("cli_german");
    // espeak-ng's German voice; the sentences and the expected English words are fixed.
    let cases = [
        ("Ich trinke jeden Morgen eine Tasse Kaffee.", "coffee"),
        ("Das Haus ist groß und der Garten ist sehr schön.", "garden"),
    ];
    for (i, (german, english_word)) in cases.iter().enumerate() {
        let wav = dir.join(format!("de{i}.wav"));
        let status = std::process::Command::new("espeak-ng")
            .args(["-v", "de", "-s", "140", "-w"])
            .arg(&wav)
            .arg(german)
            .status()
            .expect("run espeak-ng");
        assert!(status.success());
        let wav = wav.to_str().unwrap();
        let detected: Value =
            serde_json::from_str(&transcribe(&["--model", "base", "--json", wav], None)).unwrap();
        assert_eq!(detected["language"], "de", "{german}");
        let translated =
            transcribe(&["--model", "base", "--task", "translate", wav], None).to_lowercase();
        assert!(
            translated.contains(english_word),
            "translation of {german:?} was {translated:?}"
        );
    }
}
