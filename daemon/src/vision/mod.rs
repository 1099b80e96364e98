//! The image side of the daemon: the model path shared by `perceptd classify` / `perceptd
//! embed` and the cameras ([`model::Analyzer`]), and what the cameras publish ([`stage`]):
//! label events with hysteresis, captions, embeddings and snapshots.

pub mod caption;
pub mod embedding;
mod events;
pub mod labels;
pub mod model;
pub mod payload;
pub mod snapshot;
pub mod stage;

pub use model::{Analyzer, ClipSettings, VisionModel, VisionSettings};
pub use stage::{FrameInfo, StagePolicy, StageSettings, VisionStage};
