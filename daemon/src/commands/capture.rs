//! `perceptd capture`: records the microphone through the daemon's own capture path (cpal
//! callback → ring buffer → 16 kHz mono resampler → blocks) into a 16 kHz mono 16-bit WAV, like
//! `arecord`, and reports what the device delivered.

use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use percept_dsp::{Audio, encode_wav_i16};

use crate::cli::CaptureArgs;
use crate::health::{Counter, Metrics};
use crate::shutdown::Shutdown;
use crate::sources::{
    AudioSource, MicSource, SAMPLE_RATE, SourceContext, SourceEnd, list_input_devices,
};

/// How long to wait for audio beyond the requested duration (devices may start late).
const START_GRACE: Duration = Duration::from_secs(10);
/// Blocks of slack between the capture thread and this one.
const CHANNEL_BLOCKS: usize = 64;

/// Runs the command.
pub fn run(args: &CaptureArgs) -> Result<()> {
    if args.list {
        for name in list_input_devices()? {
            println!("{name}");
        }
        return Ok(());
    }
    let (Some(seconds), Some(out)) = (args.seconds, args.out.as_ref()) else {
        bail!("capture needs --seconds N and --out FILE.wav (or --list)");
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        bail!("--seconds must be > 0, got {seconds}");
    }
    let wanted = (seconds * f64::from(SAMPLE_RATE)).round() as usize;

    let mic = MicSource::open(args.device.as_deref(), MicSource::DEFAULT_RING_MS)?;
    let spec = mic.spec().clone();
    println!(
        "device: {} ({} Hz, {} ch, {})",
        spec.name,
        spec.sample_rate,
        spec.channels,
        mic.sample_format()
    );
    let monitor = mic.monitor();
    let shutdown = Shutdown::new();
    let metrics = Metrics::new();
    let (cx, rx) = SourceContext::new(CHANNEL_BLOCKS, shutdown.clone(), metrics.clone());
    let capture = std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || Box::new(mic).run(cx))
        .context("cannot start the capture thread")?;

    let deadline = Instant::now() + Duration::from_secs_f64(seconds) + START_GRACE;
    let mut samples = Vec::with_capacity(wanted);
    let mut dropped = 0u64;
    let mut early_end = None;
    while samples.len() < wanted {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(block) => {
                dropped += block.dropped_samples;
                samples.extend_from_slice(&block.samples);
            }
            Err(RecvTimeoutError::Timeout) => {
                early_end = Some(format!(
                    "only {:.2} s of audio arrived from {} within {:.0} s",
                    samples.len() as f64 / f64::from(SAMPLE_RATE),
                    spec.name,
                    seconds + START_GRACE.as_secs_f64()
                ));
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    shutdown.trigger();
    drop(rx);
    let ended = capture
        .join()
        .map_err(|_| anyhow::anyhow!("the capture thread panicked"))?;
    match ended {
        Ok(SourceEnd::Shutdown | SourceEnd::ReceiverClosed | SourceEnd::EndOfInput) => {}
        Err(error) => return Err(error.into()),
    }
    if let Some(message) = early_end {
        bail!(message);
    }
    samples.truncate(wanted);

    let wav = encode_wav_i16(&Audio {
        sample_rate: SAMPLE_RATE,
        channels: 1,
        samples,
    })?;
    std::fs::write(out, wav).with_context(|| format!("cannot write {}", out.display()))?;

    let stats = monitor.stats();
    let range = match (stats.min_callback_frames, stats.max_callback_frames) {
        (Some(min), Some(max)) => format!("{min}..{max} frames"),
        _ => "none".to_owned(),
    };
    let first = stats
        .first_audio_after
        .map_or("never".to_owned(), |d| format!("{} ms", d.as_millis()));
    println!(
        "wrote {} ({:.2} s, 16000 Hz mono s16)",
        out.display(),
        wanted as f64 / f64::from(SAMPLE_RATE)
    );
    println!(
        "callbacks: {} ({range}); first audio after {first}; overruns: {}; dropped: {} ms",
        stats.callbacks,
        metrics.get(Counter::AudioOverruns),
        metrics
            .get(Counter::DroppedAudioMs)
            .max(dropped * 1000 / u64::from(SAMPLE_RATE))
    );
    Ok(())
}
