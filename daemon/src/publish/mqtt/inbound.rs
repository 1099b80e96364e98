//! What perceptd receives over MQTT: the driver subscribes to a fixed set of topic filters after
//! every ConnAck (rumqttc does not resubscribe) and hands what arrives, with each new connection,
//! to whoever listens (`app::control`).

use tokio::sync::mpsc;

/// Largest payload handed on; bigger ones (a command is a few bytes, HA's birth message six) are
/// dropped with one warning.
pub const MAX_INBOUND_PAYLOAD_BYTES: usize = 4096;
/// Inbound events buffered for the listener; beyond that they are dropped with a warning.
pub const INBOUND_CAPACITY: usize = 64;

/// One thing the listener hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A ConnAck: the subscriptions were just requested; announce what a fresh connection needs.
    Connected,
    /// A message on a subscribed topic.
    Message {
        /// The topic it was published to.
        topic: String,
        /// Its payload (at most [`MAX_INBOUND_PAYLOAD_BYTES`]).
        payload: Vec<u8>,
        /// Whether the broker replayed it as the topic's retained message.
        retained: bool,
    },
}

/// The topic filters to subscribe to and where to send what arrives.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    /// Topic filters, subscribed at QoS 1.
    pub filters: Vec<String>,
    /// The listener.
    pub tx: mpsc::Sender<Inbound>,
}

impl Subscriptions {
    /// A listener's channel for `filters`.
    pub fn channel(filters: Vec<String>) -> (Self, mpsc::Receiver<Inbound>) {
        let (tx, rx) = mpsc::channel(INBOUND_CAPACITY);
        (Self { filters, tx }, rx)
    }

    /// Hands `event` on without waiting; a full or closed listener loses it, with one warning.
    pub(crate) fn deliver(&self, event: Inbound) {
        if let Inbound::Message { topic, payload, .. } = &event
            && payload.len() > MAX_INBOUND_PAYLOAD_BYTES
        {
            tracing::warn!(
                topic,
                bytes = payload.len(),
                "mqtt: ignoring an inbound message larger than {MAX_INBOUND_PAYLOAD_BYTES} bytes"
            );
            return;
        }
        if let Err(e) = self.tx.try_send(event) {
            tracing::warn!("mqtt: inbound message not handled (listener busy or gone): {e}");
        }
    }
}
