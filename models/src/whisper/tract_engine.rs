//! The tract engine: the converted ONNX graphs `encoder.onnx`, `cross_kv.onnx` and the KV-cached
//! `decoder.onnx`, run in f32. The tests use it as the native engine's numeric oracle.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::config::WhisperConfig;
use super::error::WhisperError;
use super::model::AudioFeatures;

fn inference(graph: &'static str) -> impl Fn(TractError) -> WhisperError + Copy {
    move |e| WhisperError::Inference {
        graph,
        message: format!("{e:#}"),
    }
}

/// One loaded graph.
struct Graph {
    plan: Arc<TypedRunnableModel>,
    name: &'static str,
}

impl Graph {
    fn load(dir: &Path, file: &'static str, inputs: &[String]) -> Result<Self, WhisperError> {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(WhisperError::bad_model(&path, "file is missing"));
        }
        let bad = |e: TractError| WhisperError::bad_model(&path, format!("{e:#}"));
        let model = tract_onnx::onnx().model_for_path(&path).map_err(bad)?;
        let names: Vec<String> = model
            .input_outlets()
            .map_err(bad)?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        if names != inputs {
            return Err(WhisperError::bad_model(
                &path,
                format!("graph inputs must be {inputs:?}, got {names:?}"),
            ));
        }
        let plan = model
            .into_optimized()
            .map_err(bad)?
            .into_runnable()
            .map_err(bad)?;
        Ok(Self { plan, name: file })
    }

    fn run(&self, inputs: TVec<TValue>) -> Result<TVec<TValue>, WhisperError> {
        self.plan.run(inputs).map_err(inference(self.name))
    }
}

/// The three graphs of one model.
pub(crate) struct TractWhisper {
    encoder: Graph,
    cross_kv: Graph,
    decoder: Arc<Graph>,
    n_mels: usize,
}

/// Per decoder layer, keys `[H, d_head, T]` and values `[H, T, d_head]`, in `cross_kv.onnx`'s
/// output order (k0, v0, k1, v1, …).
#[derive(Clone)]
pub(crate) struct TractCross {
    per_layer: TVec<TValue>,
}

/// The decoder inputs in order: tokens, positions, the self-attention cache, the mask, then the
/// cross-attention keys and values of each layer.
fn decoder_inputs(n_layer: usize) -> Vec<String> {
    let fixed = ["tokens", "positions", "self_k", "self_v", "mask"].map(String::from);
    let cross = (0..n_layer).flat_map(|i| [format!("cross_k_{i}"), format!("cross_v_{i}")]);
    fixed.into_iter().chain(cross).collect()
}

fn to_vec(value: &TValue, graph: &'static str) -> Result<Vec<f32>, WhisperError> {
    let fail = inference(graph);
    let view = value.try_as_plain_ram().map_err(fail)?;
    Ok(view.as_slice::<f32>().map_err(fail)?.to_vec())
}

impl TractWhisper {
    pub(crate) fn load(dir: &Path, config: &WhisperConfig) -> Result<Self, WhisperError> {
        Ok(Self {
            encoder: Graph::load(dir, "encoder.onnx", &["mel".into()])?,
            cross_kv: Graph::load(dir, "cross_kv.onnx", &["audio_features".into()])?,
            decoder: Arc::new(Graph::load(
                dir,
                "decoder.onnx",
                &decoder_inputs(config.n_text_layer),
            )?),
            n_mels: config.n_mels,
        })
    }

    pub(crate) fn encode(&self, mel: &[f32], frames: usize) -> Result<AudioFeatures, WhisperError> {
        let input = Tensor::from_shape(&[1, self.n_mels, frames], mel)
            .map_err(inference("encoder.onnx"))?;
        let out = self.encoder.run(tvec!(input.into_tvalue()))?;
        let data = to_vec(&out[0], "encoder.onnx")?;
        let width = data.len() / (frames / 2).max(1);
        Ok(AudioFeatures::new(data, frames / 2, width))
    }

    pub(crate) fn cross_kv(&self, audio: &AudioFeatures) -> Result<TractCross, WhisperError> {
        let input = Tensor::from_shape(&[1, audio.frames(), audio.width()], audio.as_slice())
            .map_err(inference("cross_kv.onnx"))?;
        let per_layer = self.cross_kv.run(tvec!(input.into_tvalue()))?;
        Ok(TractCross { per_layer })
    }

    pub(crate) fn session(
        &self,
        config: &WhisperConfig,
        cross: TractCross,
    ) -> Result<TractSession, WhisperError> {
        let empty = || {
            Tensor::zero::<f32>(&[config.n_text_layer, 1, 0, config.n_text_state])
                .map(IntoTValue::into_tvalue)
                .map_err(inference("decoder.onnx"))
        };
        Ok(TractSession {
            decoder: self.decoder.clone(),
            cross,
            self_k: empty()?,
            self_v: empty()?,
        })
    }
}

/// One decoding pass on tract: the self-attention caches are graph inputs and outputs.
pub(crate) struct TractSession {
    decoder: Arc<Graph>,
    cross: TractCross,
    self_k: TValue,
    self_v: TValue,
}

impl TractSession {
    pub(crate) fn step(&mut self, tokens: &[u32], past: usize) -> Result<Vec<f32>, WhisperError> {
        let n = tokens.len();
        let fail = inference("decoder.onnx");
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let positions: Vec<i64> = (past..past + n).map(|p| p as i64).collect();
        let total = past + n;
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
        let mut out = self.decoder.run(inputs)?;
        self.self_v = out.remove(2);
        self.self_k = out.remove(1);
        to_vec(&out[0], "decoder.onnx")
    }
}
