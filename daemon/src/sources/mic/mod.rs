//! The microphone: any cpal input device, at whatever rate, channel count and sample format
//! it offers by default.
//!
//! The device callback only converts samples to f32 into a lock-free ring buffer
//! ([`percept_dsp::sample_ring`]) and counts overruns in atomics. [`MicSource::run`] is the
//! reader: it pops the ring in 10 ms chunks, resamples to 16 kHz mono and sends blocks. When the
//! ring is empty it sleeps 5 ms (woken early by shutdown), so it waits on content, not on the
//! clock. Device names are described in [`list_input_devices`].

mod alsa_messages;
mod callback;
pub mod config;
mod devices;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{Device, FromSample, SampleFormat, SizedSample, Stream, StreamConfig};
use percept_dsp::{RingConsumer, RingProducer, sample_ring};

use self::callback::{CaptureState, on_data, on_stream_error};
pub use self::devices::list_input_devices;
use self::devices::{device_name, find_input_device};
use super::blocks::{BlockWriter, FullChannel};
use super::{AudioSource, SourceContext, SourceEnd, SourceError, SourceKind, SourceSpec};
use crate::health::Counter;

/// How long the reader sleeps when the ring is empty.
const IDLE_WAIT: Duration = Duration::from_millis(5);
/// Native audio the reader pops per step.
const READ_CHUNK_MS: u64 = 10;
/// How long cpal may take to set up a stream (backends that honour it).
const BUILD_TIMEOUT: Duration = Duration::from_secs(5);

/// A capture device, opened and configured, not yet started.
pub struct MicSource {
    spec: SourceSpec,
    sample_format: SampleFormat,
    stream: Stream,
    ring: RingConsumer,
    state: Arc<CaptureState>,
}

impl std::fmt::Debug for MicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicSource")
            .field("spec", &self.spec)
            .field("sample_format", &self.sample_format)
            .finish_non_exhaustive()
    }
}

/// What the capture callbacks have seen so far (see [`MicSource::monitor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MicStats {
    /// Data callbacks received.
    pub callbacks: u64,
    /// Smallest callback in frames (`None` before the first).
    pub min_callback_frames: Option<u64>,
    /// Largest callback in frames (`None` before the first).
    pub max_callback_frames: Option<u64>,
    /// Overruns: callbacks that did not fit the ring, plus xruns the host reported.
    pub overruns: u64,
    /// Native frames dropped in overruns.
    pub dropped_frames: u64,
    /// Time from starting the stream to the first audio the reader saw.
    pub first_audio_after: Option<Duration>,
}

/// A handle that reads [`MicStats`] while the source runs on another thread.
#[derive(Debug, Clone)]
pub struct MicMonitor(Arc<CaptureState>);

impl MicMonitor {
    /// The counters now.
    pub fn stats(&self) -> MicStats {
        let state = &self.0;
        let callbacks = state.callbacks.load(Ordering::Relaxed);
        let seen = |value: u64| (callbacks > 0).then_some(value);
        let first = state.first_audio_nanos.load(Ordering::Relaxed);
        MicStats {
            callbacks,
            min_callback_frames: seen(state.min_frames.load(Ordering::Relaxed)),
            max_callback_frames: seen(state.max_frames.load(Ordering::Relaxed)),
            overruns: state.overruns.load(Ordering::Relaxed),
            dropped_frames: state.dropped_frames.load(Ordering::Relaxed),
            first_audio_after: (first > 0).then(|| Duration::from_nanos(first)),
        }
    }
}

impl MicSource {
    /// Ring size [`perceptd capture`](crate::commands::capture) uses: 500 ms of native audio.
    pub const DEFAULT_RING_MS: u32 = 500;
    /// Largest ring accepted: 60 s of native audio.
    pub const MAX_RING_MS: u32 = 60_000;

    /// Opens the default input device (`None`) or the one called `device`, in its default
    /// configuration, with a ring buffer holding `ring_ms` (1 to [`Self::MAX_RING_MS`]) of
    /// native audio: how long the reader may stall (e.g. on a full channel) before the
    /// device overruns.
    ///
    /// Fails with [`SourceError::DeviceNotFound`] (listing the input devices) for an unknown
    /// name, and [`SourceError::DeviceUnavailable`] when the device cannot be configured or
    /// opened, e.g. on a machine without a sound card, where ALSA still offers `alsa:default`.
    pub fn open(device: Option<&str>, ring_ms: u32) -> Result<Self, SourceError> {
        if ring_ms == 0 || ring_ms > Self::MAX_RING_MS {
            return Err(SourceError::InvalidConfig {
                rule: format!(
                    "ring_ms must be between 1 and {}, got {ring_ms}",
                    Self::MAX_RING_MS
                ),
            });
        }
        let (opened, messages) = alsa_messages::collect(|| Self::open_quietly(device, ring_ms));
        opened.map_err(|error| match error {
            SourceError::DeviceUnavailable { device, reason } => SourceError::DeviceUnavailable {
                device,
                reason: alsa_messages::with_messages(reason, &messages),
            },
            other => other,
        })
    }

    fn open_quietly(device: Option<&str>, ring_ms: u32) -> Result<Self, SourceError> {
        let device = find_input_device(device)?;
        let name = device_name(&device);
        let unavailable = |error: cpal::Error| SourceError::DeviceUnavailable {
            device: name.clone(),
            reason: error.to_string(),
        };
        let supported = device.default_input_config().map_err(unavailable)?;
        let config: StreamConfig = supported.config();
        let sample_format = supported.sample_format();
        let rate = u64::from(config.sample_rate);
        let channels = usize::from(config.channels.max(1));
        let frames = (rate * u64::from(ring_ms) / 1000).max(1);
        let capacity = usize::try_from(frames)
            .unwrap_or(usize::MAX)
            .saturating_mul(channels);
        let (producer, ring) = sample_ring(capacity);
        let state = Arc::new(CaptureState::new());
        let stream =
            build_stream(&device, &config, sample_format, producer, &state).map_err(|error| {
                match error {
                    BuildError::Cpal(error) => unavailable(error),
                    BuildError::Format(format) => SourceError::UnsupportedSampleFormat {
                        device: name.clone(),
                        format,
                    },
                }
            })?;
        Ok(Self {
            spec: SourceSpec {
                name: name.clone(),
                kind: SourceKind::Mic,
                sample_rate: config.sample_rate,
                channels: config.channels,
            },
            sample_format,
            stream,
            ring,
            state,
        })
    }

    /// The native sample format (`f32`, `i16`, …).
    pub fn sample_format(&self) -> String {
        self.sample_format.to_string()
    }

    /// A handle on the capture counters, usable while [`run`](AudioSource::run) owns the source.
    pub fn monitor(&self) -> MicMonitor {
        MicMonitor(Arc::clone(&self.state))
    }
}

/// Whether the default input device can open a capture stream: its name if so.
///
/// The stream is built (which opens the device) and dropped without being started, so this
/// does not wait for audio; a device that opens but never delivers is only found by running it.
pub fn probe_default_mic() -> Result<String, SourceError> {
    MicSource::open(None, 100).map(|mic| mic.spec.name)
}

enum BuildError {
    Cpal(cpal::Error),
    Format(String),
}

fn build_stream(
    device: &Device,
    config: &StreamConfig,
    format: SampleFormat,
    producer: RingProducer,
    state: &Arc<CaptureState>,
) -> Result<Stream, BuildError> {
    let build = match format {
        SampleFormat::I8 => build_typed::<i8>,
        SampleFormat::I16 => build_typed::<i16>,
        SampleFormat::I24 => build_typed::<cpal::I24>,
        SampleFormat::I32 => build_typed::<i32>,
        SampleFormat::I64 => build_typed::<i64>,
        SampleFormat::U8 => build_typed::<u8>,
        SampleFormat::U16 => build_typed::<u16>,
        SampleFormat::U24 => build_typed::<cpal::U24>,
        SampleFormat::U32 => build_typed::<u32>,
        SampleFormat::U64 => build_typed::<u64>,
        SampleFormat::F32 => build_typed::<f32>,
        SampleFormat::F64 => build_typed::<f64>,
        other => return Err(BuildError::Format(other.to_string())),
    };
    build(device, config, producer, state).map_err(BuildError::Cpal)
}

fn build_typed<T>(
    device: &Device,
    config: &StreamConfig,
    mut producer: RingProducer,
    state: &Arc<CaptureState>,
) -> Result<Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let data_state = Arc::clone(state);
    let error_state = Arc::clone(state);
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            on_data(data, &mut producer, &data_state, channels);
        },
        move |error| on_stream_error(&error_state, error),
        Some(BUILD_TIMEOUT),
    )
}

impl AudioSource for MicSource {
    fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    fn run(self: Box<Self>, cx: SourceContext) -> Result<SourceEnd, SourceError> {
        let Self {
            spec,
            stream,
            mut ring,
            state,
            ..
        } = *self;
        let mut writer = BlockWriter::new(
            &spec.name,
            spec.sample_rate,
            spec.channels,
            cx,
            FullChannel::Wait,
        )?;
        let (played, messages) = alsa_messages::collect(|| stream.play());
        played.map_err(|error| SourceError::DeviceUnavailable {
            device: spec.name.clone(),
            reason: alsa_messages::with_messages(error.to_string(), &messages),
        })?;
        let started = Instant::now();
        let channels = usize::from(spec.channels.max(1));
        let chunk_frames = (u64::from(spec.sample_rate) * READ_CHUNK_MS / 1000).max(1) as usize;
        let mut chunk = vec![0.0f32; chunk_frames * channels];
        let mut overruns_seen = 0;
        let mut dropped_seen = 0;
        loop {
            if state.lost.load(Ordering::Acquire) {
                return Err(SourceError::DeviceLost {
                    device: spec.name,
                    reason: state
                        .lost_reason
                        .get()
                        .cloned()
                        .unwrap_or_else(|| "the stream reported an error".to_owned()),
                });
            }
            let overruns = state.overruns.load(Ordering::Relaxed);
            writer
                .metrics()
                .add(Counter::AudioOverruns, overruns - overruns_seen);
            overruns_seen = overruns;
            let dropped = state.dropped_frames.load(Ordering::Relaxed);
            writer.lost_native_frames(dropped - dropped_seen);
            dropped_seen = dropped;

            let popped = ring.pop_into(&mut chunk);
            if popped == 0 {
                if writer.shutdown().sleep(IDLE_WAIT) {
                    return Ok(SourceEnd::Shutdown);
                }
                continue;
            }
            state.note_first_audio(started.elapsed());
            if let Some(end) = writer.write(&chunk[..popped]) {
                return Ok(end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_of_zero_or_more_than_a_minute_is_rejected_before_any_device_is_touched() {
        for ring_ms in [0, MicSource::MAX_RING_MS + 1] {
            let error = MicSource::open(Some("no-such-device"), ring_ms).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("ring_ms must be between 1 and 60000, got {ring_ms}")
            );
        }
    }
}
