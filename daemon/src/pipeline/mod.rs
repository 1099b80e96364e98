//! The speech pipeline behind the sources: per-source endpointing ([`UtteranceTracker`]), the
//! shedding [`JobQueue`], and the inference worker that publishes transcripts.

pub mod clock;
mod events;
pub mod guards;
pub mod job;
pub mod listening;
pub mod payload;
pub mod previous;
pub mod queue;
pub mod speaking;
pub mod utterance;
pub mod worker;

pub use guards::GuardThresholds;
pub use job::Job;
pub use listening::ListeningSwitch;
pub use payload::{SegmentMessage, TranscriptMessage};
pub use previous::ContextLimits;
pub use queue::JobQueue;
pub use speaking::SpeakingReporter;
pub use utterance::{SpeechProbability, TrackerSettings, UtteranceTracker};
pub use worker::{WorkerSettings, spawn_worker};
