//! The periodic stats message: every counter as JSON on `{prefix}/{device}/stats`.

use std::sync::Arc;
use std::time::Duration;

use crate::health::Metrics;
use crate::publish::{Message, MessageKind, Publisher, Qos, Topics};
use crate::shutdown::Shutdown;

/// Publishes the counters every `interval_secs` (0: never) until `shutdown`.
pub fn spawn(
    publisher: Arc<dyn Publisher>,
    metrics: Arc<Metrics>,
    topics: &Topics,
    interval_secs: u64,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    let topic = topics.stats();
    tokio::spawn(async move {
        if interval_secs == 0 {
            return;
        }
        let mut ticker = tokio::time::interval(Duration::from_secs(interval_secs));
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let payload = match serde_json::to_vec(&metrics.snapshot()) {
                Ok(p) => p,
                Err(_) => continue,
            };
            let _ = publisher.try_publish(Message {
                topic: topic.clone(),
                payload,
                qos: Qos::AtMostOnce,
                retain: false,
                kind: MessageKind::Stats,
            });
        }
    })
}
