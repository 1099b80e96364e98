//! A loaded Whisper model behind one engine-neutral API: [`WhisperModel`] encodes a log-mel
//! window ([`AudioFeatures`]), prepares its cross-attention state once ([`CrossKv`]) and starts
//! [`DecoderSession`]s over it. The engine (native kernels or tract) is chosen at load
//! ([`EngineOptions`]); decoding and transcription never see which one runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::WhisperConfig;
use super::engine::{EngineKind, EngineOptions};
use super::error::WhisperError;
use super::native::{NativeCross, NativeSession, NativeWhisper};
use super::tokenizer::Tokenizer;
use super::tract_engine::{TractCross, TractSession, TractWhisper};

/// The encoder's output for one window: `frames` rows of `width` values, token-major.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFeatures {
    data: Vec<f32>,
    frames: usize,
    width: usize,
}

impl AudioFeatures {
    /// Wraps `data` (`frames × width`, row-major).
    pub fn new(data: Vec<f32>, frames: usize, width: usize) -> Self {
        debug_assert_eq!(data.len(), frames * width);
        Self {
            data,
            frames,
            width,
        }
    }

    /// The values, row-major `[frames][width]`.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Encoder positions (mel frames / 2).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Values per position (`n_audio_state`).
    pub fn width(&self) -> usize {
        self.width
    }
}

enum Engine {
    Native(NativeWhisper),
    Tract(TractWhisper),
}

/// A Whisper model loaded from a converted model directory.
pub struct WhisperModel {
    config: WhisperConfig,
    tokenizer: Tokenizer,
    engine: Engine,
    options: EngineOptions,
    dir: PathBuf,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel")
            .field("config", &self.config)
            .field("engine", &self.options)
            .field("dir", &self.dir)
            .finish()
    }
}

/// The cross-attention keys and values of one audio window, computed once and shared by every
/// decoding pass over that window (cheap to clone).
#[derive(Clone)]
pub struct CrossKv(CrossState);

#[derive(Clone)]
enum CrossState {
    Native(Arc<NativeCross>),
    Tract(TractCross),
}

impl WhisperModel {
    /// Loads `dir` on the tract engine (f32), as before the native engine existed.
    pub fn load(dir: &Path) -> Result<Arc<Self>, WhisperError> {
        Self::load_with(dir, EngineOptions::tract())
    }

    /// Loads `model.json`, the vocabulary and the weights the chosen engine reads from `dir`.
    pub fn load_with(dir: &Path, options: EngineOptions) -> Result<Arc<Self>, WhisperError> {
        let config = WhisperConfig::from_file(&dir.join("model.json"))?;
        let tokenizer =
            Tokenizer::from_tiktoken_file(&dir.join(&config.vocab_file), config.n_vocab)?;
        let engine = match options.engine {
            EngineKind::Native => Engine::Native(NativeWhisper::load(dir, &config, options)?),
            EngineKind::Tract => {
                if options.precision != super::Precision::F32 {
                    return Err(WhisperError::bad_model(
                        dir,
                        format!(
                            "the tract engine runs f32 only (asked for {}); use engine \"native\" for int8",
                            options.precision
                        ),
                    ));
                }
                Engine::Tract(TractWhisper::load(dir, &config)?)
            }
        };
        Ok(Arc::new(Self {
            config,
            tokenizer,
            engine,
            options,
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

    /// The engine, precision and threads the model runs with.
    pub fn engine_options(&self) -> EngineOptions {
        self.options
    }

    /// Runs the encoder on a normalised log-mel, row-major `[n_mels][frames]`, and returns the
    /// audio features (`frames/2` positions). `frames` must be even and at most 3000.
    pub fn encode(&self, mel: &[f32], frames: usize) -> Result<AudioFeatures, WhisperError> {
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
        match &self.engine {
            Engine::Native(e) => e.encode(mel, frames),
            Engine::Tract(e) => e.encode(mel, frames),
        }
    }

    /// Computes the cross-attention keys and values for encoded audio.
    pub fn cross_kv(&self, audio: &AudioFeatures) -> Result<CrossKv, WhisperError> {
        if audio.width() != self.config.n_audio_state || audio.frames() == 0 {
            return Err(WhisperError::Inference {
                graph: "cross_kv",
                message: format!(
                    "audio features must be T×{}, got {}×{}",
                    self.config.n_audio_state,
                    audio.frames(),
                    audio.width()
                ),
            });
        }
        Ok(CrossKv(match &self.engine {
            Engine::Native(e) => CrossState::Native(Arc::new(e.cross_kv(audio)?)),
            Engine::Tract(e) => CrossState::Tract(e.cross_kv(audio)?),
        }))
    }

    /// Encodes a mel window and prepares its cross-attention keys and values.
    pub fn prepare(&self, mel: &[f32], frames: usize) -> Result<CrossKv, WhisperError> {
        self.cross_kv(&self.encode(mel, frames)?)
    }

    /// Starts a decoder session over one window's cross-attention state.
    pub fn session(self: &Arc<Self>, cross: &CrossKv) -> Result<DecoderSession, WhisperError> {
        let inner = match (&self.engine, &cross.0) {
            (Engine::Native(e), CrossState::Native(c)) => {
                SessionState::Native(Box::new(e.session(c.clone())))
            }
            (Engine::Tract(e), CrossState::Tract(c)) => {
                SessionState::Tract(e.session(&self.config, c.clone())?)
            }
            _ => {
                return Err(WhisperError::Inference {
                    graph: "decoder",
                    message: "the cross-attention state comes from another engine".into(),
                });
            }
        };
        Ok(DecoderSession {
            model: self.clone(),
            inner,
            past: 0,
        })
    }
}

enum SessionState {
    Native(Box<NativeSession>),
    Tract(TractSession),
}

/// One decoding pass: the self-attention cache grows by one position per decoded token.
pub struct DecoderSession {
    model: Arc<WhisperModel>,
    inner: SessionState,
    past: usize,
}

impl DecoderSession {
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
        let config = &self.model.config;
        let limit = config.n_text_ctx;
        if self.past + tokens.len() > limit {
            return Err(WhisperError::ContextFull {
                needed: self.past + tokens.len(),
                limit,
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= config.n_vocab) {
            return Err(WhisperError::Inference {
                graph: "decoder",
                message: format!("token {bad} is outside the vocabulary ({})", config.n_vocab),
            });
        }
        let logits = match &mut self.inner {
            SessionState::Native(s) => s.step(tokens, self.past)?,
            SessionState::Tract(s) => s.step(tokens, self.past)?,
        };
        self.past += tokens.len();
        Ok(logits)
    }
}
