//! Publishing results: the [`Publisher`] seam that pipeline stages call from plain threads, the MQTT
//! implementation behind it ([`mqtt`]), and the broker perceptd embeds when none is configured
//! ([`embedded`]).

pub mod embedded;
pub mod log;
pub mod mqtt;
pub mod topics;

pub use embedded::{EmbeddedBrokerError, start_embedded_broker};
pub use log::LoggingPublisher;
pub use topics::{CameraTopic, Topics};

use serde::{Deserialize, Serialize};

/// MQTT delivery guarantee of one message. Config files write it as the integer `0` or `1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Qos {
    /// QoS 0: sent once, lost if the connection is down (partials).
    AtMostOnce,
    /// QoS 1: kept until the broker acknowledges it; may arrive twice, never lost while queued
    /// (finals, status).
    AtLeastOnce,
}

impl TryFrom<u8> for Qos {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Qos::AtMostOnce),
            1 => Ok(Qos::AtLeastOnce),
            other => Err(format!("qos must be 0 or 1, got {other}")),
        }
    }
}

impl From<Qos> for u8 {
    fn from(qos: Qos) -> u8 {
        match qos {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
        }
    }
}

/// What a message carries; publishers may treat kinds differently (logging, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A finished transcript of one utterance.
    Final,
    /// A provisional transcript that a later partial or the final replaces.
    Partial,
    /// Availability or other state of the daemon.
    Status,
    /// Periodic counters.
    Stats,
    /// A camera's label event or caption (small JSON).
    Labels,
    /// An embedding envelope (JSON with a base64 vector).
    Embedding,
    /// A JPEG thumbnail (binary).
    Snapshot,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Full topic name (no wildcards).
    pub topic: String,
    /// The bytes to send (UTF-8 JSON for perceptd's own messages).
    pub payload: Vec<u8>,
    /// Delivery guarantee.
    pub qos: Qos,
    /// Whether the broker keeps it as the topic's last known value.
    pub retain: bool,
    /// What it carries.
    pub kind: MessageKind,
}

/// Where stages hand their messages. Both methods are called from plain std threads
/// (inference, capture, vision), never from async code.
pub trait Publisher: Send + Sync {
    /// Queues `msg` for sending without blocking, or gives it back in the error when it cannot
    /// be queued.
    fn try_publish(&self, msg: Message) -> Result<(), PublishError>;

    /// Queues `msg`, blocking while the hand-off queue is full (finals are never skipped);
    /// fails only when `msg` can never be queued (closed, too large, bad topic).
    fn publish_wait(&self, msg: Message) -> Result<(), PublishError>;
}

/// Why a message was not queued; the message comes back in every variant.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The hand-off queue is full (the publisher is behind); try later or drop.
    #[error("publish queue is full; message for topic {} not queued", .0.topic)]
    Full(Message),
    /// The publisher has shut down.
    #[error("publisher is closed; message for topic {} not queued", .0.topic)]
    Closed(Message),
    /// The payload is larger than the configured maximum.
    #[error(
        "payload for topic {} is {} bytes; max_payload_bytes is {max_bytes}",
        .message.topic, .message.payload.len()
    )]
    TooLarge {
        /// The rejected message.
        message: Message,
        /// The configured limit.
        max_bytes: usize,
    },
    /// The topic cannot be published to (empty, wildcards, NUL, or longer than 65535 bytes).
    #[error("topic {:?} is not publishable: {reason}", .message.topic)]
    InvalidTopic {
        /// The rejected message.
        message: Message,
        /// The rule the topic breaks.
        reason: &'static str,
    },
}

impl PublishError {
    /// The message that was not queued.
    pub fn into_message(self) -> Message {
        match self {
            PublishError::Full(m) | PublishError::Closed(m) => m,
            PublishError::TooLarge { message, .. } | PublishError::InvalidTopic { message, .. } => {
                message
            }
        }
    }
}

/// Why `topic` cannot be published to, if it cannot (MQTT 3.1.1 §4.7).
pub fn topic_problem(topic: &str) -> Option<&'static str> {
    if topic.is_empty() {
        Some("a topic must not be empty")
    } else if topic.contains(['+', '#']) {
        Some("a topic to publish to must not contain the wildcards '+' or '#'")
    } else if topic.contains('\0') {
        Some("a topic must not contain NUL")
    } else if topic.len() > usize::from(u16::MAX) {
        Some("a topic must be at most 65535 bytes")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Wrapper {
        qos: Qos,
    }

    #[test]
    fn qos_deserializes_from_the_integers_zero_and_one_only() {
        let zero: Wrapper = serde_json::from_str(r#"{"qos": 0}"#).unwrap();
        let one: Wrapper = serde_json::from_str(r#"{"qos": 1}"#).unwrap();
        assert_eq!(zero.qos, Qos::AtMostOnce);
        assert_eq!(one.qos, Qos::AtLeastOnce);
        let two = serde_json::from_str::<Wrapper>(r#"{"qos": 2}"#)
            .err()
            .unwrap();
        assert!(
            two.to_string().contains("qos must be 0 or 1, got 2"),
            "{two}"
        );
        assert!(serde_json::from_str::<Wrapper>(r#"{"qos": "1"}"#).is_err());
    }

    #[test]
    fn qos_serializes_as_an_integer() {
        assert_eq!(serde_json::to_string(&Qos::AtLeastOnce).unwrap(), "1");
        assert_eq!(serde_json::to_string(&Qos::AtMostOnce).unwrap(), "0");
    }

    #[test]
    fn publish_errors_give_the_message_back_and_name_the_topic() {
        let msg = Message {
            topic: "a/b".into(),
            payload: vec![0; 10],
            qos: Qos::AtLeastOnce,
            retain: false,
            kind: MessageKind::Final,
        };
        let err = PublishError::TooLarge {
            message: msg.clone(),
            max_bytes: 4,
        };
        assert_eq!(
            err.to_string(),
            "payload for topic a/b is 10 bytes; max_payload_bytes is 4"
        );
        assert_eq!(err.into_message(), msg);
        assert!(PublishError::Full(msg.clone()).to_string().contains("a/b"));
    }

    #[test]
    fn topics_with_wildcards_or_nothing_are_not_publishable() {
        assert!(topic_problem("perceptd/kitchen/final").is_none());
        assert!(topic_problem("").is_some());
        assert!(topic_problem("a/+/b").is_some());
        assert!(topic_problem("a/#").is_some());
        assert!(topic_problem("a\0b").is_some());
        assert!(topic_problem(&"x".repeat(65_536)).is_some());
    }
}
