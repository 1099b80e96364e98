//! Silero VAD v6 on tract: [`SileroVad`] is the loaded, planned graph, shared behind an `Arc`;
//! [`VadSession`] is one audio stream's recurrent state and audio context.
//!
//! The graph (`silero_vad_openvino_16k.onnx`) has two inputs, `input` f32 `[1, 576]` (the previous
//! 64 samples followed by 512 new ones) and `state` f32 `[2, 1, 128]`, and two outputs, `output`
//! f32 `[1, 1]` (the speech probability of the new samples) and `stateN` f32 `[2, 1, 128]` (the
//! state for the next call). Both inputs are zero at the start of a stream. The model is planned
//! once with these concrete shapes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{CHUNK_SAMPLES, CONTEXT_SAMPLES, MODEL_FILE, MODEL_NAME, STATE_SHAPE, VadError};
use crate::registry::installed_model_dir;

/// The graph's input names, in order.
const INPUT_NAMES: [&str; 2] = ["input", "state"];
/// Samples in the `input` tensor.
const WINDOW_SAMPLES: usize = CONTEXT_SAMPLES + CHUNK_SAMPLES;

/// The Silero VAD model, loaded and planned once; cheap [`VadSession`]s share it.
pub struct SileroVad {
    plan: Arc<TypedRunnableModel>,
    path: PathBuf,
}

impl std::fmt::Debug for SileroVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroVad")
            .field("path", &self.path)
            .finish()
    }
}

impl SileroVad {
    /// Loads the ONNX graph at `path`, checks its inputs and outputs, and plans it for one
    /// `[1, 576]` window and a `[2, 1, 128]` state. Does not check the file's sha256; use
    /// [`SileroVad::load_installed`] for that.
    pub fn load(path: &Path) -> Result<Arc<Self>, VadError> {
        let bad = |reason: String| VadError::BadModel {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(bad("file is missing".into()));
        }
        let tract = |e: TractError| bad(format!("{e:#}"));
        let model = tract_onnx::onnx().model_for_path(path).map_err(tract)?;
        let names: Vec<&str> = model
            .input_outlets()
            .map_err(tract)?
            .iter()
            .map(|o| model.node(o.node).name.as_str())
            .collect();
        if names != INPUT_NAMES {
            return Err(bad(format!(
                "graph inputs must be {INPUT_NAMES:?}, got {names:?}"
            )));
        }
        let model = model
            .with_input_fact(0, f32::fact([1, WINDOW_SAMPLES]).into())
            .map_err(tract)?
            .with_input_fact(1, f32::fact(STATE_SHAPE).into())
            .map_err(tract)?
            .into_optimized()
            .map_err(tract)?;
        let outputs: Vec<Vec<usize>> = (0..model.outputs.len())
            .map(|i| {
                let fact = model.output_fact(i)?;
                Ok(fact
                    .shape
                    .as_concrete()
                    .map(<[usize]>::to_vec)
                    .unwrap_or_default())
            })
            .collect::<TractResult<_>>()
            .map_err(tract)?;
        if outputs != [vec![1, 1], STATE_SHAPE.to_vec()] {
            return Err(bad(format!(
                "graph outputs must have shapes [[1, 1], {STATE_SHAPE:?}], got {outputs:?}"
            )));
        }
        let plan = model.into_runnable().map_err(tract)?;
        Ok(Arc::new(Self {
            plan,
            path: path.to_path_buf(),
        }))
    }

    /// Finds `silero-vad` in the models directory, verifies its files against the manifest and
    /// loads it.
    pub fn load_installed(models_dir: &Path) -> Result<Arc<Self>, VadError> {
        let dir = installed_model_dir(models_dir, MODEL_NAME)?;
        Self::load(&dir.join(MODEL_FILE))
    }

    /// The file the model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a session for one audio stream, with zero state and zero context.
    pub fn session(self: &Arc<Self>) -> Result<VadSession, VadError> {
        let state = self.plan.spawn().map_err(inference)?;
        Ok(VadSession {
            model: self.clone(),
            state,
            window: vec![0.0; WINDOW_SAMPLES],
            rnn_state: zero_state(),
        })
    }
}

fn zero_state() -> Tensor {
    Tensor::zero::<f32>(&STATE_SHAPE).expect("a fixed, valid shape") // cannot fail: constant shape
}

fn inference(e: TractError) -> VadError {
    VadError::Inference {
        message: format!("{e:#}"),
    }
}

/// One audio stream's VAD state: the model's recurrent state and the last
/// [`CONTEXT_SAMPLES`] samples. Feed it consecutive [`CHUNK_SAMPLES`]-sample chunks of 16 kHz
/// mono audio.
pub struct VadSession {
    model: Arc<SileroVad>,
    state: TypedSimpleState,
    /// The model input: `window[..CONTEXT_SAMPLES]` holds the previous chunk's tail between calls.
    window: Vec<f32>,
    rnn_state: Tensor,
}

impl std::fmt::Debug for VadSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VadSession")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl VadSession {
    /// Runs the model on the next chunk of exactly [`CHUNK_SAMPLES`] finite samples (16 kHz,
    /// nominally in [-1, 1]) and returns the probability that it holds speech. On error the
    /// session is unchanged.
    pub fn process_chunk(&mut self, chunk: &[f32]) -> Result<f32, VadError> {
        if chunk.len() != CHUNK_SAMPLES {
            return Err(VadError::ChunkLength {
                expected: CHUNK_SAMPLES,
                actual: chunk.len(),
            });
        }
        if let Some((index, &value)) = chunk.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            return Err(VadError::NonFiniteSample { index, value });
        }
        self.window[CONTEXT_SAMPLES..].copy_from_slice(chunk);
        let input = Tensor::from_shape(&[1, WINDOW_SAMPLES], &self.window).map_err(inference)?;
        let mut outputs = self
            .state
            .run(tvec![
                input.into_tvalue(),
                self.rnn_state.clone().into_tvalue()
            ])
            .map_err(inference)?;
        let probability = {
            let view = outputs[0].try_as_plain_ram().map_err(inference)?;
            let values = view.as_slice::<f32>().map_err(inference)?;
            match values {
                [p] if p.is_finite() => *p,
                _ => {
                    return Err(VadError::Inference {
                        message: format!("model output must be one finite value, got {values:?}"),
                    });
                }
            }
        };
        self.rnn_state = outputs.remove(1).into_tensor();
        self.window.copy_within(CHUNK_SAMPLES.., 0);
        Ok(probability)
    }

    /// Forgets the stream: zero state and zero context, as for a new session.
    pub fn reset(&mut self) {
        self.window.fill(0.0);
        self.rnn_state = zero_state();
    }

    /// The shared model.
    pub fn model(&self) -> &Arc<SileroVad> {
        &self.model
    }
}
