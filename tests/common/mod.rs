//! Helpers shared by the integration tests: the binary, the models dir, spoken test audio.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `perceptd` binary under test: `PERCEPTD_TEST_BIN` when set (another build, for
/// before/after benchmarks such as scripts/bench_corpus.sh), else the one cargo built beside
/// this test executable. Cargo only hands `CARGO_BIN_EXE_*` to tests of the binary's own
/// package, so the path is derived here, and a binary older than the sources is refused.
pub fn perceptd_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("PERCEPTD_TEST_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => built_perceptd(),
    })
    .clone()
}

/// A command running [`perceptd_bin`], with a state directory of its own
/// ([`private_state_dir`]; a config's `state_dir` still wins).
pub fn perceptd() -> Command {
    let mut command = Command::new(perceptd_bin());
    command.env("STATE_DIRECTORY", private_state_dir());
    command
}

/// A fresh state directory path for one perceptd process: tests run daemons side by side, and a
/// durable outbox shared between them would replay one test's finals into another's broker.
pub fn private_state_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("state")
        .join(format!("{}-{n}", std::process::id()))
}

/// `target/<profile>/perceptd`, checked to exist and to be newer than every source file.
fn built_perceptd() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let bin = profile_dir.join("perceptd");
    const BUILD: &str =
        "build it with `cargo build --workspace --all-targets` (scripts/test.sh does)";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{} is missing ({e}); {BUILD}", bin.display()));
    let root = repo_root();
    let mut newest = None;
    for dir in ["daemon", "dsp", "models", "compute"] {
        newest_source(&root.join(dir), &mut newest);
    }
    newest_source(&root.join("Cargo.lock"), &mut newest);
    if let Some((changed, path)) = newest {
        assert!(
            changed <= built,
            "{} is older than {}: {BUILD}",
            bin.display(),
            path.display()
        );
    }
    bin
}

/// Keeps in `newest` the latest modification time of the `.rs`/`.toml`/`.lock` files under `path`.
fn newest_source(path: &Path, newest: &mut Option<(SystemTime, PathBuf)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    // Unit-test modules (`tests.rs`, `tests/` inside a crate's src) are compiled out of the
    // binary: cargo does not relink it when only they change.
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // Nor when only a manifest's package metadata changes ([package.metadata.deb], read by
    // cargo-deb): the binary would be refused until some source changed. Dependency changes show
    // in Cargo.lock, which is checked.
    if name == "tests.rs"
        || name == "Cargo.toml"
        || (name == "tests"
            && path.parent().is_some_and(|p| {
                p.ends_with("src") || p.components().any(|c| c.as_os_str() == "src")
            }))
    {
        return;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            newest_source(&entry.path(), newest);
        }
        return;
    }
    let source = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("rs" | "toml" | "lock")
    );
    if let (true, Ok(modified)) = (source, meta.modified())
        && newest.as_ref().is_none_or(|(t, _)| modified > *t)
    {
        *newest = Some((modified, path.to_path_buf()));
    }
}

/// Whisper's English text normaliser (tiny.en's `english.json`), for word error rates.
pub fn english_normalizer() -> percept_models::eval::EnglishNormalizer {
    percept_models::eval::EnglishNormalizer::from_json_file(
        models_dir().join("whisper-tiny.en/english.json"),
    )
    .expect("english.json from the openai-whisper package")
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
