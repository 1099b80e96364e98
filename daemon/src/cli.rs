//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use percept_models::whisper::{EngineKind, EngineOptions, Precision};

/// perceptd: always-on speech and vision perception for edge boxes.
#[derive(Debug, Parser)]
#[command(name = "perceptd", version, about)]
pub struct Cli {
    /// Log progress (info level); `RUST_LOG` overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// perceptd's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcribe a WAV file, or raw PCM from stdin, to text.
    Transcribe(TranscribeArgs),
    /// Fetch, verify or list models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Measure the speech pipeline: log-mel, encoder, decoder per token, end-to-end RTF.
    Bench(BenchArgs),
    /// Run the daemon: listen, transcribe, publish over MQTT. Without --config: the demo.
    Run(RunArgs),
    /// Check config files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Record the microphone through the daemon's capture path into a 16 kHz mono WAV.
    Capture(CaptureArgs),
    /// Label images with an image model (the daemon's camera path, one shot).
    Classify(ClassifyArgs),
    /// Print the embedding of an image, or of a text with a CLIP model.
    Embed(EmbedArgs),
    /// Measure the camera path's cost per frame: decoding, preprocessing, the model.
    BenchVision(BenchVisionArgs),
    /// Look into the durable outbox (messages waiting for the broker).
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

/// `perceptd outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Print what is waiting: count, bytes, the oldest message's age, topics. Reads only; safe
    /// while the daemon runs.
    Inspect {
        /// The state directory [default: the config's `state_dir`, else $STATE_DIRECTORY, else
        /// $XDG_STATE_HOME/perceptd, else ~/.local/state/perceptd].
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// A config file whose `state_dir` to use.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// `perceptd run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file (TOML); without it, the demo runs (configs/demo.toml, built in).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub models: ModelsDirArg,
}

/// `perceptd config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a config file; print every problem with its key path.
    Check {
        /// The config file.
        file: PathBuf,
    },
}

/// Where models live.
#[derive(Debug, Clone, Args)]
pub struct ModelsDirArg {
    /// Models directory [default: $PERCEPTD_MODELS, else $XDG_CACHE_HOME/perceptd/models].
    #[arg(long, global = true)]
    pub models_dir: Option<PathBuf>,
}

impl ModelsDirArg {
    /// The directory in force.
    pub fn resolve(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(percept_models::registry::default_models_dir)
    }
}

/// `perceptd transcribe`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// A WAV file, or `-` for raw PCM on stdin (needs --format, --rate, --channels).
    pub input: String,
    /// The model: tiny.en or base.
    #[arg(long, default_value = "tiny.en")]
    pub model: String,
    /// Print JSON segments instead of text.
    #[arg(long)]
    pub json: bool,
    /// Spoken language (multilingual models), e.g. `de`; detected when omitted.
    #[arg(long)]
    pub language: Option<String>,
    /// transcribe, or translate to English (multilingual models).
    #[arg(long, value_enum, default_value_t = TaskArg::Transcribe)]
    pub task: TaskArg,
    /// Raw PCM sample format (for stdin or headerless files).
    #[arg(long)]
    pub format: Option<String>,
    /// Raw PCM sample rate in Hz.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Raw PCM channel count.
    #[arg(long)]
    pub channels: Option<u16>,
    /// Matmul threads [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// What runs Whisper: native (perceptd's kernels) or tract (the ONNX graphs, f32 only).
    #[arg(long, default_value = "native")]
    pub engine: EngineKind,
    /// Weights of the native engine: int8 or f32 [default: int8 on native, f32 on tract].
    #[arg(long)]
    pub precision: Option<Precision>,
    /// Do not prompt each 30 s window with the previous text (less prone to repetition loops).
    #[arg(long)]
    pub no_condition_on_previous_text: bool,
    /// full: encode zero-padded 30 s windows (the reference); span: encode only the audio plus
    /// --span-pad-ms of padding (faster on short clips).
    #[arg(long, value_enum, default_value_t = EncodeWindowArg::Full)]
    pub encode_window: EncodeWindowArg,
    /// Zero padding after the audio with --encode-window span, milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub span_pad_ms: u32,
    /// With --encode-window span, pad shorter audio with silence up to this, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub span_min_ms: u32,
    /// Cut the audio at speech first (Silero VAD and the daemon's endpointer) and transcribe the
    /// speech in pieces of up to 29 s, on the file's time line: on, off (the reference's
    /// 30 s windows over everything), or auto (on for audio of 20 s or more).
    #[arg(long, value_enum, default_value_t = VadArg::Auto)]
    pub vad: VadArg,
    /// Keep the segments the repetition guard leaves out (a sentence written again within
    /// 30 s, or a pass that still loops after the temperature fallback).
    #[arg(long)]
    pub keep_repeats: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub models: ModelsDirArg,
}

/// Whether `transcribe` cuts the audio at speech first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VadArg {
    /// On for audio of 20 s or more.
    Auto,
    /// Always.
    On,
    /// Never: 30 s windows over the whole file, as the reference.
    Off,
}

/// How much audio the encoder sees per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodeWindowArg {
    /// A zero-padded 30 s window, as the reference.
    Full,
    /// Only the audio plus a little padding.
    Span,
}

/// Whisper's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Speech to text in the spoken language.
    Transcribe,
    /// Speech to English text.
    Translate,
}

/// `perceptd models …`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download, convert and install models (tiny.en by default). A second fetch is a no-op.
    Fetch {
        /// Also fetch this model (e.g. `base`); repeatable.
        #[arg(long = "with")]
        with: Vec<String>,
        #[command(flatten)]
        #[allow(missing_docs)]
        models: ModelsDirArg,
    },
    /// Re-hash every installed file against its manifest.
    Verify {
        #[command(flatten)]
        #[allow(missing_docs)]
        models: ModelsDirArg,
    },
    /// Show installed models.
    List {
        #[command(flatten)]
        #[allow(missing_docs)]
        models: ModelsDirArg,
    },
}

/// `perceptd bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The model to measure.
    #[arg(long, default_value = "tiny.en")]
    pub model: String,
    /// The clip for the end-to-end measurement (WAV).
    #[arg(long)]
    pub clip: PathBuf,
    /// Matmul threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// What runs Whisper: native (perceptd's kernels) or tract (the ONNX graphs, f32 only).
    #[arg(long, default_value = "native")]
    pub engine: EngineKind,
    /// Weights of the native engine: int8 or f32 [default: int8 on native, f32 on tract].
    #[arg(long)]
    pub precision: Option<Precision>,
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub models: ModelsDirArg,
}

/// `perceptd capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Input device, as `--list` prints it (`alsa:default`, `alsa:pulse`; the `alsa:` prefix may
    /// be left out) [default: the host's default input].
    #[arg(long)]
    pub device: Option<String>,
    /// List input devices and exit.
    #[arg(long)]
    pub list: bool,
    /// Seconds of audio to record.
    #[arg(long, required_unless_present = "list")]
    pub seconds: Option<f64>,
    /// The WAV file to write (16 kHz mono, 16-bit).
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
}

/// Which image model a one-shot command uses.
#[derive(Debug, Clone, Args)]
pub struct VisionModelArgs {
    /// `efficientnet-lite0`, or a CLIP export: a directory holding `vision_model.onnx` and
    /// `text_model.onnx` (or `model.onnx`), or one combined `.onnx` file.
    #[arg(long, default_value = "efficientnet-lite0")]
    pub model: String,
    /// Use the `[vision]` section of this config file instead of `--model` (exactly what the
    /// daemon would load).
    #[arg(long, conflicts_with = "model")]
    pub config: Option<PathBuf>,
    /// CLIP BPE vocabulary; default: `clip-assets/bpe_simple_vocab_16e6.txt.gz` in the models dir.
    #[arg(long)]
    pub vocab: Option<PathBuf>,
    /// CLIP zero-shot: the factor on cosine similarities before the softmax.
    #[arg(long, default_value_t = percept_models::clip::DEFAULT_LOGIT_SCALE)]
    pub logit_scale: f32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub models: ModelsDirArg,
}

/// `perceptd classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// JPEG or PNG files.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Zero-shot labels for a CLIP model, comma separated (`--labels "cat,dog,empty room"`).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// How many labels to print per image.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub vision: VisionModelArgs,
}

/// `perceptd embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A JPEG or PNG file.
    #[arg(required_unless_present = "text", conflicts_with = "text")]
    pub image: Option<PathBuf>,
    /// Embed this text instead (CLIP models only).
    #[arg(long)]
    pub text: Option<String>,
    /// Print the model's raw output instead of the unit-length vector the daemon publishes.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub vision: VisionModelArgs,
}

/// `perceptd bench-vision`.
#[derive(Debug, Args)]
pub struct BenchVisionArgs {
    /// The image to decode and analyse (JPEG or PNG).
    #[arg(long)]
    pub image: PathBuf,
    /// Matmul threads for the pooled run (the daemon's vision thread always uses one).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed runs per figure (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    pub repeat: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub vision: VisionModelArgs,
}

/// The engine options named by `--engine` and `--precision`.
pub fn engine_options(engine: EngineKind, precision: Option<Precision>) -> EngineOptions {
    let precision = precision.unwrap_or(match engine {
        EngineKind::Native => Precision::Int8,
        EngineKind::Tract => Precision::F32,
    });
    EngineOptions {
        engine,
        precision,
        threads: 1,
    }
}
