//! `perceptd transcribe` on long files (the `long_*` conditions of scripts/make_corpus.py:
//! sentences with 2–6 s gaps of silence, pink noise and room tone; the same in telephone band;
//! 92 s of two voices with no pause). Cut at speech by default (`--vad auto`), the transcript
//! gets the words of the sentences transcribed one by one (+2 points), never writes a sentence
//! twice that was said once, and keeps its timestamps on the file's time line, in order and
//! within 0.5 s of the speech. `--vad off` (the reference's 30 s windows) is printed beside it
//! (`scripts/bench_long.sh` times both against faster-whisper).

mod common;
mod corpus;

use std::path::Path;

use percept_models::eval::EnglishNormalizer;
use serde_json::Value;

use common::{scratch_dir, transcribe_ok};
use corpus::{Condition, Piece, generate, normalizer, score};

const LONG: [&str; 3] = ["long_gaps", "long_telephone", "long_conversation"];

/// `perceptd transcribe --json` with `args` on `wav`.
fn transcribe_json(wav: &Path, args: &[&str]) -> Value {
    let json: Vec<&str> = ["--json"].into_iter().chain(args.iter().copied()).collect();
    serde_json::from_str(&transcribe_ok(&json, wav)).expect("transcribe --json prints JSON")
}

/// `(start, end, text)` of each segment.
fn segments(json: &Value) -> Vec<(f64, f64, String)> {
    json["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| {
            (
                s["start"].as_f64().unwrap(),
                s["end"].as_f64().unwrap(),
                s["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn joined(segments: &[(f64, f64, String)]) -> String {
    segments.iter().map(|s| s.2.as_str()).collect()
}

/// Each piece cut from the file (±0.2 s) and transcribed alone: the texts, in order.
fn one_by_one(c: &Condition, model: &str) -> Vec<String> {
    let dir = scratch_dir(&format!("long-{}-{model}", c.manifest.condition));
    c.manifest
        .pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let wav = dir.join(format!("piece{i}.wav"));
            common::stream::run_ok(
                std::process::Command::new("sox")
                    .arg(&c.wav)
                    .arg(&wav)
                    .arg("trim")
                    .arg(format!("{:.3}", (p.start_s - 0.2).max(0.0)))
                    .arg(format!("={:.3}", p.end_s + 0.2)),
            );
            joined(&segments(&transcribe_json(
                &wav,
                &["--model", model, "--vad", "off"],
            )))
        })
        .collect()
}

/// Normalised words of `text`, joined by spaces.
fn normal(norm: &EnglishNormalizer, text: &str) -> String {
    norm.words(text).join(" ")
}

/// Every problem with a transcript's segments: a segment outside the speech or more than
/// 0.5 s past the pieces it overlaps, times out of order, a text (of 3 words or more) twice.
fn segment_problems(
    norm: &EnglishNormalizer,
    name: &str,
    pieces: &[Piece],
    segs: &[(f64, f64, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut last_start = f64::NEG_INFINITY;
    for (start, end, text) in segs {
        if *start < last_start - 0.01 || end < start {
            problems.push(format!(
                "{name}: segment {start:.2}-{end:.2} {text:?} out of order"
            ));
        }
        last_start = *start;
        let over: Vec<&Piece> = pieces
            .iter()
            .filter(|p| p.start_s < *end && p.end_s > *start)
            .collect();
        match (over.first(), over.last()) {
            (Some(first), Some(last)) => {
                if *start < first.start_s - 0.5 || *end > last.end_s + 0.5 {
                    problems.push(format!(
                        "{name}: segment {start:.2}-{end:.2} {text:?} reaches more than 0.5 s past the speech {:.2}-{:.2}",
                        first.start_s, last.end_s
                    ));
                }
            }
            _ => problems.push(format!(
                "{name}: segment {start:.2}-{end:.2} {text:?} lies in no speech"
            )),
        }
        let words = normal(norm, text);
        if words.split(' ').count() >= 3 && seen.contains(&words) {
            problems.push(format!("{name}: {text:?} written twice (said once)"));
        }
        seen.push(words);
    }
    problems
}

/// Checks one model on the long files; returns the problems and prints the numbers.
fn check_model(model: &str, max_conversation_wer: Option<f64>) -> Vec<String> {
    let norm = normalizer();
    let mut problems = Vec::new();
    for c in generate(&LONG) {
        let name = format!("{} ({model})", c.manifest.condition);
        let pieces = &c.manifest.pieces;
        let auto = transcribe_json(&c.wav, &["--model", model]);
        let segs = segments(&auto);
        let alone = one_by_one(&c, model);
        let alone: Vec<&str> = alone.iter().map(String::as_str).collect();
        let off = transcribe_json(
            &c.wav,
            &["--model", model, "--vad", "off", "--keep-repeats"],
        );
        let wer_auto = score(&norm, pieces, &[joined(&segs).as_str()]).total.wer();
        let wer_alone = score(&norm, pieces, &alone).total.wer();
        let wer_off = score(&norm, pieces, &[joined(&segments(&off)).as_str()])
            .total
            .wer();
        let suppressed = auto["suppressed"].as_array().map_or(0, Vec::len);
        eprintln!(
            "[long] {name:<28} WER --vad auto {:5.1} % (suppressed {suppressed}), one by one {:5.1} %, --vad off {:5.1} %",
            100.0 * wer_auto,
            100.0 * wer_alone,
            100.0 * wer_off
        );
        if wer_auto > wer_alone + 0.02 {
            problems.push(format!(
                "{name}: WER {:.1} % > {:.1} % (sentences one by one) + 2 points",
                100.0 * wer_auto,
                100.0 * wer_alone
            ));
        }
        if let Some(max) = max_conversation_wer
            && c.manifest.condition == "long_conversation"
            && wer_auto > max
        {
            problems.push(format!(
                "{name}: WER {:.1} % > {:.0} %",
                100.0 * wer_auto,
                100.0 * max
            ));
        }
        problems.extend(segment_problems(&norm, &name, pieces, &segs));
    }
    problems
}

#[test]
fn long_files_cut_at_speech_match_their_sentences_alone_with_tiny_en() {
    let _one = common::stream::one_at_a_time();
    let problems = check_model("tiny.en", None);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn long_files_cut_at_speech_match_their_sentences_alone_with_base() {
    let _one = common::stream::one_at_a_time();
    let problems = check_model("base", Some(0.20));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
