//! The converted ONNX graphs run by tract, and the native engine's safetensors weights run by
//! perceptd's kernels (f32 and int8, one and two threads), all with the KV cache, against the
//! independent numpy reference (`scripts/make_whisper_fixture.py`, float64, full recompute) on the
//! real tiny.en weights. Also checks the tokenizer's suppression list against the one CTranslate2 shipped.

use std::path::{Path, PathBuf};

use percept_models::registry::{default_models_dir, installed_model_dir};
use percept_models::whisper::{EngineOptions, Precision, WhisperModel};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whisper_tiny_en")
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn installed(name: &str) -> PathBuf {
    let models = default_models_dir();
    installed_model_dir(&models, name).unwrap_or_else(|e| {
        panic!(
            "{e} (models dir {}; run `perceptd models fetch --with base`)",
            models.display()
        )
    })
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// How far an engine may be from the float64 reference.
struct Tolerance {
    /// Largest absolute difference of the audio features.
    features: f32,
    /// Largest absolute difference of the checked logits.
    logits: f32,
}

/// Encodes the fixture's mel, decodes its tokens with the KV cache (two prompt tokens in one call,
/// then one per call) and compares features, logits and every argmax with the reference.
fn check_against_reference(options: EngineOptions, tol: Tolerance) {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("fixture.json")).unwrap())
            .unwrap();
    let label = options.label();
    let model = WhisperModel::load_with(&installed("tiny.en"), options).unwrap();

    let mel = read_f32(&fixture_dir().join("mel.f32"));
    let frames = fixture["mel"]["shape"][2].as_u64().unwrap() as usize;
    let features = model.encode(&mel, frames).unwrap();
    let expected_features = read_f32(&fixture_dir().join("audio_features.f32"));
    let features_err = max_abs_diff(features.as_slice(), &expected_features);
    eprintln!("{label}: audio_features max abs diff: {features_err:e}");

    let cross = model.cross_kv(&features).unwrap();
    let mut session = model.session(&cross).unwrap();
    let tokens: Vec<u32> = fixture["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect();
    let n_vocab = model.config().n_vocab;
    let mut rows = session.step(&tokens[..2]).unwrap();
    for &t in &tokens[2..] {
        rows.extend(session.step(&[t]).unwrap());
    }
    assert_eq!(session.len(), tokens.len());

    let ids: Vec<usize> = fixture["logits"]["vocab_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let expected = read_f32(&fixture_dir().join("logits_subset.f32"));
    let argmax_ids = fixture["argmax_ids"].as_array().unwrap();
    let mut worst = 0.0f32;
    let mut argmax_ok = true;
    for (pos, row) in rows.chunks_exact(n_vocab).enumerate() {
        let got: Vec<f32> = ids.iter().map(|&i| row[i]).collect();
        worst = worst.max(max_abs_diff(
            &got,
            &expected[pos * ids.len()..(pos + 1) * ids.len()],
        ));
        let argmax = percept_models::whisper::decode::argmax(row) as u64;
        argmax_ok &= argmax == argmax_ids[pos].as_u64().unwrap();
    }
    eprintln!(
        "{label}: logits max abs diff over {} positions: {worst:e}",
        rows.len() / n_vocab
    );
    assert!(argmax_ok, "{label}: an argmax differs from the reference's");
    assert!(
        features_err <= tol.features,
        "{label}: audio features differ by {features_err}"
    );
    assert!(worst <= tol.logits, "{label}: logits differ by {worst}");
}

fn fixture_tolerance() -> f32 {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("fixture.json")).unwrap())
            .unwrap();
    fixture["tolerance"].as_f64().unwrap() as f32
}

#[test]
fn tract_with_kv_cache_matches_the_numpy_reference_on_real_tiny_en_weights() {
    let t = fixture_tolerance();
    check_against_reference(
        EngineOptions::tract(),
        Tolerance {
            features: t,
            logits: t,
        },
    );
}

/// The encoder matches to the fixture's tolerance (measured 2e-5); the decoder keeps its keys and
/// values in f16 (self and cross attention), which moves logits by a few thousandths (measured
/// 3.2e-3 of logits spanning about ±15).
#[test]
fn native_f32_matches_the_numpy_reference_on_real_tiny_en_weights() {
    let t = fixture_tolerance();
    for threads in [1, 2] {
        check_against_reference(
            EngineOptions::native(Precision::F32).with_threads(threads),
            Tolerance {
                features: t,
                logits: 1e-2,
            },
        );
    }
}

/// At int8 the encoder runs f32 (features as close as native f32's); the decoder's int8 products
/// move logits by about one unit of their ±15 (measured 1.04). What must not move is the argmax
/// at every position; a wrong scale or a mis-packed weight moves logits by many units and the
/// argmax with them.
#[test]
fn native_int8_keeps_the_reference_tokens_on_real_tiny_en_weights() {
    for threads in [1, 2] {
        check_against_reference(
            EngineOptions::native(Precision::Int8).with_threads(threads),
            Tolerance {
                features: fixture_tolerance(),
                logits: 2.0,
            },
        );
    }
}

/// `suppress_ids` from the CTranslate2 `config.json` shipped with each model (generated by
/// Hugging Face from the reference tokenizer), ordinary tokens only.
const TINY_EN_SUPPRESS: &[u32] = &[
    1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357,
    366, 438, 532, 685, 705, 796, 930, 1058, 1220, 1267, 1279, 1303, 1343, 1377, 1391, 1635, 1782,
    1875, 2162, 2361, 2488, 3467, 4008, 4211, 4600, 4808, 5299, 5855, 6329, 7203, 9609, 9959,
    10563, 10786, 11420, 11709, 11907, 13163, 13697, 13700, 14808, 15306, 16410, 16791, 17992,
    19203, 19510, 20724, 22305, 22935, 27007, 30109, 30420, 33409, 34949, 40283, 40493, 40549,
    47282, 49146,
];
const BASE_SUPPRESS: &[u32] = &[
    1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 359,
    503, 522, 542, 873, 893, 902, 918, 922, 931, 1350, 1853, 1982, 2460, 2627, 3246, 3253, 3268,
    3536, 3846, 3961, 4183, 4667, 6585, 6647, 7273, 9061, 9383, 10428, 10929, 11938, 12033, 12331,
    12562, 13793, 14157, 14635, 15265, 15618, 16553, 16604, 18362, 18956, 20075, 21675, 22520,
    26130, 26161, 26435, 28279, 29464, 31650, 32302, 32470, 36865, 42863, 47425, 49870, 50254,
];

#[test]
fn our_bpe_finds_the_same_non_speech_tokens_as_the_reference_tokenizer() {
    for (name, expected) in [("tiny.en", TINY_EN_SUPPRESS), ("base", BASE_SUPPRESS)] {
        let dir = installed(name);
        let config =
            percept_models::whisper::WhisperConfig::from_file(&dir.join("model.json")).unwrap();
        let tokenizer = percept_models::whisper::Tokenizer::from_tiktoken_file(
            &dir.join(&config.vocab_file),
            config.n_vocab,
        )
        .unwrap();
        assert_eq!(tokenizer.non_speech_tokens(), expected, "{name}");
        assert_eq!(tokenizer.encode(" "), vec![220], "{name}: blank token");
        assert_eq!(
            tokenizer.decode(&tokenizer.encode(" Hello world, it's 42!")),
            " Hello world, it's 42!"
        );
    }
}
