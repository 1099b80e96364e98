//! A converted Whisper model on tract: `encoder.onnx`, `cross_kv.onnx` and the KV-cached
//! `decoder.onnx`, loaded once and shared behind an `Arc`; [`DecoderSession`] holds one
//! utterance's caches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::config::WhisperConfig;
use super::tokenizer::Tokenizer;

/// Errors from loading or running a Whisper model.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    /// A model file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A model file is present but unusable.
    #[error("{path}: {reason}")]
    BadModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The mel input does not fit the model.
    #[error("mel input must have {expected} bins and 1..={max_frames} frames, got {bins}×{frames}")]
    BadInput {
        /// Mel bins the model expects.
        expected: usize,
        /// Largest frame count.
        max_frames: usize,
        /// Bins given.
        bins: usize,
        /// Frames given.
        frames: usize,
    },
    /// The decoder ran out of positions.
    #[error("decoder context is full: {needed} positions needed, the model has {limit}")]
    ContextFull {
        /// Positions the call needed.
        needed: usize,
        /// The model's `n_text_ctx`.
        limit: usize,
    },
    /// tract failed while running a graph.
    #[error("inference failed in {graph}: {message}")]
    Inference {
        /// Which graph.
        graph: &'static str,
        /// tract's error chain.
        message: String,
    },
}

impl WhisperError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn inference(graph: &'static str) -> impl Fn(TractError) -> Self + Copy {
        move |e| Self::Inference {
            graph,
            message: format!("{e:#}"),
        }
    }
}

type Plan = Arc<TypedRunnableModel>;

/// One loaded graph and the positions of its named inputs.
struct Graph {
    plan: Plan,
    name: &'static str,
}

impl Graph {
    fn load(dir: &Path, file: &'static str, inputs: &[String]) -> Result<Self, WhisperError> {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(WhisperError::BadModel {
                path,
                reason: "file is missing".into(),
            });
        }
        let bad = |e: TractError| WhisperError::BadModel {
            path: path.clone(),
            reason: format!("{e:#}"),
        };
        let model = tract_onnx::onnx().model_for_path(&path).map_err(bad)?;
        let names: Vec<String> = model
            .input_outlets()
            .map_err(bad)?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        if names != inputs {
            return Err(WhisperError::BadModel {
                path,
                reason: format!("graph inputs must be {inputs:?}, got {names:?}"),
            });
        }
        let plan = model
            .into_optimized()
            .map_err(bad)?
            .into_runnable()
            .map_err(bad)?;
        Ok(Self { plan, name: file })
    }

    fn run(&self, inputs: TVec<TValue>) -> Result<TVec<TValue>, WhisperError> {
        self.plan
            .run(inputs)
            .map_err(WhisperError::inference(self.name))
    }
}

/// A Whisper model loaded from a converted model directory.
pub struct WhisperModel {
    config: WhisperConfig,
    tokenizer: Tokenizer,
    encoder: Graph,
    cross_kv: Graph,
    decoder: Graph,
    dir: PathBuf,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel")
            .field("config", &self.config)
            .field("dir", &self.dir)
            .finish()
    }
}

/// The cross-attention keys and values of one audio window, computed once and shared by every
/// decoding pass over that window: per decoder layer, keys `[H, d_head, T]` and values
/// `[H, T, d_head]`, in `cross_kv.onnx`'s output order (k0, v0, k1, v1, …).
#[derive(Clone)]
pub struct CrossKv {
    per_layer: TVec<TValue>,
}

/// The decoder's inputs in order: tokens, positions, the self-attention cache, the mask, then the
/// cross-attention keys and values of each layer.
fn decoder_inputs(n_layer: usize) -> Vec<String> {
    let fixed = ["tokens", "positions", "self_k", "self_v", "mask"].map(String::from);
    let cross = (0..n_layer).flat_map(|i| [format!("cross_k_{i}"), format!("cross_v_{i}")]);
    fixed.into_iter().chain(cross).collect()
}

impl WhisperModel {
    /// Loads `model.json`, the vocabulary and the three graphs from `dir`.
    pub fn load(dir: &Path) -> Result<Arc<Self>, WhisperError> {
        let config = WhisperConfig::from_file(&dir.join("model.json"))?;
        let tokenizer =
            Tokenizer::from_tiktoken_file(&dir.join(&config.vocab_file), config.n_vocab)?;
        let encoder = Graph::load(dir, "encoder.onnx", &["mel".into()])?;
        let cross_kv = Graph::load(dir, "cross_kv.onnx", &["audio_features".into()])?;
        let decoder = Graph::load(dir, "decoder.onnx", &decoder_inputs(config.n_text_layer))?;
        Ok(Arc::new(Self {
            config,
            tokenizer,
            encoder,
            cross_kv,
            decoder,
            dir: dir.to_path_buf(),
        }))
    }

    /// The model's dimensions.
    pub fn config(&self) -> &WhisperConfig {
        &self.config
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs the encoder on a normalised log-mel, row-major `[n_mels][frames]`, and returns the
    /// audio features `[1, frames/2, d]`. `frames` must be even and at most 3000.
    pub fn encode(&self, mel: &[f32], frames: usize) -> Result<TValue, WhisperError> {
        let max_frames = self.config.n_audio_ctx * super::INPUT_STRIDE;
        let bins = mel.len().checked_div(frames).unwrap_or(0);
        if frames == 0
            || frames > max_frames
            || !frames.is_multiple_of(2)
            || bins * frames != mel.len()
            || bins != self.config.n_mels
        {
            return Err(WhisperError::BadInput {
                expected: self.config.n_mels,
                max_frames,
                bins,
                frames,
            });
        }
        let input = Tensor::from_shape(&[1, self.config.n_mels, frames], mel)
            .map_err(WhisperError::inference("encoder.onnx"))?;
        let mut out = self.encoder.run(tvec!(input.into_tvalue()))?;
        Ok(out.remove(0))
    }

    /// Computes the cross-attention keys and values for encoded audio.
    pub fn cross_kv(&self, audio_features: TValue) -> Result<CrossKv, WhisperError> {
        let per_layer = self.cross_kv.run(tvec!(audio_features))?;
        Ok(CrossKv { per_layer })
    }

    /// Encodes a mel window and prepares its cross-attention keys and values.
    pub fn prepare(&self, mel: &[f32], frames: usize) -> Result<CrossKv, WhisperError> {
        self.cross_kv(self.encode(mel, frames)?)
    }

    /// Starts a decoder session over one window's cross-attention state.
    pub fn session(self: &Arc<Self>, cross: &CrossKv) -> Result<DecoderSession, WhisperError> {
        DecoderSession::new(self.clone(), cross.clone())
    }
}

/// One decoding pass: the self-attention cache grows by one position per decoded token.
pub struct DecoderSession {
    model: Arc<WhisperModel>,
    cross: CrossKv,
    self_k: TValue,
    self_v: TValue,
    past: usize,
}

impl DecoderSession {
    fn new(model: Arc<WhisperModel>, cross: CrossKv) -> Result<Self, WhisperError> {
        let c = &model.config;
        let empty = || {
            Tensor::zero::<f32>(&[c.n_text_layer, 1, 0, c.n_text_state])
                .map(IntoTValue::into_tvalue)
                .map_err(WhisperError::inference("decoder.onnx"))
        };
        let (self_k, self_v) = (empty()?, empty()?);
        Ok(Self {
            model,
            cross,
            self_k,
            self_v,
            past: 0,
        })
    }

    /// Positions already in the cache.
    pub fn len(&self) -> usize {
        self.past
    }

    /// Whether nothing has been decoded yet.
    pub fn is_empty(&self) -> bool {
        self.past == 0
    }

    /// Feeds `tokens` (one or more) and returns the logits of every fed position, row-major
    /// `[tokens.len()][n_vocab]`.
    pub fn step(&mut self, tokens: &[u32]) -> Result<Vec<f32>, WhisperError> {
        let n = tokens.len();
        let limit = self.model.config.n_text_ctx;
        if self.past + n > limit {
            return Err(WhisperError::ContextFull {
                needed: self.past + n,
                limit,
            });
        }
        let fail = WhisperError::inference("decoder.onnx");
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let positions: Vec<i64> = (self.past..self.past + n).map(|p| p as i64).collect();
        let total = self.past + n;
        let past = self.past;
        let mask: Vec<f32> = (0..n)
            .flat_map(|row| (0..total).map(move |col| if col <= past + row { 0.0 } else { -1e9 }))
            .collect();
        let mut inputs = tvec!(
            Tensor::from_shape(&[1, n], &ids)
                .map_err(fail)?
                .into_tvalue(),
            Tensor::from_shape(&[n], &positions)
                .map_err(fail)?
                .into_tvalue(),
            self.self_k.clone(),
            self.self_v.clone(),
            Tensor::from_shape(&[n, total], &mask)
                .map_err(fail)?
                .into_tvalue(),
        );
        inputs.extend(self.cross.per_layer.iter().cloned());
        let mut out = self.model.decoder.run(inputs)?;
        self.self_v = out.remove(2);
        self.self_k = out.remove(1);
        self.past = total;
        let logits = out.remove(0);
        let view = logits.try_as_plain_ram().map_err(fail)?;
        Ok(view.as_slice::<f32>().map_err(fail)?.to_vec())
    }
}
