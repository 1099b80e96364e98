//! What runs on the audio device's thread: the data callback and the error callback, and the
//! atomics they share with the reader.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cpal::{FromSample, Sample};
use percept_dsp::RingProducer;

/// Counters and flags written by the device callbacks and read by the reader thread.
#[derive(Debug)]
pub(super) struct CaptureState {
    /// Data callbacks seen.
    pub(super) callbacks: AtomicU64,
    /// Smallest and largest callback, in frames (`u64::MAX` / 0 until the first one).
    pub(super) min_frames: AtomicU64,
    pub(super) max_frames: AtomicU64,
    /// Callbacks whose samples did not all fit the ring, plus xruns reported by the host.
    pub(super) overruns: AtomicU64,
    /// Native frames dropped because the ring was full.
    pub(super) dropped_frames: AtomicU64,
    /// Set by the error callback on a fatal stream error.
    pub(super) lost: AtomicBool,
    /// The fatal error's message (written once, before `lost` is set).
    pub(super) lost_reason: OnceLock<String>,
    /// Nanoseconds from `play()` to the first audio the reader saw (0: none yet).
    pub(super) first_audio_nanos: AtomicU64,
}

impl CaptureState {
    pub(super) fn new() -> Self {
        Self {
            callbacks: AtomicU64::new(0),
            min_frames: AtomicU64::new(u64::MAX),
            max_frames: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            lost: AtomicBool::new(false),
            lost_reason: OnceLock::new(),
            first_audio_nanos: AtomicU64::new(0),
        }
    }

    pub(super) fn note_first_audio(&self, after: Duration) {
        let nanos = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX).max(1);
        let _ =
            self.first_audio_nanos
                .compare_exchange(0, nanos, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The data callback's body for interleaved samples of type `T`.
///
/// REAL-TIME CONTEXT: this runs on the audio host's thread for every buffer. It only converts
/// samples to f32 while copying them into the lock-free ring and bumps atomic counters. It must
/// never allocate, lock, log, block, or unwrap: a full ring is an overrun (whole frames are
/// dropped and counted), not an error.
pub(super) fn on_data<T>(data: &[T], ring: &mut RingProducer, state: &CaptureState, channels: usize)
where
    T: Sample,
    f32: FromSample<T>,
{
    let frames = (data.len() / channels) as u64;
    state.callbacks.fetch_add(1, Ordering::Relaxed);
    state.min_frames.fetch_min(frames, Ordering::Relaxed);
    state.max_frames.fetch_max(frames, Ordering::Relaxed);
    // Only whole frames go in, so the reader never sees channels out of step.
    let fit = ring.free_len().min(data.len()) / channels * channels;
    let pushed = ring.push_iter(data[..fit].iter().map(|&sample| f32::from_sample_(sample)));
    let dropped_frames = frames - (pushed / channels) as u64;
    if dropped_frames > 0 {
        state.overruns.fetch_add(1, Ordering::Relaxed);
        state
            .dropped_frames
            .fetch_add(dropped_frames, Ordering::Relaxed);
    }
}

/// The error callback: an xrun is counted as an overrun, a rerouted default device or a refused
/// real-time priority is harmless, anything else means the stream is gone and the reader must
/// return [`SourceError::DeviceLost`](crate::sources::SourceError::DeviceLost).
pub(super) fn on_stream_error(state: &CaptureState, error: cpal::Error) {
    match error.kind() {
        cpal::ErrorKind::Xrun => {
            state.overruns.fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
        _ => {
            let _ = state.lost_reason.set(error.to_string());
            state.lost.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_that_overflows_the_ring_drops_whole_frames_and_counts_one_overrun() {
        let (mut producer, mut consumer) = percept_dsp::sample_ring(5);
        let state = CaptureState::new();
        let stereo: Vec<i16> = vec![16_384, -16_384, 8_192, -8_192, 0, 0, 1, 1];
        on_data(&stereo, &mut producer, &state, 2);
        // 5 slots hold 2 whole stereo frames; the other 2 frames are dropped.
        let mut out = [9.0; 8];
        assert_eq!(consumer.pop_into(&mut out), 4);
        assert_eq!(&out[..4], &[0.5, -0.5, 0.25, -0.25]);
        assert_eq!(state.overruns.load(Ordering::Relaxed), 1);
        assert_eq!(state.dropped_frames.load(Ordering::Relaxed), 2);
        on_data(&stereo[..2], &mut producer, &state, 2);
        assert_eq!(state.overruns.load(Ordering::Relaxed), 1);
        assert_eq!(state.callbacks.load(Ordering::Relaxed), 2);
        assert_eq!(state.min_frames.load(Ordering::Relaxed), 1);
        assert_eq!(state.max_frames.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn unsigned_and_float_formats_convert_to_unit_range() {
        let (mut producer, mut consumer) = percept_dsp::sample_ring(8);
        let state = CaptureState::new();
        on_data(&[32_768u16, 0, 49_152], &mut producer, &state, 1);
        on_data(&[0.25f64], &mut producer, &state, 1);
        let mut out = [0.0; 4];
        assert_eq!(consumer.pop_into(&mut out), 4);
        assert_eq!(out, [0.0, -1.0, 0.5, 0.25]);
    }

    #[test]
    fn only_fatal_stream_errors_mark_the_device_lost() {
        let state = CaptureState::new();
        on_stream_error(&state, cpal::Error::new(cpal::ErrorKind::Xrun));
        on_stream_error(&state, cpal::Error::new(cpal::ErrorKind::DeviceChanged));
        assert!(!state.lost.load(Ordering::Acquire));
        assert_eq!(state.overruns.load(Ordering::Relaxed), 1);
        on_stream_error(
            &state,
            cpal::Error::with_message(cpal::ErrorKind::DeviceNotAvailable, "unplugged"),
        );
        assert!(state.lost.load(Ordering::Acquire));
        assert_eq!(
            state.lost_reason.get().map(String::as_str),
            Some("unplugged")
        );
    }
}
