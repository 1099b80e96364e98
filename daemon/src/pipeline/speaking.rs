//! The `speaking` state of one audio source: `ON` while the endpointer holds an utterance open,
//! `OFF` otherwise, retained on `{prefix}/{device}/audio/{source}/speaking` (Home Assistant's
//! binary sensor). Published only on a change.

use std::sync::Arc;

use crate::publish::{Message, MessageKind, Publisher, Qos};

/// Publishes a source's speaking state when it changes.
pub struct SpeakingReporter {
    topic: String,
    publisher: Arc<dyn Publisher>,
    last: Option<bool>,
}

impl SpeakingReporter {
    /// A reporter for `topic`; nothing is published until the first [`update`](Self::update).
    pub fn new(topic: String, publisher: Arc<dyn Publisher>) -> Self {
        Self {
            topic,
            publisher,
            last: None,
        }
    }

    /// Publishes `ON`/`OFF` (retained, QoS 1) if `speaking` differs from what was last sent.
    /// A full hand-off queue skips the update; the next change is sent.
    pub fn update(&mut self, speaking: bool) {
        if self.last == Some(speaking) {
            return;
        }
        let payload = if speaking { "ON" } else { "OFF" };
        let sent = self.publisher.try_publish(Message {
            topic: self.topic.clone(),
            payload: payload.into(),
            qos: Qos::AtLeastOnce,
            retain: true,
            kind: MessageKind::Status,
        });
        if sent.is_ok() {
            self.last = Some(speaking);
        }
    }
}
