//! The cheap, cloneable handle stages publish through; the [`super::MqttDriver`] does the sending.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::events::Refused;
use crate::health::Metrics;
use crate::publish::{Message, PublishError, Publisher, topic_problem};

/// How many messages may wait between `try_publish` and the driver; beyond this `try_publish`
/// answers `Full`. The driver moves them into its offline queue as soon as it runs.
pub const HANDOFF_CAPACITY: usize = 256;

/// Handle to an MQTT connection; clone it into every stage. Created with
/// [`MqttPublisher::new`](super::MqttPublisher::new) together with the driver that owns the connection.
#[derive(Debug, Clone)]
pub struct MqttPublisher {
    pub(super) tx: mpsc::Sender<Message>,
    pub(super) max_payload_bytes: usize,
    pub(super) metrics: Arc<Metrics>,
}

impl Publisher for MqttPublisher {
    /// Never blocks. Oversized payloads and unpublishable topics are refused here (logged once each
    /// and counted in `mqtt_dropped`) so that they can never poison the connection.
    fn try_publish(&self, msg: Message) -> Result<(), PublishError> {
        let msg = self.check(msg)?;
        self.tx.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(m) => PublishError::Full(m),
            mpsc::error::TrySendError::Closed(m) => PublishError::Closed(m),
        })
    }

    /// Blocks the calling std thread while the hand-off channel is full (must not be called on
    /// a tokio runtime thread).
    fn publish_wait(&self, msg: Message) -> Result<(), PublishError> {
        let msg = self.check(msg)?;
        self.tx
            .blocking_send(msg)
            .map_err(|mpsc::error::SendError(m)| PublishError::Closed(m))
    }
}

impl MqttPublisher {
    /// Refuses what could poison the connection: an oversized payload or an unpublishable topic.
    fn check(&self, msg: Message) -> Result<Message, PublishError> {
        if msg.payload.len() > self.max_payload_bytes {
            let err = PublishError::TooLarge {
                message: msg,
                max_bytes: self.max_payload_bytes,
            };
            Refused { error: &err }.emit(&self.metrics);
            return Err(err);
        }
        if let Some(reason) = topic_problem(&msg.topic) {
            let err = PublishError::InvalidTopic {
                message: msg,
                reason,
            };
            Refused { error: &err }.emit(&self.metrics);
            return Err(err);
        }
        Ok(msg)
    }
}
