//! Starts every configured source with its endpointing thread.

use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use percept_dsp::PcmFormat;
use percept_models::vad::SileroVad;

use super::demo::DEMO_WAV;
use crate::config::{Config, SourceConfig};
use crate::health::Metrics;
use crate::pipeline::{JobQueue, TrackerSettings, UtteranceTracker};
use crate::shutdown::Shutdown;
use crate::sources::{
    AudioSource, FileSource, MicSource, Pacing, SourceContext, SourceError, StdinSource,
    probe_default_mic, run_supervised,
};

/// Blocks buffered between a source and its endpointer (about 20–32 ms each).
const CHANNEL_BLOCKS: usize = 64;
/// Restart backoff for a failing source.
const RESTART_MIN: Duration = Duration::from_millis(500);
const RESTART_MAX: Duration = Duration::from_secs(30);

/// A way to (re)open one source.
type Opener = Box<dyn FnMut() -> Result<Box<dyn AudioSource>, SourceError> + Send>;

/// Starts every source; returns the endpointing threads, which end when their source ends.
pub fn start_all(
    config: &Config,
    vad: &Arc<SileroVad>,
    run_id: u64,
    queue: &Arc<JobQueue>,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
) -> Result<Vec<JoinHandle<()>>> {
    let openers = if config.file.sources.is_empty() {
        vec![demo_source()]
    } else {
        config
            .file
            .sources
            .iter()
            .map(opener_for)
            .collect::<Result<Vec<_>>>()?
    };
    let settings = tracker_settings(config);
    let mut threads = Vec::new();
    for (name, mut open) in openers {
        // Open once up front so a bad device or file fails the start with a clear error.
        let first = open().with_context(|| format!("source {name}"))?;
        let (tx, rx) = sync_channel(CHANNEL_BLOCKS);
        let cx = SourceContext {
            tx,
            shutdown: shutdown.clone(),
            metrics: metrics.clone(),
        };
        let mut first = Some(first);
        let make = move || match first.take() {
            Some(source) => Ok(source),
            None => open(),
        };
        std::thread::Builder::new()
            .name(format!("source-{name}"))
            .spawn(move || run_supervised(make, cx, RESTART_MIN, RESTART_MAX))?;
        let mut tracker = UtteranceTracker::new(
            &name,
            run_id,
            Box::new(vad.session()?),
            settings.clone(),
            queue.clone(),
            metrics.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("vad-{name}"))
            .spawn(move || {
                let span = tracing::info_span!("vad", source = %name);
                let _guard = span.enter();
                loop {
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(block) => {
                            if let Err(e) = tracker.push_block(block) {
                                tracing::error!(error = %e, "VAD failed; source stopped");
                                break;
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                tracker.finish();
            })?;
        threads.push(thread);
    }
    Ok(threads)
}

/// The demo's source: the default microphone if it opens, else the demo clip in a loop.
fn demo_source() -> (String, Opener) {
    match probe_default_mic() {
        Ok(device) => {
            tracing::info!(device = %device, "demo: listening to the default microphone");
            (
                "mic".into(),
                Box::new(move || Ok(Box::new(MicSource::open(None, 2000)?) as Box<dyn AudioSource>)),
            )
        }
        Err(e) => {
            tracing::info!(reason = %e, "demo: no working microphone; looping the built-in demo clip");
            (
                "demo".into(),
                Box::new(|| {
                    Ok(Box::new(FileSource::from_wav_bytes(
                        "demo",
                        DEMO_WAV.to_vec(),
                        Pacing::RealTime,
                        true,
                    )?) as Box<dyn AudioSource>)
                }),
            )
        }
    }
}

/// An opener for one configured source.
fn opener_for(source: &SourceConfig) -> Result<(String, Opener)> {
    let name = source.name().to_string();
    let opener: Opener = match source.clone() {
        SourceConfig::Mic(mic) => Box::new(move || {
            Ok(Box::new(MicSource::open(mic.device.as_deref(), mic.ring_ms)?) as Box<dyn AudioSource>)
        }),
        SourceConfig::File(file) => {
            let pacing = if file.realtime {
                Pacing::RealTime
            } else {
                Pacing::Fast
            };
            Box::new(move || {
                Ok(Box::new(FileSource::open(&file.path, pacing, file.looping)?) as Box<dyn AudioSource>)
            })
        }
        SourceConfig::Stdin(stdin) => {
            let format: PcmFormat = stdin
                .format
                .parse()
                .map_err(|e| anyhow::anyhow!("source {name}: {e}"))?;
            let mut taken = false;
            Box::new(move || {
                if std::mem::replace(&mut taken, true) {
                    return Err(SourceError::Ended);
                }
                Ok(Box::new(StdinSource::new(
                    Box::new(std::io::stdin()),
                    format,
                    stdin.sample_rate,
                    stdin.channels,
                )?) as Box<dyn AudioSource>)
            })
        }
    };
    Ok((name, opener))
}

/// The endpointer and shedding settings from the config.
fn tracker_settings(config: &Config) -> TrackerSettings {
    let vad = &config.file.vad;
    let ms = |ms: u64| ms * 16;
    TrackerSettings {
        endpoint: percept_models::vad::EndpointConfig {
            threshold: vad.threshold,
            neg_threshold: vad.neg_threshold,
            min_speech_ms: vad.min_speech_ms,
            min_silence_ms: vad.min_silence_ms,
            speech_pad_ms: vad.speech_pad_ms,
            max_utterance_ms: vad.max_utterance_ms,
        },
        partial_interval_samples: ms(config.file.speech.partial_interval_ms),
        max_backlog_samples: ms(config.file.speech.max_backlog_ms),
        speech_pad_samples: ms(u64::from(vad.speech_pad_ms)),
    }
}
