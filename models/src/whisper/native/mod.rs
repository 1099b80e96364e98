//! The native engine: Whisper on perceptd's own kernels (`percept-compute`), weights read from the
//! model directory's `native-int8.safetensors` (int8 per output row, VNNI-packed at load) or
//! `native-f16.safetensors` (widened to f32).
//!
//! At `int8`, the decoder's products run int8 (activations quantized per row on the fly) and the
//! encoder's run f32; at `f32` everything does. LayerNorm, GELU, softmax and attention run in
//! f32; the decoder's caches (self and cross) are f16.

mod decoder;
mod encoder;
mod linear;
mod parallel;
pub mod safetensors;

use std::path::Path;
use std::sync::Arc;

use percept_compute::cpu::Isa;

use super::config::WhisperConfig;
use super::engine::{EngineOptions, Precision};
use super::error::WhisperError;
use super::model::AudioFeatures;
pub(crate) use decoder::NativeCross;
use decoder::{Decoder, DecoderState};
use encoder::Encoder;
use linear::Ctx;
use safetensors::SafeTensors;

/// The weights file the native engine reads for `precision`.
pub fn weights_file(precision: Precision) -> &'static str {
    match precision {
        Precision::Int8 => "native-int8.safetensors",
        Precision::F32 => "native-f16.safetensors",
    }
}

/// A Whisper model on the native kernels.
pub(crate) struct NativeWhisper {
    encoder: Encoder,
    decoder: Arc<Decoder>,
    ctx: Ctx,
}

impl NativeWhisper {
    pub fn load(
        dir: &Path,
        config: &WhisperConfig,
        options: EngineOptions,
    ) -> Result<Self, WhisperError> {
        let path = dir.join(weights_file(options.precision));
        if !path.is_file() {
            return Err(WhisperError::bad_model(
                &path,
                "missing: this model directory predates the native engine; run \
                 `perceptd models fetch` (or choose engine \"tract\")",
            ));
        }
        let st = SafeTensors::read(&path)?;
        if st.metadata("model") != Some(config.name.as_str()) {
            return Err(WhisperError::bad_model(
                &path,
                format!(
                    "holds model {:?}, but model.json says {:?}",
                    st.metadata("model"),
                    config.name
                ),
            ));
        }
        // The encoder runs f32 at both precisions (the int8 file holds its weights in f16): with
        // int8 products whisper-base's encoder lost a test sentence's meaning (BENCHMARKS.md).
        let encoder = Encoder::load(&st, config, Precision::F32)?;
        let decoder = Arc::new(Decoder::load(
            &st,
            config,
            options.precision,
            options.threads.max(1),
        )?);
        Ok(Self {
            encoder,
            decoder,
            ctx: Ctx {
                isa: Isa::best(),
                threads: options.threads.max(1),
            },
        })
    }

    pub fn encode(&self, mel: &[f32], frames: usize) -> Result<AudioFeatures, WhisperError> {
        let data = self.encoder.forward(self.ctx, mel, frames)?;
        let t = frames / 2;
        let width = data.len() / t.max(1);
        Ok(AudioFeatures::new(data, t, width))
    }

    pub fn cross_kv(&self, audio: &AudioFeatures) -> Result<NativeCross, WhisperError> {
        self.decoder
            .cross_kv(self.ctx, audio.as_slice(), audio.frames())
    }

    pub fn session(&self, cross: Arc<NativeCross>) -> NativeSession {
        NativeSession {
            state: DecoderState::new(&self.decoder),
            decoder: self.decoder.clone(),
            cross,
            ctx: self.ctx,
        }
    }
}

/// One decoding pass on the native engine.
pub(crate) struct NativeSession {
    decoder: Arc<Decoder>,
    cross: Arc<NativeCross>,
    state: DecoderState,
    ctx: Ctx,
}

impl NativeSession {
    pub fn step(&mut self, tokens: &[u32], past: usize) -> Result<Vec<f32>, WhisperError> {
        // Decoder steps are a few rows: one thread (the pool's start-up would cost more).
        let ctx = Ctx {
            threads: 1,
            ..self.ctx
        };
        self.decoder
            .step(ctx, &self.cross, &mut self.state, tokens, past)
    }
}
