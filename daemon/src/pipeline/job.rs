//! A request to transcribe one utterance, whole (final) or so far (partial).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// One utterance's audio and where it sits in its stream.
#[derive(Debug, Clone)]
pub struct Job {
    /// The source's name.
    pub source: Arc<str>,
    /// `{source}-{start of the process, unix secs}-{sequence}`: unique per process run.
    pub utterance_id: Arc<str>,
    /// The final transcript (true) or a partial one.
    pub is_final: bool,
    /// 16 kHz mono audio of the utterance (padding included).
    pub audio: Arc<[f32]>,
    /// Stream offset of the first sample.
    pub start_offset: u64,
    /// Stream offset one past the last sample.
    pub end_offset: u64,
    /// Wall-clock time of the first sample.
    pub start_wall: SystemTime,
    /// Wall-clock time of the end.
    pub end_wall: SystemTime,
    /// When the speech ended (finals; for partials, when the audio so far ended): latency is
    /// measured from here to the publish.
    pub speech_end: Instant,
    /// Audio lost inside or just before this utterance (overrun, load shedding), milliseconds.
    pub dropped_audio_ms: u64,
    /// Mean VAD speech probability over the job's 32 ms chunks: the endpointer's own evidence
    /// of speech, next to Whisper's `no_speech_prob`.
    pub vad_speech_prob: f32,
    /// `Some(epoch)`: an early final, the final's exact audio transcribed while the endpointer
    /// waits out the pause; kept by the worker, published only when the final itself comes,
    /// and void once its source's speculation epoch moves on (speech resumed). Set by
    /// [`super::queue::JobQueue::offer_early_final`].
    pub early: Option<u64>,
}
