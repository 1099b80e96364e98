//! Helpers shared by the integration tests: the binary, the models dir, spoken test audio.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("daemon/ has a parent")
        .to_path_buf()
}

/// The `perceptd` binary under test (`PERCEPTD_TEST_BIN` names another build, for
/// before/after benchmarks such as scripts/bench_corpus.sh).
pub fn perceptd() -> Command {
    match std::env::var_os("PERCEPTD_TEST_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_perceptd")),
    }
}

/// The models dir the tests use; panics with the fix when tiny.en is not installed.
pub fn models_dir() -> PathBuf {
    let dir = percept_models::registry::default_models_dir();
    assert!(
        dir.join("whisper-tiny.en/manifest.json").is_file(),
        "models are not installed in {}; run `perceptd models fetch --with base` (or set PERCEPTD_MODELS)",
        dir.display()
    );
    dir
}

/// A fresh scratch directory under the target dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Speaks the test sentences with espeak-ng (scripts/make_speech.sh) into a scratch dir.
pub fn make_speech(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let status = Command::new("bash")
        .arg(repo_root().join("scripts/make_speech.sh"))
        .arg(&dir)
        .status()
        .expect("run scripts/make_speech.sh");
    assert!(
        status.success(),
        "scripts/make_speech.sh failed (is espeak-ng installed? run scripts/setup.sh)"
    );
    dir
}

/// The committed test sentences, in file order.
pub fn sentences() -> Vec<String> {
    std::fs::read_to_string(repo_root().join("tests/speech/sentences.txt"))
        .expect("read tests/speech/sentences.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `perceptd transcribe ARGS WAV --models-dir …`, which must succeed: its stdout.
pub fn transcribe_ok(args: &[&str], wav: &Path) -> String {
    let out = perceptd()
        .arg("transcribe")
        .args(args)
        .arg(wav)
        .arg("--models-dir")
        .arg(models_dir())
        .output()
        .expect("run perceptd transcribe");
    assert!(
        out.status.success(),
        "transcribe {} failed: {}",
        wav.display(),
        stderr(&out)
    );
    stdout(&out)
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
pub mod stream;
