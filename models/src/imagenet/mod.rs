//! ImageNet classifiers: EfficientNet-Lite0 with real weights, converted by
//! `scripts/effnet_convert.py` into one ONNX graph with two outputs, `logits` `[1, 1000]` and
//! the pooled `embedding` `[1, 1280]`, from one input `input` `[1, 3, 224, 224]` (NCHW, normalised
//! as [`percept_dsp::image::preprocess::EFFNET_LITE0_PREPROCESS`] says). `labels.txt` holds
//! the 1000 class names in index order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::tvec;

use crate::onnx_graph::{GraphError, InputShape, OnnxGraph, PlannedGraph, f32_tensor};
use crate::registry::{RegistryError, installed_model_dir};
use crate::vision::{ImageAnalysis, softmax, top_k};

/// The registry name of the EfficientNet-Lite0 classifier.
pub const EFFNET_LITE0: &str = "efficientnet-lite0";
/// The graph file in the model directory.
pub const MODEL_FILE: &str = "model.onnx";
/// The class names file in the model directory.
pub const LABELS_FILE: &str = "labels.txt";
/// The input side in pixels.
pub const INPUT_SIZE: usize = 224;
/// Number of ImageNet classes.
pub const NUM_CLASSES: usize = 1000;

/// Errors from loading or running an ImageNet classifier.
#[derive(Debug, thiserror::Error)]
pub enum ImageNetError {
    /// The model is not installed or its files do not match the manifest.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The graph failed to load, plan or run.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// `labels.txt` is unreadable or has the wrong number of lines.
    #[error("{path}: {reason}")]
    BadLabels {
        /// The labels file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The input tensor has the wrong length.
    #[error("the input must be 3x{INPUT_SIZE}x{INPUT_SIZE} = {expected} floats, got {actual}")]
    InputLength {
        /// 3 × 224 × 224.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The graph produced something unexpected.
    #[error("model output is malformed: {0}")]
    BadOutput(String),
}

/// An ImageNet classifier with an embedding output, loaded and planned once.
#[derive(Debug)]
pub struct ImageNetClassifier {
    graph: PlannedGraph,
    labels: Vec<Arc<str>>,
}

impl ImageNetClassifier {
    /// Loads `model.onnx` and `labels.txt` from `dir` (no sha256 check; see
    /// [`ImageNetClassifier::load_installed`]).
    pub fn load(dir: &Path) -> Result<Self, ImageNetError> {
        let labels = read_labels(&dir.join(LABELS_FILE))?;
        let graph = OnnxGraph::load(&dir.join(MODEL_FILE))?.plan(
            &[("input", InputShape::F32(vec![1, 3, INPUT_SIZE, INPUT_SIZE]))],
            &["logits", "embedding"],
        )?;
        Ok(Self { graph, labels })
    }

    /// Finds the named model in the models directory, verifies it against its manifest and
    /// loads it.
    pub fn load_installed(models_dir: &Path, name: &str) -> Result<Self, ImageNetError> {
        Self::load(&installed_model_dir(models_dir, name)?)
    }

    /// The class names in index order.
    pub fn labels(&self) -> &[Arc<str>] {
        &self.labels
    }

    /// Runs the model on one preprocessed NCHW frame; returns the `k` most probable classes and
    /// the embedding.
    pub fn classify(&self, pixels: &[f32], k: usize) -> Result<ImageAnalysis, ImageNetError> {
        let (logits, embedding) = self.run(pixels)?;
        let probabilities = softmax(&logits);
        Ok(ImageAnalysis {
            labels: top_k(&self.labels, &probabilities, k),
            embedding,
        })
    }

    /// The raw logits (one per class) of one preprocessed frame.
    pub fn logits(&self, pixels: &[f32]) -> Result<Vec<f32>, ImageNetError> {
        Ok(self.run(pixels)?.0)
    }

    fn run(&self, pixels: &[f32]) -> Result<(Vec<f32>, Vec<f32>), ImageNetError> {
        let expected = 3 * INPUT_SIZE * INPUT_SIZE;
        if pixels.len() != expected {
            return Err(ImageNetError::InputLength {
                expected,
                actual: pixels.len(),
            });
        }
        let input = f32_tensor(&[1, 3, INPUT_SIZE, INPUT_SIZE], pixels)
            .map_err(ImageNetError::BadOutput)?;
        let mut outputs = self.graph.run(tvec![input])?;
        let embedding = outputs.pop().unwrap_or_default();
        let logits = outputs.pop().unwrap_or_default();
        if logits.len() != self.labels.len() || logits.iter().any(|x| !x.is_finite()) {
            return Err(ImageNetError::BadOutput(format!(
                "expected {} finite logits, got {}",
                self.labels.len(),
                logits.len()
            )));
        }
        Ok((logits, embedding))
    }
}

/// Reads one class name per line; there must be [`NUM_CLASSES`] non-empty lines.
fn read_labels(path: &Path) -> Result<Vec<Arc<str>>, ImageNetError> {
    let bad = |reason: String| ImageNetError::BadLabels {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let labels: Vec<Arc<str>> = text.lines().map(|l| Arc::from(l.trim())).collect();
    if labels.len() != NUM_CLASSES || labels.iter().any(|l| l.is_empty()) {
        return Err(bad(format!(
            "must hold {NUM_CLASSES} non-empty lines, got {} lines",
            labels.len()
        )));
    }
    Ok(labels)
}
