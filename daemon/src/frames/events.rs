//! What frame sources report, as small structs whose `emit` logs and counts in one call.

use std::fmt::Display;

use crate::health::{Counter, Metrics};

/// A frame could not be read or decoded; the source carries on.
pub(crate) struct FrameSkipped<'a> {
    pub(crate) source: &'a str,
    /// What was being read: a path, a frame number.
    pub(crate) item: &'a str,
    pub(crate) error: &'a dyn Display,
}

impl FrameSkipped<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::FrameErrors);
        tracing::warn!(
            source = %self.source,
            item = self.item,
            "frame skipped: {}",
            self.error
        );
    }
}
