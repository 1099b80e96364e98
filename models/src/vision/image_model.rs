//! The image model behind `perceptd classify`, `perceptd embed` and the daemon's cameras: one
//! code path from an [`RgbImage`] to labels and an embedding, whatever the model family. The
//! family chooses its preprocessing here, and a synthetic CLIP export is recognised here.

use std::path::{Path, PathBuf};

use percept_dsp::RgbImage;
use percept_dsp::image::preprocess::{
    CLIP_PREPROCESS, EFFNET_LITE0_PREPROCESS, PreprocessError, PreprocessSpec, Preprocessor,
    SpecError,
};

use super::ImageAnalysis;
use crate::clip::tokenizer::{ClipTokenizer, TokenizerError};
use crate::clip::{ClipError, ClipFiles, ClipModel, ZeroShot};
use crate::imagenet::{ImageNetClassifier, ImageNetError};

/// File next to a synthetic model that marks it as such (written by
/// `scripts/make_synthetic_clip.py`).
pub const SYNTHETIC_MARKER: &str = "synthetic.json";

/// Which CLIP export to load and how to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSettings {
    /// The name published with results.
    pub name: String,
    /// The ONNX graphs.
    pub files: ClipFiles,
    /// The BPE vocabulary (`bpe_simple_vocab_16e6.txt.gz`).
    pub vocab: PathBuf,
    /// Zero-shot labels.
    pub labels: Vec<String>,
    /// Prompt templates, each with one `{}`.
    pub templates: Vec<String>,
    /// Factor on cosine similarities before the softmax.
    pub logit_scale: f32,
}

/// Which image model.
#[derive(Debug, Clone, PartialEq)]
pub enum VisionModel {
    /// An ImageNet classifier from the registry, by name (`efficientnet-lite0`).
    ImageNet(String),
    /// A CLIP export with zero-shot labels.
    Clip(ClipSettings),
}

/// What to load.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionSettings {
    /// The model.
    pub model: VisionModel,
    /// How many labels each analysis keeps.
    pub top_k: usize,
}

/// Errors from loading or running an [`ImageModel`]. The causes are kept as sources (an
/// `anyhow` chain printed with `{:#}` shows them).
#[derive(Debug, thiserror::Error)]
pub enum ImageModelError {
    /// An ImageNet classifier failed to load.
    #[error("loading model {name}")]
    LoadImageNet {
        /// The registry name.
        name: String,
        /// Why.
        #[source]
        source: ImageNetError,
    },
    /// A CLIP export failed to load.
    #[error("loading the CLIP model")]
    LoadClip(#[source] ClipError),
    /// The CLIP vocabulary failed to load.
    #[error("loading the CLIP vocabulary {}", path.display())]
    Vocabulary {
        /// The vocabulary file.
        path: PathBuf,
        /// Why.
        #[source]
        source: TokenizerError,
    },
    /// The configured zero-shot prompts could not be embedded.
    #[error("embedding the zero-shot labels")]
    ZeroShot(#[source] ClipError),
    /// A family's preprocessing spec is invalid (a bug, reported rather than panicking).
    #[error("invalid preprocessing spec")]
    Spec(#[source] SpecError),
    /// The image could not be preprocessed (hostile or empty size).
    #[error("preprocessing the image")]
    Preprocess(#[source] PreprocessError),
    /// An ImageNet classifier failed on a frame.
    #[error(transparent)]
    ImageNet(#[from] ImageNetError),
    /// A CLIP model failed on a frame, a text or new labels.
    #[error(transparent)]
    Clip(#[from] ClipError),
    /// Zero-shot labels were given to a model with fixed classes.
    #[error("--labels needs a zero-shot model (CLIP); {0} has fixed classes")]
    FixedClasses(String),
    /// A text embedding was asked of a model without a text encoder.
    #[error("{0} has no text encoder; use a CLIP model")]
    NoTextEncoder(String),
}

enum Family {
    ImageNet(ImageNetClassifier),
    Clip(Box<ClipParts>),
}

/// A CLIP model with what zero-shot labelling needs.
struct ClipParts {
    model: ClipModel,
    tokenizer: ClipTokenizer,
    zero_shot: ZeroShot,
}

/// A loaded image model with its preprocessing; reusable buffers make repeated calls
/// allocation-free in preprocessing.
pub struct ImageModel {
    family: Family,
    preprocessor: Preprocessor,
    pixels: Vec<f32>,
    name: String,
    synthetic: bool,
    top_k: usize,
}

impl std::fmt::Debug for ImageModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageModel")
            .field("name", &self.name)
            .field("synthetic", &self.synthetic)
            .finish_non_exhaustive()
    }
}

impl ImageModel {
    /// Loads the model `settings` names from `models_dir` (verifying installed models'
    /// manifests), and embeds the zero-shot prompts for CLIP.
    pub fn load(settings: &VisionSettings, models_dir: &Path) -> Result<Self, ImageModelError> {
        let name = match &settings.model {
            VisionModel::Clip(clip) => return Self::load_clip(clip, settings.top_k),
            VisionModel::ImageNet(name) => name,
        };
        let classifier =
            ImageNetClassifier::load_installed(models_dir, name).map_err(|source| {
                ImageModelError::LoadImageNet {
                    name: name.clone(),
                    source,
                }
            })?;
        Self::new(
            Family::ImageNet(classifier),
            EFFNET_LITE0_PREPROCESS,
            name.clone(),
            false,
            settings.top_k,
        )
    }

    fn load_clip(clip: &ClipSettings, top_k: usize) -> Result<Self, ImageModelError> {
        let model = ClipModel::load(&clip.files).map_err(ImageModelError::LoadClip)?;
        let tokenizer = ClipTokenizer::from_bpe_gz(&clip.vocab).map_err(|source| {
            ImageModelError::Vocabulary {
                path: clip.vocab.clone(),
                source,
            }
        })?;
        let mut zero_shot = ZeroShot::new(clip.logit_scale);
        zero_shot
            .set_labels(&model, &tokenizer, &clip.labels, &clip.templates)
            .map_err(ImageModelError::ZeroShot)?;
        let synthetic = is_synthetic(&clip.files);
        let name = if synthetic && !clip.name.contains("synthetic") {
            format!("{} (synthetic)", clip.name)
        } else {
            clip.name.clone()
        };
        Self::new(
            Family::Clip(Box::new(ClipParts {
                model,
                tokenizer,
                zero_shot,
            })),
            CLIP_PREPROCESS,
            name,
            synthetic,
            top_k,
        )
    }

    fn new(
        family: Family,
        spec: PreprocessSpec,
        name: String,
        synthetic: bool,
        top_k: usize,
    ) -> Result<Self, ImageModelError> {
        Ok(Self {
            family,
            pixels: vec![0.0; spec.output_len()],
            preprocessor: Preprocessor::new(spec).map_err(ImageModelError::Spec)?,
            name,
            synthetic,
            top_k,
        })
    }

    /// The model's name as published.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the model has synthetic (random, untrained) weights.
    pub fn synthetic(&self) -> bool {
        self.synthetic
    }

    /// Replaces the zero-shot labels (CLIP only); only new prompts are embedded.
    pub fn set_labels(
        &mut self,
        labels: &[String],
        templates: &[String],
    ) -> Result<(), ImageModelError> {
        match &mut self.family {
            Family::Clip(clip) => {
                let ClipParts {
                    model,
                    tokenizer,
                    zero_shot,
                } = &mut **clip;
                zero_shot.set_labels(model, tokenizer, labels, templates)?;
                Ok(())
            }
            Family::ImageNet(_) => Err(ImageModelError::FixedClasses(self.name.clone())),
        }
    }

    /// Preprocesses `image` and runs the model: the top labels and the raw embedding.
    pub fn analyze(&mut self, image: &RgbImage) -> Result<ImageAnalysis, ImageModelError> {
        self.preprocess(image)?;
        self.run_model()
    }

    /// The preprocessing half of [`ImageModel::analyze`] (into the model's own buffer).
    pub fn preprocess(&mut self, image: &RgbImage) -> Result<(), ImageModelError> {
        self.preprocessor
            .process_into(image, &mut self.pixels)
            .map_err(ImageModelError::Preprocess)
    }

    /// Scratch growths of the preprocessor so far (constant once warmed up on one frame size).
    pub fn preprocess_allocations(&self) -> u64 {
        self.preprocessor.allocations()
    }

    /// The model half of [`ImageModel::analyze`], on the last preprocessed image.
    pub fn run_model(&self) -> Result<ImageAnalysis, ImageModelError> {
        match &self.family {
            Family::ImageNet(classifier) => Ok(classifier.classify(&self.pixels, self.top_k)?),
            Family::Clip(clip) => {
                let embedding = clip.model.embed_image(&self.pixels)?;
                Ok(ImageAnalysis {
                    labels: clip.zero_shot.top_k(&embedding, self.top_k),
                    embedding,
                })
            }
        }
    }

    /// The normalised text embedding of `text` (CLIP only).
    pub fn embed_text(&self, text: &str) -> Result<Vec<f32>, ImageModelError> {
        match &self.family {
            Family::Clip(clip) => Ok(clip.model.embed_text_normalized(&clip.tokenizer, text)?),
            Family::ImageNet(_) => Err(ImageModelError::NoTextEncoder(self.name.clone())),
        }
    }
}

/// Whether the CLIP graphs' directory holds the synthetic-model marker.
fn is_synthetic(files: &ClipFiles) -> bool {
    let path = match files {
        ClipFiles::Combined(p) => p,
        ClipFiles::Separate { vision, .. } => vision,
    };
    path.parent()
        .is_some_and(|dir| dir.join(SYNTHETIC_MARKER).is_file())
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn settings(model: VisionModel) -> VisionSettings {
        VisionSettings { model, top_k: 3 }
    }

    #[test]
    fn a_missing_imagenet_model_names_itself_and_keeps_the_cause() {
        let dir = std::env::temp_dir().join("perceptd-no-models-here");
        let error = ImageModel::load(
            &settings(VisionModel::ImageNet("efficientnet-lite0".into())),
            &dir,
        )
        .unwrap_err();
        assert!(
            matches!(error, ImageModelError::LoadImageNet { .. }),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "loading model efficientnet-lite0");
        assert!(error.source().is_some(), "the registry's reason is kept");
    }

    #[test]
    fn a_missing_clip_export_is_a_load_error() {
        let clip = ClipSettings {
            name: "clip".into(),
            files: ClipFiles::Combined(PathBuf::from("/nonexistent/model.onnx")),
            vocab: PathBuf::from("/nonexistent/vocab.txt.gz"),
            labels: vec!["cat".into()],
            templates: vec!["a photo of a {}.".into()],
            logit_scale: 100.0,
        };
        let error =
            ImageModel::load(&settings(VisionModel::Clip(clip)), Path::new("/")).unwrap_err();
        assert!(matches!(error, ImageModelError::LoadClip(_)), "{error:?}");
        assert!(error.source().is_some());
    }

    #[test]
    fn the_synthetic_marker_is_found_next_to_either_layout() {
        let dir = std::env::temp_dir().join(format!("perceptd-marker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let combined = ClipFiles::Combined(dir.join("model.onnx"));
        let separate = ClipFiles::Separate {
            vision: dir.join("vision_model.onnx"),
            text: dir.join("text_model.onnx"),
        };
        assert!(!is_synthetic(&combined) && !is_synthetic(&separate));
        std::fs::write(dir.join(SYNTHETIC_MARKER), "{}").unwrap();
        assert!(is_synthetic(&combined) && is_synthetic(&separate));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
