//! The image model behind `perceptd classify`, `perceptd embed` and the daemon's cameras: one
//! code path from an [`RgbImage`] to labels and an embedding, whatever the model family.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use percept_dsp::RgbImage;
use percept_dsp::image::preprocess::{
    CLIP_PREPROCESS, EFFNET_LITE0_PREPROCESS, PreprocessSpec, Preprocessor,
};
use percept_models::clip::tokenizer::ClipTokenizer;
use percept_models::clip::{ClipFiles, ClipModel, ZeroShot};
use percept_models::imagenet::ImageNetClassifier;
use percept_models::vision::ImageAnalysis;

/// The model name that selects the configured CLIP export.
pub const CLIP_MODEL: &str = "clip";
/// File next to a synthetic model that marks it as such (written by
/// `scripts/make_synthetic_clip.py`).
pub const SYNTHETIC_MARKER: &str = "synthetic.json";

/// The BPE vocabulary's place in the models directory.
pub const DEFAULT_VOCAB: &str = "clip-assets/bpe_simple_vocab_16e6.txt.gz";

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
    /// A CLIP export with zero-shot labels ([`CLIP_MODEL`] in the config).
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
pub struct Analyzer {
    family: Family,
    preprocessor: Preprocessor,
    pixels: Vec<f32>,
    name: String,
    synthetic: bool,
    top_k: usize,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("name", &self.name)
            .field("synthetic", &self.synthetic)
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// Loads the model `settings` names from `models_dir` (verifying installed models'
    /// manifests), and embeds the zero-shot prompts for CLIP.
    pub fn load(settings: &VisionSettings, models_dir: &Path) -> Result<Self> {
        let name = match &settings.model {
            VisionModel::Clip(clip) => return Self::load_clip(clip, settings.top_k),
            VisionModel::ImageNet(name) => name,
        };
        let classifier = ImageNetClassifier::load_installed(models_dir, name)
            .with_context(|| format!("loading model {name}"))?;
        Self::new(
            Family::ImageNet(classifier),
            EFFNET_LITE0_PREPROCESS,
            name.clone(),
            false,
            settings.top_k,
        )
    }

    fn load_clip(clip: &ClipSettings, top_k: usize) -> Result<Self> {
        let model = ClipModel::load(&clip.files).context("loading the CLIP model")?;
        let tokenizer = ClipTokenizer::from_bpe_gz(&clip.vocab)
            .with_context(|| format!("loading the CLIP vocabulary {}", clip.vocab.display()))?;
        let mut zero_shot = ZeroShot::new(clip.logit_scale);
        zero_shot
            .set_labels(&model, &tokenizer, &clip.labels, &clip.templates)
            .context("embedding the zero-shot labels")?;
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
    ) -> Result<Self> {
        Ok(Self {
            family,
            pixels: vec![0.0; spec.output_len()],
            preprocessor: Preprocessor::new(spec).context("invalid preprocessing spec")?,
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
    pub fn set_labels(&mut self, labels: &[String], templates: &[String]) -> Result<()> {
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
            Family::ImageNet(_) => {
                bail!(
                    "--labels needs a zero-shot model (CLIP); {} has fixed classes",
                    self.name
                )
            }
        }
    }

    /// Preprocesses `image` and runs the model: the top labels and the raw embedding.
    pub fn analyze(&mut self, image: &RgbImage) -> Result<ImageAnalysis> {
        self.preprocess(image)?;
        self.run_model()
    }

    /// The preprocessing half of [`Analyzer::analyze`] (into the analyzer's own buffer).
    pub fn preprocess(&mut self, image: &RgbImage) -> Result<()> {
        self.preprocessor
            .process_into(image, &mut self.pixels)
            .context("preprocessing the image")
    }

    /// Scratch growths of the preprocessor so far (constant once warmed up on one frame size).
    pub fn preprocess_allocations(&self) -> u64 {
        self.preprocessor.allocations()
    }

    /// The model half of [`Analyzer::analyze`], on the last preprocessed image.
    pub fn run_model(&self) -> Result<ImageAnalysis> {
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
    pub fn embed_text(&self, text: &str) -> Result<Vec<f32>> {
        match &self.family {
            Family::Clip(clip) => Ok(clip.model.embed_text_normalized(&clip.tokenizer, text)?),
            Family::ImageNet(_) => bail!("{} has no text encoder; use a CLIP model", self.name),
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
