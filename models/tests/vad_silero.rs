//! Silero VAD v6 on tract with the real weights: against onnxruntime on a committed clip
//! (`scripts/make_vad_fixture.py`), and with the endpointer on espeak-ng speech, pink noise and
//! digital silence. Needs the installed model (`perceptd models fetch`), espeak-ng and sox.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use percept_dsp::{decode_wav, to_mono_16k};
use percept_models::registry::default_models_dir;
use percept_models::vad::{
    CHUNK_SAMPLES, EndpointConfig, Endpointer, MODEL_FILE, SAMPLE_RATE, SileroVad, VadError,
    VadEvent, VadSession,
};
use serde_json::Value;

fn model() -> Arc<SileroVad> {
    static MODEL: OnceLock<Arc<SileroVad>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let models = default_models_dir();
            SileroVad::load_installed(&models).unwrap_or_else(|e| {
                panic!(
                    "{e} (models dir {}; run `perceptd models fetch`)",
                    models.display()
                )
            })
        })
        .clone()
}

fn secs(s: f64) -> usize {
    (s * f64::from(SAMPLE_RATE)) as usize
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perceptd-vad-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_16k(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    to_mono_16k(&decode_wav(&bytes).unwrap()).unwrap()
}

fn run_tool(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (install espeak-ng and sox)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `text` spoken by espeak-ng (en-us, 150 wpm), resampled to 16 kHz by percept-dsp.
fn espeak(dir: &Path, name: &str, text: &str) -> Vec<f32> {
    let wav = dir.join(format!("{name}.wav"));
    run_tool(
        Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&wav)
            .arg(text),
    );
    read_16k(&wav)
}

/// First and one-past-last sample louder than −40 dBFS: where the speech is.
fn active_span(samples: &[f32]) -> (usize, usize) {
    let loud = |s: &f32| s.abs() > 0.01;
    let first = samples.iter().position(loud).expect("some speech");
    let last = samples.iter().rposition(loud).expect("some speech");
    (first, last + 1)
}

/// Speech probability of every chunk; the last chunk is zero-padded.
fn probabilities(session: &mut VadSession, samples: &[f32]) -> Vec<f32> {
    samples
        .chunks(CHUNK_SAMPLES)
        .map(|chunk| {
            let mut padded = [0.0f32; CHUNK_SAMPLES];
            padded[..chunk.len()].copy_from_slice(chunk);
            session.process_chunk(&padded).unwrap()
        })
        .collect()
}

/// Utterances `(start, end)` in samples found with the default endpoint config (soft limit 5 s).
fn utterances(probs: &[f32]) -> Vec<(u64, u64)> {
    // Sentence boundaries at min_silence_ms: the 2 s soft limit would also end a sentence at a
    // pause inside it (what the daemon wants in conversation, not what this test measures).
    let mut endpointer = Endpointer::new(EndpointConfig {
        soft_max_utterance_ms: 5_000,
        ..EndpointConfig::default()
    })
    .unwrap();
    let mut events: Vec<VadEvent> = probs.iter().flat_map(|&p| endpointer.push(p)).collect();
    events.extend(endpointer.finish());
    events
        .into_iter()
        .filter_map(|e| match e {
            VadEvent::End {
                start_sample,
                end_sample,
                ..
            } => Some((start_sample, end_sample)),
            VadEvent::Start { .. } => None,
        })
        .collect()
}

#[test]
fn tract_matches_onnxruntime_on_the_committed_speech_clip() {
    let fixture_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silero_vad");
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir.join("fixture.json")).unwrap())
            .unwrap();
    let expected: Vec<f32> = fixture["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap() as f32)
        .collect();
    let tolerance = fixture["tolerance"].as_f64().unwrap() as f32;
    let model_sha = percept_models::registry::sha256_file(model().path()).unwrap();
    assert_eq!(
        fixture["model_sha256"].as_str().unwrap(),
        model_sha,
        "fixture made from another model file"
    );

    let samples = read_16k(&fixture_dir.join("speech_16k.wav"));
    let got = probabilities(&mut model().session().unwrap(), &samples);
    assert_eq!(got.len(), expected.len());
    let max_diff = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "{} chunks, max |tract − onnxruntime| = {max_diff:e}",
        got.len()
    );
    assert!(max_diff <= tolerance, "max diff {max_diff} > {tolerance}");
    assert!(
        expected.iter().any(|&p| p > 0.9) && expected.iter().any(|&p| p < 0.1),
        "the clip has both speech and silence"
    );
}

#[test]
fn espeak_sentences_between_silences_are_found_with_their_boundaries() {
    let dir = scratch("espeak");
    let texts = [
        "Turn on the lights in the kitchen.",
        "What is the weather like tomorrow morning?",
        "Please remind me to call my sister at six.",
    ];
    let gap = vec![0.0f32; secs(1.5)];
    let mut stream = gap.clone();
    let mut expected = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let speech = espeak(&dir, &format!("s{i}"), text);
        let (first, last) = active_span(&speech);
        expected.push((stream.len() + first, stream.len() + last));
        stream.extend(&speech);
        stream.extend(&gap);
    }
    std::fs::remove_dir_all(&dir).ok();

    let probs = probabilities(&mut model().session().unwrap(), &stream);
    let found = utterances(&probs);
    let pad = secs(0.2) as f64;
    let to_s = |x: f64| x / f64::from(SAMPLE_RATE);
    for ((s, e), (fs, fe)) in expected.iter().zip(&found) {
        eprintln!(
            "speech {:.2}–{:.2} s, utterance {:.2}–{:.2} s (padding 0.2 s)",
            to_s(*s as f64),
            to_s(*e as f64),
            to_s(*fs as f64),
            to_s(*fe as f64)
        );
    }
    assert_eq!(found.len(), texts.len(), "utterances: {found:?}");
    for (&(s, e), &(fs, fe)) in expected.iter().zip(&found) {
        let start_err = to_s((fs as f64 - (s as f64 - pad)).abs());
        let end_err = to_s((fe as f64 - (e as f64 + pad)).abs());
        assert!(
            start_err <= 0.3 && end_err <= 0.3,
            "speech {s}..{e}, utterance {fs}..{fe}: start off by {start_err:.2} s, end by {end_err:.2} s"
        );
    }
}

#[test]
fn pink_noise_produces_no_utterance() {
    let dir = scratch("noise");
    let wav = dir.join("noise.wav");
    run_tool(
        Command::new("sox")
            .args(["-n", "-r", "16000", "-c", "1"])
            .arg(&wav)
            .args(["synth", "20", "pinknoise", "vol", "0.3"]),
    );
    let noise = read_16k(&wav);
    std::fs::remove_dir_all(&dir).ok();
    assert!(noise.len() >= secs(19.9));

    let probs = probabilities(&mut model().session().unwrap(), &noise);
    let max = probs.iter().copied().fold(0.0f32, f32::max);
    let above = probs.iter().filter(|&&p| p >= 0.5).count();
    eprintln!(
        "pink noise: max probability {max:.3}, {above} of {} chunks ≥ 0.5",
        probs.len()
    );
    assert_eq!(utterances(&probs), vec![], "max probability {max:.3}");
}

#[test]
fn digital_silence_scores_below_one_tenth() {
    let probs = probabilities(&mut model().session().unwrap(), &vec![0.0; secs(3.0)]);
    let max = probs.iter().copied().fold(0.0f32, f32::max);
    eprintln!("digital silence: max probability {max:.4}");
    assert!(max < 0.1, "max probability {max}");
}

#[test]
fn reset_makes_a_session_repeat_itself_exactly() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silero_vad");
    let samples = read_16k(&fixture.join("speech_16k.wav"));
    let mut session = model().session().unwrap();
    let first = probabilities(&mut session, &samples);
    let carried_over = probabilities(&mut session, &samples);
    session.reset();
    let after_reset = probabilities(&mut session, &samples);
    assert_eq!(first, after_reset);
    assert_ne!(first, carried_over, "the state carries across chunks");
}

#[test]
fn sessions_sharing_one_model_do_not_disturb_each_other() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silero_vad");
    let speech = read_16k(&fixture.join("speech_16k.wav"));
    let other: Vec<f32> = speech.iter().rev().map(|s| s * 0.5).collect();
    let alone_a = probabilities(&mut model().session().unwrap(), &speech);
    let alone_b = probabilities(&mut model().session().unwrap(), &other);

    let (mut a, mut b) = (model().session().unwrap(), model().session().unwrap());
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    for (ca, cb) in speech
        .chunks_exact(CHUNK_SAMPLES)
        .zip(other.chunks_exact(CHUNK_SAMPLES))
    {
        got_a.push(a.process_chunk(ca).unwrap());
        got_b.push(b.process_chunk(cb).unwrap());
    }
    let n = got_a.len();
    assert_eq!(got_a, alone_a[..n]);
    assert_eq!(got_b, alone_b[..n]);
}

#[test]
fn a_wrong_chunk_length_or_a_non_finite_sample_is_rejected_and_changes_nothing() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silero_vad");
    let speech = read_16k(&fixture.join("speech_16k.wav"));
    let reference = probabilities(&mut model().session().unwrap(), &speech);

    let mut session = model().session().unwrap();
    let mut got = Vec::new();
    for chunk in speech.chunks_exact(CHUNK_SAMPLES) {
        let err = session.process_chunk(&chunk[..100]).unwrap_err();
        assert!(matches!(
            err,
            VadError::ChunkLength {
                expected: 512,
                actual: 100
            }
        ));
        let mut bad = chunk.to_vec();
        bad[7] = f32::NAN;
        let err = session.process_chunk(&bad).unwrap_err();
        assert!(matches!(err, VadError::NonFiniteSample { index: 7, .. }));
        got.push(session.process_chunk(chunk).unwrap());
    }
    assert_eq!(got, reference[..got.len()]);
    let message = session.process_chunk(&[0.0; 511]).unwrap_err().to_string();
    assert_eq!(
        message,
        "a VAD chunk must have exactly 512 samples (16 kHz), got 511"
    );
}

#[test]
fn loading_a_missing_or_corrupted_model_names_the_file() {
    let dir = scratch("corrupt");
    let err = SileroVad::load(&dir.join("nope.onnx")).unwrap_err();
    assert!(
        err.to_string().ends_with("nope.onnx: file is missing"),
        "{err}"
    );

    std::fs::write(dir.join("garbage.onnx"), b"not a protobuf").unwrap();
    assert!(matches!(
        SileroVad::load(&dir.join("garbage.onnx")),
        Err(VadError::BadModel { .. })
    ));

    // An installed copy whose ONNX file changed fails the manifest check.
    let installed = model().path().parent().unwrap().to_path_buf();
    let copy = dir.join("silero-vad");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(installed.join("manifest.json"), copy.join("manifest.json")).unwrap();
    let mut bytes = std::fs::read(installed.join(MODEL_FILE)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(copy.join(MODEL_FILE), bytes).unwrap();
    let err = SileroVad::load_installed(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        err.contains(&format!("{MODEL_FILE}: sha256 mismatch")),
        "{err}"
    );
}

#[test]
fn the_model_is_shareable_and_a_session_can_move_to_another_thread() {
    fn shareable<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shareable::<SileroVad>();
    movable::<VadSession>();
    movable::<Endpointer>();
    let mut session = model().session().unwrap();
    let p = std::thread::spawn(move || session.process_chunk(&[0.0; CHUNK_SAMPLES]).unwrap())
        .join()
        .unwrap();
    assert!(p < 0.1, "{p}");
}
