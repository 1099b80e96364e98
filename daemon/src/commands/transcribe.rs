//! `perceptd transcribe`: a file or stdin to text or JSON segments.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use percept_dsp::rate::{ms_to_samples, samples_to_secs};
use percept_models::registry::{ModelFamily, known_model};
use percept_models::vad::{Endpointer, SileroVad};
use percept_models::whisper::vad_cut::{
    file_endpoint_config, pieces, speech_ranges, transcribe_pieces,
};
use percept_models::whisper::{
    EncodeWindow, EngineOptions, RepeatGuard, Task, TranscribeOptions, Transcriber, Transcript,
    WhisperModel,
};

use crate::audio_input::{InputFormat, read_audio_16k};
use crate::cli::{EncodeWindowArg, TaskArg, TranscribeArgs, VadArg};

/// `--vad auto` cuts audio at least this long (a 30 s file already needs a second pass for
/// its tail, where the repeats come from).
const VAD_AUTO_MIN_SAMPLES: usize = ms_to_samples(20_000) as usize;
/// The longest piece of speech transcribed at once: under one 30 s window, so that no window
/// leaves a tail to decode again.
const PIECE_MS: u32 = 29_000;

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
    let models_dir = args.models.resolve();
    let use_vad = match args.vad {
        VadArg::On => true,
        VadArg::Off => false,
        VadArg::Auto => samples.len() >= VAD_AUTO_MIN_SAMPLES,
    };
    let transcriber = Transcriber::new(model);
    let vad = if use_vad {
        match SileroVad::load_installed(&models_dir) {
            Ok(vad) => Some(vad),
            Err(e) if args.vad == VadArg::Auto => {
                tracing::warn!(error = %e, "no Silero VAD: transcribing without cutting at speech (as --vad off); `perceptd models fetch` installs it");
                None
            }
            Err(e) => {
                return Err(e).context("--vad on needs the Silero VAD (`perceptd models fetch`)");
            }
        }
    } else {
        None
    };
    let mut transcript = match vad {
        Some(vad) => transcribe_speech(&transcriber, &vad, &samples, &options)?,
        None => transcriber.transcribe(&samples, &options)?,
    };
    if !args.keep_repeats {
        transcript.guard_repeats(&RepeatGuard::default());
        if !transcript.suppressed.is_empty() {
            tracing::info!(
                segments = transcript.suppressed.len(),
                "repetition guard: segments left out (see \"suppressed\" in --json)"
            );
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&transcript)?);
    } else {
        println!("{}", transcript.text());
    }
    Ok(())
}

/// Cuts `samples` at speech (the daemon's VAD and endpointer) and transcribes the pieces.
pub fn transcribe_speech(
    transcriber: &Transcriber,
    vad: &std::sync::Arc<SileroVad>,
    samples: &[f32],
    options: &TranscribeOptions,
) -> Result<Transcript> {
    let mut endpointer = Endpointer::new(file_endpoint_config(PIECE_MS))?;
    let ranges = speech_ranges(&mut vad.session()?, &mut endpointer, samples)?;
    let pieces = pieces(
        samples,
        &ranges,
        ms_to_samples(u64::from(PIECE_MS)) as usize,
    );
    tracing::debug!(
        ranges = ranges.len(),
        pieces = pieces.len(),
        "cut at speech"
    );
    let secs = samples_to_secs(samples.len() as u64) as f32;
    Ok(transcribe_pieces(transcriber, &pieces, secs, options)?)
}
