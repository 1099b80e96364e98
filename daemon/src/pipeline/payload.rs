//! The JSON published for every partial and final transcript (documented in docs/mqtt.md).

use serde::Serialize;

/// One transcript message.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptMessage {
    /// Stable id of the utterance; partials and the final share it.
    pub utterance_id: String,
    /// 0, 1, 2… per published message of this utterance; the final has the highest.
    pub revision: u32,
    /// The last message of this utterance.
    pub is_final: bool,
    /// The text, trimmed.
    pub text: String,
    /// Timestamped pieces of the text.
    pub segments: Vec<SegmentMessage>,
    /// Detected or configured language (multilingual models), else `en` for English-only models.
    pub language: String,
    /// Average token log-probability of the decoding pass.
    pub avg_logprob: f32,
    /// Probability that the audio holds no speech.
    pub no_speech_prob: f32,
    /// The model's name.
    pub model: String,
    /// The source's name.
    pub source: String,
    /// Wall-clock time of the utterance start, RFC 3339 UTC.
    pub start: String,
    /// Wall-clock time of the utterance end (for partials: of the audio so far).
    pub end: String,
    /// Seconds from the start of the source's stream to the utterance start.
    pub start_offset_s: f64,
    /// Seconds from the start of the source's stream to the utterance end.
    pub end_offset_s: f64,
    /// Milliseconds from the end of speech (for partials: the end of the audio so far) to the
    /// moment this message was handed to the MQTT client.
    pub latency_ms: u64,
    /// Audio lost inside or just before this utterance (device overrun, load shedding).
    pub dropped_audio_ms: u64,
    /// `high`, or `low`: a low average log-probability, a high compression ratio, or Whisper's
    /// no-speech vote overruled by the VAD. Low-confidence text is published, never withheld.
    pub confidence: &'static str,
    /// Mean VAD speech probability over the utterance's 32 ms chunks.
    pub vad_speech_prob: f32,
    /// gzip compression ratio of the decoding pass (high: repetitive text).
    pub compression_ratio: f32,
    /// `no_speech` when the guards found no speech (see docs/mqtt.md) after partials had been
    /// published: the final closes the utterance with empty text; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<&'static str>,
}

/// A timestamped piece of a transcript, in stream seconds.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentMessage {
    /// Start, seconds from the start of the stream.
    pub start_s: f64,
    /// End, seconds from the start of the stream.
    pub end_s: f64,
    /// The piece's text, trimmed.
    pub text: String,
}
