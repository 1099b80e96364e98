//! `perceptd transcribe`: a file or stdin to text or JSON segments.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use percept_models::registry::{ModelFamily, known_model};
use percept_models::whisper::{
    EncodeWindow, EngineOptions, Task, TranscribeOptions, Transcriber, WhisperModel,
};

use crate::audio_input::{InputFormat, read_audio_16k};
use crate::cli::{EncodeWindowArg, TaskArg, TranscribeArgs};

/// Loads a model by name from the models dir, verifying its files first.
pub fn load_model(
    models_dir: &Path,
    name: &str,
    threads: Option<usize>,
    engine: EngineOptions,
) -> Result<Arc<WhisperModel>> {
    if let Some(model) = known_model(name)
        && model.family != ModelFamily::Whisper
    {
        anyhow::bail!("model {name} is not a Whisper model; transcription needs tiny.en or base");
    }
    let threads = threads.unwrap_or_else(percept_compute::default_threads);
    percept_compute::CpuBackend::new(threads)?;
    let dir = percept_models::registry::installed_model_dir(models_dir, name)?;
    WhisperModel::load_with(&dir, engine.with_threads(threads))
        .with_context(|| format!("loading model {name} on {}", engine.label()))
}

/// Runs the command.
pub fn run(args: &TranscribeArgs) -> Result<()> {
    let format = InputFormat::from_args(
        args.format.as_deref(),
        args.rate,
        args.channels,
        args.input == "-",
    )?;
    let samples = read_audio_16k(&args.input, format)?;
    let engine = crate::cli::engine_options(args.engine, args.precision);
    let model = load_model(&args.models.resolve(), &args.model, args.threads, engine)?;
    if !model.config().multilingual
        && (args.task == TaskArg::Translate || args.language.as_deref().is_some_and(|l| l != "en"))
    {
        anyhow::bail!(
            "model {} is English-only: --task translate and --language other than en need a multilingual model (e.g. --model base)",
            args.model
        );
    }
    let options = TranscribeOptions {
        task: match args.task {
            TaskArg::Transcribe => Task::Transcribe,
            TaskArg::Translate => Task::Translate,
        },
        language: args.language.clone(),
        condition_on_previous_text: !args.no_condition_on_previous_text,
        window: match args.encode_window {
            EncodeWindowArg::Full => EncodeWindow::Full,
            EncodeWindowArg::Span => EncodeWindow::Span {
                pad_ms: args.span_pad_ms,
                min_ms: args.span_min_ms,
            },
        },
        ..TranscribeOptions::default()
    };
    let transcript = Transcriber::new(model).transcribe(&samples, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&transcript)?);
    } else {
        println!("{}", transcript.text());
    }
    Ok(())
}
