//! Loading the image model for `classify` and `embed` from `--model` / `--config`, and reading
//! image files: the same [`ImageModel`] and decoder the daemon's cameras use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use percept_dsp::RgbImage;
use percept_dsp::image::decode::{DecodeLimits, decode_image};
use percept_models::clip::{ClipFiles, DEFAULT_VOCAB, default_templates};
use percept_models::vision::{ClipSettings, ImageModel, VisionModel, VisionSettings};

use crate::cli::VisionModelArgs;
use crate::config::Config;

/// Loads the model the arguments name; `labels` are zero-shot labels (CLIP only).
pub fn load_image_model(
    args: &VisionModelArgs,
    labels: &[String],
    top_k: usize,
) -> Result<ImageModel> {
    if let Some(path) = &args.config {
        let config = Config::load(path, args.models.models_dir.as_deref())?;
        let settings = VisionSettings {
            top_k,
            ..config.vision.model
        };
        let mut image_model = ImageModel::load(&settings, &config.models_dir)?;
        if !labels.is_empty() {
            let templates = match settings.model {
                VisionModel::Clip(clip) => clip.templates,
                VisionModel::ImageNet(_) => Vec::new(),
            };
            image_model.set_labels(labels, &templates)?;
        }
        return Ok(image_model);
    }
    if !(args.logit_scale.is_finite() && args.logit_scale > 0.0) {
        bail!("--logit-scale must be > 0, got {}", args.logit_scale);
    }
    let models_dir = args.models.resolve();
    let settings = match clip_files(&args.model)? {
        None => {
            if !labels.is_empty() {
                bail!(
                    "--labels needs a zero-shot model (a CLIP export); {} has fixed classes",
                    args.model
                );
            }
            VisionSettings {
                model: VisionModel::ImageNet(args.model.clone()),
                top_k,
            }
        }
        Some(files) => VisionSettings {
            model: VisionModel::Clip(ClipSettings {
                name: clip_name(&args.model),
                files,
                vocab: args
                    .vocab
                    .clone()
                    .unwrap_or_else(|| models_dir.join(DEFAULT_VOCAB)),
                labels: if labels.is_empty() {
                    vec!["photo".into()]
                } else {
                    labels.to_vec()
                },
                templates: default_templates(),
                logit_scale: args.logit_scale,
            }),
            top_k,
        },
    };
    Ok(ImageModel::load(&settings, &models_dir)?)
}

/// The CLIP graphs `model` points at, or `None` when it is a registry name.
fn clip_files(model: &str) -> Result<Option<ClipFiles>> {
    let path = Path::new(model);
    if !path.exists() {
        if model.contains('/') || model.ends_with(".onnx") {
            bail!("--model {model}: no such file or directory");
        }
        return Ok(None);
    }
    if path.is_file() {
        return Ok(Some(ClipFiles::Combined(path.to_path_buf())));
    }
    let (vision, text) = (path.join("vision_model.onnx"), path.join("text_model.onnx"));
    if vision.is_file() && text.is_file() {
        return Ok(Some(ClipFiles::Separate { vision, text }));
    }
    let combined = path.join("model.onnx");
    if combined.is_file() {
        return Ok(Some(ClipFiles::Combined(combined)));
    }
    bail!(
        "--model {model}: the directory holds neither vision_model.onnx + text_model.onnx nor model.onnx"
    )
}

/// A name for a CLIP export given by path: its directory's or file's stem.
fn clip_name(model: &str) -> String {
    let path = PathBuf::from(model);
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map_or_else(|| "clip".into(), |s| s.to_string_lossy().into_owned())
}

/// Reads and decodes one image file with the daemon's default limits.
pub fn read_image(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    decode_image(&bytes, &DecodeLimits::default()).with_context(|| format!("{}", path.display()))
}
