//! Audio sources: the microphone (cpal), a WAV file or embedded WAV, and raw PCM on stdin,
//! behind one [`AudioSource`] trait.
//!
//! Every source converts what it natively delivers to 16 kHz mono with
//! [`percept_dsp::StreamResampler`] and hands it to the pipeline as [`AudioBlock`]s of
//! [`BLOCK_SAMPLES`] samples (20 ms) over a bounded channel. Audio that is lost (a device
//! overrun, or a real-time file source facing a full channel) is counted in
//! [`Counter::DroppedAudioMs`](crate::health::Counter::DroppedAudioMs) and reported on the next
//! block as [`AudioBlock::dropped_samples`].

mod blocks;
pub mod config;
mod error;
pub mod file;
pub mod mic;
pub mod stdin;
pub mod supervise;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

pub use config::{OpenSource, SourceConfig, SourcePlan};
pub use error::SourceError;
pub use file::{FileSource, Pacing};
pub use mic::{MicSource, list_input_devices, probe_default_mic};
pub use stdin::StdinSource;
pub use supervise::run_supervised;

use crate::health::{Heartbeat, Metrics};
use crate::shutdown::Shutdown;

/// The pipeline's sample rate: every block is 16 kHz mono.
pub use percept_dsp::rate::SAMPLE_RATE;

/// Samples per block (20 ms at 16 kHz); only the last block of a finite source is shorter.
pub const BLOCK_SAMPLES: usize = 320;

/// What kind of thing a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A capture device (cpal).
    Mic,
    /// A WAV file, or WAV bytes held in memory.
    File,
    /// Raw PCM from a reader (normally stdin).
    Stdin,
}

/// What a source is and what it natively delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// A human-readable name: the device id (`alsa:default`), the file path, or `stdin`.
    pub name: String,
    /// What kind of source it is.
    pub kind: SourceKind,
    /// Native frames per second, before conversion to 16 kHz.
    pub sample_rate: u32,
    /// Native interleaved channel count, before down-mixing to mono.
    pub channels: u16,
}

/// 16 kHz mono audio handed to the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBlock {
    /// 16 kHz mono samples, [`BLOCK_SAMPLES`] long except for the last block of a finite source.
    pub samples: Vec<f32>,
    /// 16 kHz samples lost right before this block (device overrun, or shedding on a full
    /// channel); 0 when the audio is continuous with the previous block.
    pub dropped_samples: u64,
}

/// What a running source needs: where to send blocks, when to stop, what to count.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The bounded channel to the pipeline.
    pub tx: SyncSender<AudioBlock>,
    /// Stops the source (checked between blocks and during every wait).
    pub shutdown: Shutdown,
    /// Counters: AudioSamplesIn, AudioOverruns, DroppedAudioMs, SourceRestarts.
    pub metrics: Arc<Metrics>,
    /// The capture stage's progress, for the watchdog: active while delivering blocks, waiting
    /// on a full channel or a silent input, degraded while restarting. Detached by default.
    pub heartbeat: Heartbeat,
}

impl SourceContext {
    /// A context with a new bounded channel of `capacity` blocks, and the channel's receiving end.
    pub fn new(
        capacity: usize,
        shutdown: Shutdown,
        metrics: Arc<Metrics>,
    ) -> (Self, Receiver<AudioBlock>) {
        let (tx, rx) = sync_channel(capacity);
        (
            Self {
                tx,
                shutdown,
                metrics,
                heartbeat: Heartbeat::detached(),
            },
            rx,
        )
    }

    /// The same context, reporting progress to `heartbeat`.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }
}

/// Why a source's [`run`](AudioSource::run) returned without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEnd {
    /// The input ended (end of a non-looping file, end of stdin); all of it was delivered.
    EndOfInput,
    /// The shutdown token fired.
    Shutdown,
    /// The receiving side of the channel was dropped.
    ReceiverClosed,
}

/// A source of live or recorded audio.
pub trait AudioSource: Send {
    /// What the source is and what it natively delivers.
    fn spec(&self) -> &SourceSpec;

    /// Streams 16 kHz mono blocks into `cx.tx`. Blocks until the source ends (end of
    /// file/stdin without looping), shutdown fires, the receiver goes away, or it fails.
    fn run(self: Box<Self>, cx: SourceContext) -> Result<SourceEnd, SourceError>;
}
