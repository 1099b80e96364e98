//! What happens to the MQTT connection and its messages, as small structs whose `emit` logs and counts in one call.

use std::fmt::Display;
use std::time::Duration;

use crate::health::{Counter, Gauge, Metrics};
use crate::publish::PublishError;

/// Consecutive failures logged at warn before the rest go to debug (one warn per this many after).
const WARN_FIRST_FAILURES: u64 = 3;
const WARN_EVERY_NTH_FAILURE: u64 = 50;

/// A connection attempt starts.
pub(crate) struct ConnectAttempt<'a> {
    pub(crate) broker: &'a str,
    pub(crate) consecutive: u64,
}

impl ConnectAttempt<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::MqttConnectAttempts);
        tracing::debug!(
            broker = self.broker,
            attempt = self.consecutive,
            "mqtt connecting"
        );
    }
}

/// The broker accepted us (ConnAck).
pub(crate) struct Connected<'a> {
    pub(crate) broker: &'a str,
    pub(crate) failed_attempts: u64,
    pub(crate) queued: usize,
}

impl Connected<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::MqttConnected);
        metrics.set_gauge(Gauge::MqttBrokerConnected, 1);
        tracing::info!(
            broker = self.broker,
            failed_attempts = self.failed_attempts,
            queued = self.queued,
            "mqtt connected"
        );
    }
}

/// A connection attempt failed; the next one follows after `retry_in`.
pub(crate) struct ConnectFailed<'a, E: Display> {
    pub(crate) broker: &'a str,
    pub(crate) consecutive: u64,
    pub(crate) reason: &'a E,
    pub(crate) retry_in: Duration,
}

impl<E: Display> ConnectFailed<'_, E> {
    pub(crate) fn emit(&self) {
        let loud = self.consecutive <= WARN_FIRST_FAILURES
            || self.consecutive.is_multiple_of(WARN_EVERY_NTH_FAILURE);
        let retry_in_ms = self.retry_in.as_millis() as u64;
        if loud {
            tracing::warn!(
                broker = self.broker,
                attempt = self.consecutive,
                retry_in_ms,
                "mqtt connect failed: {}{}",
                self.reason,
                if self.consecutive == WARN_FIRST_FAILURES {
                    " (further failures are logged at debug)"
                } else {
                    ""
                }
            );
        } else {
            tracing::debug!(
                broker = self.broker,
                attempt = self.consecutive,
                retry_in_ms,
                "mqtt connect failed: {}",
                self.reason
            );
        }
    }
}

/// An established connection broke.
pub(crate) struct ConnectionLost<'a, E: Display> {
    pub(crate) broker: &'a str,
    pub(crate) reason: &'a E,
    pub(crate) requeued: usize,
    pub(crate) retry_in: Duration,
}

impl<E: Display> ConnectionLost<'_, E> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::MqttDisconnects);
        metrics.set_gauge(Gauge::MqttBrokerConnected, 0);
        tracing::warn!(
            broker = self.broker,
            requeued = self.requeued,
            retry_in_ms = self.retry_in.as_millis() as u64,
            "mqtt connection lost: {}",
            self.reason
        );
    }
}

/// Messages were dropped by the publisher.
pub(crate) struct Dropped {
    pub(crate) count: usize,
    pub(crate) why: &'static str,
}

impl Dropped {
    /// Counts; logs at debug (drops while offline are expected and can be frequent).
    pub(crate) fn emit(&self, metrics: &Metrics) {
        if self.count > 0 {
            metrics.add(Counter::MqttDropped, self.count as u64);
            tracing::debug!(count = self.count, "mqtt messages dropped: {}", self.why);
        }
    }

    /// Counts; logs at warn (for drops worth a line, like messages unsent at shutdown).
    pub(crate) fn emit_warn(&self, metrics: &Metrics) {
        if self.count > 0 {
            metrics.add(Counter::MqttDropped, self.count as u64);
            tracing::warn!(count = self.count, "mqtt messages dropped: {}", self.why);
        }
    }
}

/// The publisher refused a message that could poison the connection (oversized payload,
/// unpublishable topic).
pub(crate) struct Refused<'a> {
    pub(crate) error: &'a PublishError,
}

impl Refused<'_> {
    pub(crate) fn emit(&self, metrics: &Metrics) {
        metrics.incr(Counter::MqttDropped);
        tracing::warn!("mqtt message refused: {}", self.error);
    }
}

/// The rumqttc client refused a message handed to it (not expected).
pub(crate) struct ClientRefused<'a> {
    pub(crate) topic: &'a str,
    pub(crate) reason: &'a dyn Display,
}

impl ClientRefused<'_> {
    /// Logs at error, then counts the message as [`Dropped`] (which logs at debug).
    pub(crate) fn emit(&self, metrics: &Metrics) {
        tracing::error!(
            topic = self.topic,
            "mqtt client refused a message: {}",
            self.reason
        );
        Dropped {
            count: 1,
            why: "refused by the MQTT client",
        }
        .emit(metrics);
    }
}
