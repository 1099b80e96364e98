//! What the vision stage reports, as small structs whose `emit` logs and counts in one call.

use std::fmt::Display;

use crate::health::{Counter, Metrics};
use crate::publish::PublishError;

/// The model failed on a frame; the next frame is tried as usual.
pub(crate) struct FrameNotAnalysed<'a> {
    pub(crate) source: &'a str,
    pub(crate) seq: u64,
    /// Logged with `{:#}` (an `anyhow` error with its causes).
    pub(crate) error: &'a dyn Display,
}

impl FrameNotAnalysed<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::FrameErrors);
        tracing::warn!(
            source = self.source,
            seq = self.seq,
            "frame not analysed: {:#}",
            self.error
        );
    }
}

/// The publisher did not take a vision message.
pub(crate) struct MessageNotQueued<'a> {
    pub(crate) error: &'a PublishError,
}

impl MessageNotQueued<'_> {
    /// Counts in `MqttDropped` unless the publisher refused the message itself (too large, bad
    /// topic: it counted it already); logs at warn either way.
    pub(crate) fn emit(&self, metrics: &Metrics) {
        if !matches!(
            self.error,
            PublishError::TooLarge { .. } | PublishError::InvalidTopic { .. }
        ) {
            metrics.incr(Counter::MqttDropped);
        }
        tracing::warn!("vision message not queued: {}", self.error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{Message, MessageKind, Qos};

    fn message() -> Message {
        Message {
            topic: "perceptd/dev/camera/cam/labels".into(),
            payload: vec![0; 8],
            qos: Qos::AtLeastOnce,
            retain: false,
            kind: MessageKind::Labels,
        }
    }

    #[test]
    fn a_message_the_publisher_refused_itself_is_not_counted_again() {
        let metrics = Metrics::new();
        let refused = [
            PublishError::TooLarge {
                message: message(),
                max_bytes: 4,
            },
            PublishError::InvalidTopic {
                message: message(),
                reason: "wildcards",
            },
        ];
        for error in &refused {
            MessageNotQueued { error }.emit(&metrics);
        }
        assert_eq!(metrics.get(Counter::MqttDropped), 0);
        for error in [
            PublishError::Full(message()),
            PublishError::Closed(message()),
        ] {
            MessageNotQueued { error: &error }.emit(&metrics);
        }
        assert_eq!(metrics.get(Counter::MqttDropped), 2);
    }
}
