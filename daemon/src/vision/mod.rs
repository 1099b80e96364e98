//! The image side of the daemon: what the cameras publish ([`stage`]): label events with
//! hysteresis, captions, embeddings and snapshots. The model itself (shared with `perceptd
//! classify` / `perceptd embed`) is [`percept_models::vision::ImageModel`].

pub mod caption;
pub mod embedding;
mod events;
pub mod labels;
pub mod payload;
pub mod snapshot;
pub mod stage;

pub use percept_models::vision::{ClipSettings, ImageModel, VisionModel, VisionSettings};
pub use stage::{FrameInfo, StagePolicy, StageSettings, VisionStage};
