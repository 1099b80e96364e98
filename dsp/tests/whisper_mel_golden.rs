//! Golden test: our Whisper log-mel and filterbank against the numpy reference fixtures
//! written by `scripts/make_mel_fixture.py` (see that script to regenerate).

use std::path::PathBuf;

use percept_dsp::whisper_mel::{N_FREQ_BINS, log_mel_spectrogram, mel_filters};

const MEL_TOLERANCE: f32 = 1e-4;
const FILTER_TOLERANCE: f32 = 1e-6;

/// (input name, n_mels, padding samples, reference file) — mirrors `mels` in fixture.json.
const MEL_CASES: [(&str, usize, usize, &str); 6] = [
    ("speech", 80, 0, "speech_mel80.f32"),
    ("speech", 128, 0, "speech_mel128.f32"),
    ("silence", 80, 0, "silence_mel80.f32"),
    ("clipped", 80, 0, "clipped_mel80.f32"),
    ("clipped", 80, 1000, "clipped_mel80_pad1000.f32"),
    ("tiny", 80, 0, "tiny_mel80.f32"),
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mel")
}

fn read_f32(name: &str) -> Vec<f32> {
    let bytes =
        std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"));
    assert_eq!(bytes.len() % 4, 0, "{name} is not whole f32 values");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn max_abs_diff(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn fixture_manifest_lists_every_file_the_test_reads() {
    let manifest = std::fs::read_to_string(fixture_dir().join("fixture.json")).unwrap();
    for (input, n_mels, padding, file) in MEL_CASES {
        let entry = format!(
            "\"input\": \"{input}\",\n      \"n_mels\": {n_mels},\n      \"padding\": {padding},\n      \"file\": \"{file}\""
        );
        assert!(
            manifest.contains(&entry),
            "fixture.json has no entry {entry}"
        );
    }
}

#[test]
fn log_mel_matches_whisper_reference_within_1e_4() {
    for (input, n_mels, padding, file) in MEL_CASES {
        let samples = read_f32(&format!("{input}.f32"));
        let reference = read_f32(file);
        let ours = log_mel_spectrogram(&samples, n_mels, padding).unwrap();
        assert_eq!(ours.n_frames, (samples.len() + padding) / 160);
        assert_eq!(
            ours.n_mels * ours.n_frames,
            reference.len(),
            "{file}: shape"
        );
        let diff = max_abs_diff(&ours.data, &reference);
        println!(
            "golden {file}: [{n_mels} x {}] max abs diff {diff:.3e}",
            ours.n_frames
        );
        assert!(
            diff <= MEL_TOLERANCE,
            "{file}: max abs diff {diff} > {MEL_TOLERANCE}"
        );
    }
}

#[test]
fn computed_filters_match_whisper_npz_within_1e_6() {
    for n_mels in [80, 128] {
        let reference = read_f32(&format!("mel_filters_{n_mels}.f32"));
        let ours = mel_filters(n_mels);
        assert_eq!(ours.len(), n_mels * N_FREQ_BINS);
        let diff = max_abs_diff(&ours, &reference);
        println!("golden mel_filters_{n_mels}: max abs diff {diff:.3e}");
        assert!(
            diff <= FILTER_TOLERANCE,
            "mel_filters({n_mels}): max abs diff {diff} > {FILTER_TOLERANCE}"
        );
    }
}
