//! The part every source shares: resample to 16 kHz mono, cut into blocks, send them, and
//! account for audio that is lost on the way.

use std::sync::mpsc::TrySendError;
use std::time::{Duration, Instant};

use percept_dsp::StreamResampler;

use super::{AudioBlock, BLOCK_SAMPLES, SAMPLE_RATE, SourceContext, SourceEnd, SourceError};
use crate::health::Counter;

/// How long a source waits before offering a block to a full channel again. The wait is
/// interrupted by shutdown, so a stalled pipeline never keeps a source from stopping.
const FULL_CHANNEL_RETRY: Duration = Duration::from_millis(5);
/// One block of 16 kHz audio.
const BLOCK_DURATION: Duration =
    Duration::from_micros(BLOCK_SAMPLES as u64 * 1_000_000 / SAMPLE_RATE as u64);

/// What to do when the channel to the pipeline is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FullChannel {
    /// Wait until there is room (backpressure: nothing is lost). Used when the input can wait:
    /// a file read as fast as possible, stdin, or the mic reader (whose ring buffer absorbs the
    /// wait, and overruns, counted, if it lasts too long).
    Wait,
    /// Wait at most one block's duration (20 ms) for room, then drop the block and count it,
    /// as a device would overrun. Used by real-time file pacing, which must never fall behind
    /// the clock by more than a block; the short wait absorbs the bursts the resampler makes.
    Shed,
}

/// Resamples native audio to 16 kHz mono and sends it as [`AudioBlock`]s.
#[derive(Debug)]
pub(super) struct BlockWriter {
    cx: SourceContext,
    on_full: FullChannel,
    resampler: StreamResampler,
    in_rate: u32,
    /// 16 kHz samples not yet sent (shorter than a block between calls).
    pending: Vec<f32>,
    /// 16 kHz samples lost since the last block that was sent.
    dropped_since_sent: u64,
    /// All 16 kHz samples lost so far, and how many whole ms of them the counter has seen.
    dropped_total: u64,
    dropped_ms_counted: u64,
    /// Native frames lost so far (device overruns), and their 16 kHz equivalent counted so far.
    lost_native_frames: u64,
    lost_native_counted: u64,
}

impl BlockWriter {
    /// A writer for interleaved audio of `channels` channels at `in_rate` Hz.
    pub(super) fn new(
        name: &str,
        in_rate: u32,
        channels: u16,
        cx: SourceContext,
        on_full: FullChannel,
    ) -> Result<Self, SourceError> {
        let resampler =
            StreamResampler::new(in_rate, channels).map_err(|source| SourceError::Resample {
                name: name.to_owned(),
                source,
            })?;
        Ok(Self {
            cx,
            on_full,
            resampler,
            in_rate,
            pending: Vec::with_capacity(4 * BLOCK_SAMPLES),
            dropped_since_sent: 0,
            dropped_total: 0,
            dropped_ms_counted: 0,
            lost_native_frames: 0,
            lost_native_counted: 0,
        })
    }

    /// The context's shutdown token.
    pub(super) fn shutdown(&self) -> &crate::shutdown::Shutdown {
        &self.cx.shutdown
    }

    /// The context's counters.
    pub(super) fn metrics(&self) -> &crate::health::Metrics {
        &self.cx.metrics
    }

    /// The capture stage's heartbeat.
    pub(super) fn heartbeat(&self) -> &crate::health::Heartbeat {
        &self.cx.heartbeat
    }

    /// Resamples `interleaved` and sends every complete block. `Some(end)` means stop.
    pub(super) fn write(&mut self, interleaved: &[f32]) -> Option<SourceEnd> {
        if self.cx.shutdown.is_triggered() {
            return Some(SourceEnd::Shutdown);
        }
        self.resampler.process_into(interleaved, &mut self.pending);
        self.send_blocks(false)
    }

    /// Ends the signal: flushes the resampler and sends the rest, the last block possibly
    /// short. `Some(end)` means the source was stopped before everything went out.
    pub(super) fn finish(&mut self) -> Option<SourceEnd> {
        if self.cx.shutdown.is_triggered() {
            return Some(SourceEnd::Shutdown);
        }
        self.resampler.flush_into(&mut self.pending);
        self.send_blocks(true)
    }

    /// Records `frames` native frames lost before the audio written next (a device overrun).
    pub(super) fn lost_native_frames(&mut self, frames: u64) {
        if frames == 0 {
            return;
        }
        self.lost_native_frames += frames;
        let total = u128::from(self.lost_native_frames) * u128::from(SAMPLE_RATE)
            / u128::from(self.in_rate);
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let new = total.saturating_sub(self.lost_native_counted);
        self.lost_native_counted = total;
        self.count_dropped(new);
    }

    fn count_dropped(&mut self, samples: u64) {
        self.dropped_since_sent += samples;
        self.dropped_total += samples;
        let ms = self.dropped_total * 1000 / u64::from(SAMPLE_RATE);
        self.cx
            .metrics
            .add(Counter::DroppedAudioMs, ms - self.dropped_ms_counted);
        self.dropped_ms_counted = ms;
    }

    /// Sends every full block of `pending` (and, with `all`, the short rest).
    fn send_blocks(&mut self, all: bool) -> Option<SourceEnd> {
        let mut sent = 0;
        let mut stop = None;
        loop {
            let left = self.pending.len() - sent;
            if left == 0 || (left < BLOCK_SAMPLES && !all) {
                break;
            }
            let end = sent + left.min(BLOCK_SAMPLES);
            let samples = self.pending[sent..end].to_vec();
            sent = end;
            stop = self.send(samples);
            if stop.is_some() {
                break;
            }
        }
        self.pending.drain(..sent);
        stop
    }

    fn send(&mut self, samples: Vec<f32>) -> Option<SourceEnd> {
        let len = samples.len() as u64;
        let mut block = AudioBlock {
            samples,
            dropped_samples: self.dropped_since_sent,
        };
        let shed_at = Instant::now() + BLOCK_DURATION;
        loop {
            match self.cx.tx.try_send(block) {
                Ok(()) => {
                    self.dropped_since_sent = 0;
                    self.cx.metrics.add(Counter::AudioSamplesIn, len);
                    self.cx.heartbeat.active();
                    return None;
                }
                Err(TrySendError::Disconnected(_)) => return Some(SourceEnd::ReceiverClosed),
                Err(TrySendError::Full(returned)) => {
                    // Behind the endpointer, which the watchdog watches instead.
                    self.cx.heartbeat.waiting();
                    if self.on_full == FullChannel::Shed && Instant::now() >= shed_at {
                        self.count_dropped(len);
                        return None;
                    }
                    if self.cx.shutdown.sleep(FULL_CHANNEL_RETRY) {
                        return Some(SourceEnd::Shutdown);
                    }
                    block = returned;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::health::Metrics;
    use crate::shutdown::Shutdown;

    fn context(capacity: usize) -> (SourceContext, std::sync::mpsc::Receiver<AudioBlock>) {
        SourceContext::new(capacity, Shutdown::new(), Metrics::new())
    }

    #[test]
    fn sixteen_khz_input_is_cut_into_full_blocks_and_a_short_last_one() {
        let (cx, rx) = context(16);
        let mut writer = BlockWriter::new("t", 16_000, 1, cx.clone(), FullChannel::Wait).unwrap();
        let input: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        assert_eq!(writer.write(&input[..700]), None);
        assert_eq!(writer.write(&input[700..]), None);
        assert_eq!(writer.finish(), None);
        drop(writer);
        let blocks: Vec<AudioBlock> = rx.try_iter().collect();
        let sizes: Vec<usize> = blocks.iter().map(|b| b.samples.len()).collect();
        assert_eq!(sizes, vec![320, 320, 320, 40]);
        let joined: Vec<f32> = blocks.into_iter().flat_map(|b| b.samples).collect();
        assert_eq!(joined, input);
        assert_eq!(cx.metrics.get(Counter::AudioSamplesIn), 1000);
    }

    #[test]
    fn shedding_on_a_full_channel_reports_the_loss_on_the_next_block() {
        let (cx, rx) = context(1);
        let mut writer = BlockWriter::new("t", 16_000, 1, cx.clone(), FullChannel::Shed).unwrap();
        assert_eq!(writer.write(&[0.5; 3 * BLOCK_SAMPLES]), None);
        assert_eq!(cx.metrics.get(Counter::DroppedAudioMs), 40);
        assert_eq!(rx.recv().unwrap().dropped_samples, 0);
        assert_eq!(writer.write(&[0.5; BLOCK_SAMPLES]), None);
        assert_eq!(rx.recv().unwrap().dropped_samples, 2 * BLOCK_SAMPLES as u64);
    }

    #[test]
    fn native_frames_lost_in_an_overrun_are_converted_to_16_khz() {
        let (cx, rx) = context(16);
        let mut writer = BlockWriter::new("t", 48_000, 2, cx.clone(), FullChannel::Wait).unwrap();
        writer.lost_native_frames(4_800); // 100 ms
        writer.lost_native_frames(1); // a third of a 16 kHz sample: not yet a whole one
        assert_eq!(cx.metrics.get(Counter::DroppedAudioMs), 100);
        assert_eq!(writer.write(&vec![0.0; 2 * 4_800]), None);
        assert_eq!(writer.finish(), None);
        let blocks: Vec<AudioBlock> = rx.try_iter().collect();
        assert_eq!(blocks[0].dropped_samples, 1_600);
        assert!(blocks[1..].iter().all(|b| b.dropped_samples == 0));
        let delivered: usize = blocks.iter().map(|b| b.samples.len()).sum();
        assert_eq!(delivered, 1_600);
    }

    #[test]
    fn waiting_on_a_full_channel_stops_at_shutdown() {
        let (cx, _rx) = context(1);
        let mut writer = BlockWriter::new("t", 16_000, 1, cx.clone(), FullChannel::Wait).unwrap();
        let shutdown = cx.shutdown.clone();
        let trigger = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            shutdown.trigger();
        });
        assert_eq!(
            writer.write(&[0.0; 3 * BLOCK_SAMPLES]),
            Some(SourceEnd::Shutdown)
        );
        trigger.join().unwrap();
    }

    #[test]
    fn a_full_channel_marks_the_source_waiting_and_a_sent_block_active() {
        use crate::health::{Progress, Watch};
        let progress = Progress::new();
        let (cx, rx) = context(1);
        let heartbeat = progress.register("source t", Duration::from_secs(1), Watch::WhileActive);
        let cx = cx.with_heartbeat(heartbeat);
        let mut writer = BlockWriter::new("t", 16_000, 1, cx, FullChannel::Shed).unwrap();
        assert_eq!(writer.write(&[0.0; 2 * BLOCK_SAMPLES]), None);
        assert_eq!(
            progress.view()[0].state,
            "waiting",
            "the second block met a full channel"
        );
        rx.recv().unwrap();
        assert_eq!(writer.write(&[0.0; BLOCK_SAMPLES]), None);
        assert_eq!(progress.view()[0].state, "active");
    }

    #[test]
    fn a_dropped_receiver_ends_the_source() {
        let (cx, rx) = context(1);
        drop(rx);
        let mut writer = BlockWriter::new("t", 16_000, 1, cx, FullChannel::Wait).unwrap();
        assert_eq!(
            writer.write(&[0.0; BLOCK_SAMPLES]),
            Some(SourceEnd::ReceiverClosed)
        );
    }
}
