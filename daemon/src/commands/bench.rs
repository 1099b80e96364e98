//! `perceptd bench`: the speech pipeline's cost, stage by stage, on this machine.
//!
//! - `mel_whisper_30s`: log-mel of 30 s of audio, reported per second of audio.
//! - `encoder_30s`: the encoder plus cross-attention K/V on a full 3000-frame window.
//! - `decoder_token_at_10` / `_at_100`: one KV-cached decoder step with 10 / 100 positions
//!   already in the cache (flat when the cache works).
//! - `transcribe_e2e`: `transcribe` on a clip (mel, encoder, decoding, fallbacks), as RTF, the
//!   reference's way (`--vad off`) and cut at speech first (`--vad on`, the VAD pass included).
//! - `vad_silero_chunk_512`: one Silero VAD call (512 samples = 32 ms) over the clip's chunks.
//!
//! Each figure is the median of `--repeat` runs after one warm-up run.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use percept_dsp::whisper_mel::{N_FRAMES, N_SAMPLES, log_mel_spectrogram};
use percept_models::vad::{CHUNK_SAMPLES, SileroVad};
use percept_models::whisper::{TranscribeOptions, Transcriber, WhisperModel};
use serde::Serialize;

use super::transcribe::{load_model, transcribe_speech};
use crate::audio_input::{InputFormat, read_audio_16k};
use crate::cli::BenchArgs;

/// The measured figures, in milliseconds unless named otherwise.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Model measured.
    pub model: String,
    /// Matmul threads.
    pub threads: usize,
    /// Engine and precision, e.g. `native int8`.
    pub engine: String,
    /// Model load (graphs optimised, sha256 verified), ms.
    pub load_ms: f64,
    /// Log-mel cost per second of audio, ms.
    pub mel_ms_per_audio_sec: f64,
    /// Encoder + cross K/V on a 30 s window, ms.
    pub encoder_30s_ms: f64,
    /// One decoder step with 10 cached positions, ms.
    pub decoder_token_at_10_ms: f64,
    /// One decoder step with 100 cached positions, ms.
    pub decoder_token_at_100_ms: f64,
    /// Clip length, s.
    pub clip_secs: f64,
    /// End-to-end transcription of the clip, ms.
    pub transcribe_ms: f64,
    /// transcribe time / clip length.
    pub rtf: f64,
    /// The transcript, to check the run did real work.
    pub text: String,
    /// End-to-end transcription cut at speech first (`transcribe --vad on`), ms.
    pub transcribe_vad_ms: f64,
    /// Its transcript.
    pub text_vad: String,
    /// One Silero VAD chunk (512 samples, 32 ms of audio), µs.
    pub vad_chunk_us: f64,
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

/// Runs `f` once to warm up, then `repeat` times; returns the median in ms.
pub(super) fn time<T>(repeat: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    f()?;
    let mut samples = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

/// Median time of one decoder step after `past` positions, over `repeat` steps.
fn decoder_step_ms(
    model: &std::sync::Arc<WhisperModel>,
    cross: &percept_models::whisper::CrossKv,
    past: usize,
    repeat: usize,
) -> Result<f64> {
    let token = model.tokenizer().encode(" the")[0];
    let mut session = model.session(cross)?;
    session.step(&vec![token; past])?;
    let mut samples = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        session.step(&[token])?;
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

/// Median cost of one Silero VAD call in µs: every run feeds the clip's whole chunks to a fresh
/// session, and the run's time is divided by its chunk count.
fn vad_chunk_us(vad: &std::sync::Arc<SileroVad>, clip: &[f32], repeat: usize) -> Result<f64> {
    let chunks = clip.len() / CHUNK_SAMPLES;
    anyhow::ensure!(chunks > 0, "the clip is shorter than one VAD chunk");
    let ms = time(repeat, || {
        let mut session = vad.session()?;
        for chunk in clip.chunks_exact(CHUNK_SAMPLES) {
            session.process_chunk(chunk)?;
        }
        Ok(())
    })?;
    Ok(ms * 1e3 / chunks as f64)
}

/// Runs the command.
pub fn run(args: &BenchArgs) -> Result<()> {
    let clip_path = args.clip.to_string_lossy().into_owned();
    let clip = read_audio_16k(&clip_path, InputFormat::Wav)?;
    let start = Instant::now();
    let engine = crate::cli::engine_options(args.engine, args.precision);
    let model = load_model(
        &args.models.resolve(),
        &args.model,
        Some(args.threads),
        engine,
    )?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let n_mels = model.config().n_mels;

    let audio_30s: Vec<f32> = (0..N_SAMPLES).map(|i| clip[i % clip.len()]).collect();
    let mel_ms = time(args.repeat, || {
        Ok(log_mel_spectrogram(&audio_30s, n_mels, 0)?)
    })?;
    let mel = log_mel_spectrogram(&audio_30s, n_mels, 0)?;
    let window: Vec<f32> = (0..n_mels)
        .flat_map(|b| mel.data[b * mel.n_frames..b * mel.n_frames + N_FRAMES].to_vec())
        .collect();
    let encoder_ms = time(args.repeat, || Ok(model.prepare(&window, N_FRAMES)?))?;
    let cross = model.prepare(&window, N_FRAMES)?;
    let steps = args.repeat.max(5) * 2;
    let at_10 = decoder_step_ms(&model, &cross, 10, steps)?;
    let at_100 = decoder_step_ms(&model, &cross, 100, steps)?;

    let transcriber = Transcriber::new(model);
    let options = TranscribeOptions::default();
    let mut text = String::new();
    let transcribe_ms = time(args.repeat, || {
        text = transcriber
            .transcribe(&clip, &options)
            .context("transcribing the clip")?
            .text();
        Ok(())
    })?;
    let vad = SileroVad::load_installed(&args.models.resolve())?;
    let mut text_vad = String::new();
    let transcribe_vad_ms = time(args.repeat, || {
        text_vad = transcribe_speech(&transcriber, &vad, &clip, &options)?.text();
        Ok(())
    })?;
    let clip_secs = percept_dsp::rate::samples_to_secs(clip.len() as u64);
    let vad_chunk_us = vad_chunk_us(&vad, &clip, args.repeat)?;
    let report = BenchReport {
        model: args.model.clone(),
        threads: args.threads,
        engine: engine.label(),
        load_ms,
        mel_ms_per_audio_sec: mel_ms / 30.0,
        encoder_30s_ms: encoder_ms,
        decoder_token_at_10_ms: at_10,
        decoder_token_at_100_ms: at_100,
        clip_secs,
        transcribe_ms,
        rtf: transcribe_ms / 1e3 / clip_secs,
        text,
        transcribe_vad_ms,
        text_vad,
        vad_chunk_us,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &BenchReport) {
    println!(
        "perceptd bench: model {} on {}, {} thread(s)",
        r.model, r.engine, r.threads
    );
    println!("| benchmark | value |");
    println!("|---|---|");
    println!("| model load (verify + prepare) | {:.0} ms |", r.load_ms);
    println!(
        "| mel_whisper_30s | {:.3} ms per audio second |",
        r.mel_ms_per_audio_sec
    );
    println!(
        "| encoder_30s (encoder + cross K/V) | {:.1} ms |",
        r.encoder_30s_ms
    );
    println!(
        "| decoder_token_at_10 | {:.2} ms |",
        r.decoder_token_at_10_ms
    );
    println!(
        "| decoder_token_at_100 | {:.2} ms (x{:.2} of at_10) |",
        r.decoder_token_at_100_ms,
        r.decoder_token_at_100_ms / r.decoder_token_at_10_ms
    );
    println!(
        "| transcribe_e2e ({:.1} s clip) | {:.0} ms, RTF {:.3} |",
        r.clip_secs, r.transcribe_ms, r.rtf
    );
    println!(
        "| transcribe_e2e cut at speech (--vad on) | {:.0} ms, RTF {:.3} |",
        r.transcribe_vad_ms,
        r.transcribe_vad_ms / 1e3 / r.clip_secs
    );
    println!(
        "| vad_silero_chunk_512 (32 ms) | {:.0} µs, RTF {:.4} |",
        r.vad_chunk_us,
        r.vad_chunk_us / 32_000.0
    );
    println!("text: {}", r.text);
}
