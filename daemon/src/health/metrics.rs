//! Process-wide counters, cheap to bump from any thread (atomics; no lock on the hot path).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every counter perceptd keeps. The name (snake_case) is what logs and the stats message show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    /// Audio samples (16 kHz) received from sources.
    AudioSamplesIn,
    /// Device overruns: capture callbacks whose samples did not fit the ring buffer.
    AudioOverruns,
    /// Milliseconds of audio dropped anywhere (ring overrun, load shedding).
    DroppedAudioMs,
    /// Times a source failed and was restarted.
    SourceRestarts,
    /// Utterances that reached a final.
    UtterancesFinal,
    /// Partials published.
    PartialsPublished,
    /// Partials skipped because inference was behind.
    PartialsSkipped,
    /// Finals discarded as silence or hallucination by the guards.
    FinalsSuppressed,
    /// Attempts to connect to the MQTT broker.
    MqttConnectAttempts,
    /// ConnAcks received.
    MqttConnected,
    /// Connections lost.
    MqttDisconnects,
    /// Messages handed to the MQTT client.
    MqttPublished,
    /// Messages the MQTT publisher dropped: offline queue full (oldest dropped), QoS 0 while
    /// disconnected or lost with a connection, oversized or unpublishable, or unsent at shutdown.
    MqttDropped,
}

impl Counter {
    /// All counters, in display order.
    pub const ALL: [Counter; 13] = [
        Counter::AudioSamplesIn,
        Counter::AudioOverruns,
        Counter::DroppedAudioMs,
        Counter::SourceRestarts,
        Counter::UtterancesFinal,
        Counter::PartialsPublished,
        Counter::PartialsSkipped,
        Counter::FinalsSuppressed,
        Counter::MqttConnectAttempts,
        Counter::MqttConnected,
        Counter::MqttDisconnects,
        Counter::MqttPublished,
        Counter::MqttDropped,
    ];

    /// The snake_case name used in logs and the stats message.
    pub fn name(self) -> &'static str {
        match self {
            Counter::AudioSamplesIn => "audio_samples_in",
            Counter::AudioOverruns => "audio_overruns",
            Counter::DroppedAudioMs => "dropped_audio_ms",
            Counter::SourceRestarts => "source_restarts",
            Counter::UtterancesFinal => "utterances_final",
            Counter::PartialsPublished => "partials_published",
            Counter::PartialsSkipped => "partials_skipped",
            Counter::FinalsSuppressed => "finals_suppressed",
            Counter::MqttConnectAttempts => "mqtt_connect_attempts",
            Counter::MqttConnected => "mqtt_connected",
            Counter::MqttDisconnects => "mqtt_disconnects",
            Counter::MqttPublished => "mqtt_published",
            Counter::MqttDropped => "mqtt_dropped",
        }
    }
}

/// Shared counters; clone the `Arc` into every stage.
#[derive(Debug, Default)]
pub struct Metrics {
    values: [AtomicU64; Counter::ALL.len()],
}

impl Metrics {
    /// Fresh counters, all zero, shareable.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds `by` to a counter.
    pub fn add(&self, counter: Counter, by: u64) {
        self.values[counter as usize].fetch_add(by, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// A counter's value.
    pub fn get(&self, counter: Counter) -> u64 {
        self.values[counter as usize].load(Ordering::Relaxed)
    }

    /// Every counter by name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        Counter::ALL
            .iter()
            .map(|&c| (c.name(), self.get(c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_independent_and_named() {
        let metrics = Metrics::new();
        metrics.incr(Counter::MqttConnectAttempts);
        metrics.add(Counter::DroppedAudioMs, 250);
        assert_eq!(metrics.get(Counter::MqttConnectAttempts), 1);
        assert_eq!(metrics.get(Counter::DroppedAudioMs), 250);
        assert_eq!(metrics.get(Counter::MqttConnected), 0);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.len(), Counter::ALL.len());
        assert_eq!(snapshot["dropped_audio_ms"], 250);
    }

    #[test]
    fn all_lists_every_counter_at_its_index() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }
}
