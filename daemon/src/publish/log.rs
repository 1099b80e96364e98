//! A publisher that logs every message (topic and payload) before handing it on: the demo's
//! "watch transcripts scroll by".

use super::{Message, MessageKind, PublishError, Publisher};

/// Logs each message at info level, then forwards it to `inner`.
#[derive(Debug, Clone)]
pub struct LoggingPublisher<P> {
    inner: P,
}

impl<P: Publisher> LoggingPublisher<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: Publisher> Publisher for LoggingPublisher<P> {
    fn try_publish(&self, msg: Message) -> Result<(), PublishError> {
        self.logged(msg, |m| self.inner.try_publish(m))
    }

    fn publish_wait(&self, msg: Message) -> Result<(), PublishError> {
        self.logged(msg, |m| self.inner.publish_wait(m))
    }
}

impl<P: Publisher> LoggingPublisher<P> {
    /// Hands `msg` on with `send` and logs the outcome.
    fn logged(
        &self,
        msg: Message,
        send: impl FnOnce(Message) -> Result<(), PublishError>,
    ) -> Result<(), PublishError> {
        let topic = msg.topic.clone();
        let payload = match msg.kind {
            // Long base64 or binary: the size says enough.
            MessageKind::Embedding | MessageKind::Snapshot => {
                format!("<{} bytes>", msg.payload.len())
            }
            _ => String::from_utf8_lossy(&msg.payload).into_owned(),
        };
        let result = send(msg);
        match &result {
            Ok(()) => tracing::info!(target: "perceptd::published", "{topic} {payload}"),
            Err(e) => {
                tracing::warn!(target: "perceptd::published", error = %e, "{topic} not published")
            }
        }
        result
    }
}
