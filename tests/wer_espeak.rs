//! Word error rate of `perceptd transcribe` on espeak-ng speech, with real Whisper weights.
//!
//! The sentences are committed in tests/speech/sentences.txt; scripts/make_speech.sh speaks them.
//! Texts are normalised the way Whisper's English normaliser does before counting errors.

mod common;

use std::path::Path;

use common::{make_speech, models_dir, sentences, transcribe_ok};
use percept_models::eval::wer_for_texts;

/// Transcribes every sentence WAV with `model` through the CLI.
fn transcribe_sentences(model: &str, speech: &Path, count: usize, extra: &[&str]) -> Vec<String> {
    (1..=count)
        .map(|i| {
            let wav = speech.join(format!("s{i:02}.wav"));
            let args: Vec<&str> = ["--model", model, "--threads", "1"]
                .into_iter()
                .chain(extra.iter().copied())
                .collect();
            transcribe_ok(&args, &wav).trim().to_string()
        })
        .collect()
}

fn assert_wer_at_most(model: &str, limit: f64, extra: &[&str]) {
    let refs = sentences();
    assert!(
        refs.len() >= 10,
        "need at least 10 sentences, have {}",
        refs.len()
    );
    let speech = make_speech(&format!("wer_{model}_{}", extra.join("_")));
    let hyps = transcribe_sentences(model, &speech, refs.len(), extra);
    let normalizer = common::english_normalizer();
    let stats = wer_for_texts(&normalizer, &refs, &hyps).expect("one hypothesis per reference");
    for (r, h) in refs.iter().zip(&hyps) {
        eprintln!("ref: {r}\nhyp: {h}\n");
    }
    eprintln!(
        "{model} {extra:?}: WER {:.2}% ({stats:?})",
        stats.wer() * 100.0
    );
    assert!(
        stats.wer() <= limit,
        "{model}: WER {:.2}% is above {:.0}%",
        stats.wer() * 100.0,
        limit * 100.0
    );
}

#[test]
fn tiny_en_transcribes_espeak_sentences_within_15_percent_wer() {
    assert_wer_at_most("tiny.en", 0.15, &[]);
}

/// The daemon encodes only the utterance (`encode_window = "span"`): it must stay as accurate.
#[test]
fn tiny_en_encoding_only_the_speech_span_stays_within_15_percent_wer() {
    assert_wer_at_most("tiny.en", 0.15, &["--encode-window", "span"]);
}

#[test]
fn base_transcribes_espeak_sentences_within_10_percent_wer() {
    let base = models_dir().join("whisper-base/manifest.json");
    assert!(
        base.is_file(),
        "whisper base is not installed; run `perceptd models fetch --with base`"
    );
    assert_wer_at_most("base", 0.10, &[]);
}
