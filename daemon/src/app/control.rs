//! What perceptd does with what it hears over MQTT: after every connection it announces itself
//! to Home Assistant (retained discovery) and the state of every listening switch; it announces
//! again 1–5 s after Home Assistant's `online` birth message (never an event topic: a live
//! re-publish would fire HA's events again); and it pauses and resumes sources on
//! `{prefix}/{device}/audio/{source}/listening/set`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::Config;
use crate::homeassistant::identity::read_machine_id;
use crate::homeassistant::{Announcement, Inventory, announced, device_id};
use crate::pipeline::ListeningSwitch;
use crate::pipeline::listening::parse_command;
use crate::publish::mqtt::Inbound;
use crate::publish::{Message, MessageKind, Publisher, Qos, Topics};
use crate::shutdown::Shutdown;

/// The re-announcement after Home Assistant's birth message waits this long at least…
const REANNOUNCE_MIN: Duration = Duration::from_secs(1);
/// …plus up to this much more, so that many devices do not answer at the same instant.
const REANNOUNCE_JITTER_MS: u64 = 4000;

/// The topic filters the control task needs (subscribed after every ConnAck).
pub fn filters(config: &Config, topics: &Topics) -> Vec<String> {
    let mut filters = vec![topics.listening_set("+")];
    if config.homeassistant.enabled {
        filters.push(ha_status_topic(config));
    }
    filters
}

fn ha_status_topic(config: &Config) -> String {
    format!("{}/status", config.homeassistant.discovery_prefix)
}

/// Home Assistant's part of the control task: the announcement and where removals are kept.
struct Discovery {
    announcement: Announcement,
    status_topic: String,
    /// The file of the components announced last; `None` after the first announcement of this
    /// run has saved it.
    save_to: Option<PathBuf>,
}

/// The running control task's state.
struct Control {
    publisher: Arc<dyn Publisher>,
    topics: Topics,
    switches: Vec<ListeningSwitch>,
    discovery: Option<Discovery>,
    reannounce_at: Option<Instant>,
}

/// Starts the control task for the running `inventory`; it ends at `shutdown` or when the
/// driver is gone.
pub fn spawn(
    config: &Config,
    topics: &Topics,
    publisher: Arc<dyn Publisher>,
    inventory: &Inventory,
    switches: Vec<ListeningSwitch>,
    inbound: mpsc::Receiver<Inbound>,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    let discovery = config.homeassistant.enabled.then(|| {
        let instance = config
            .homeassistant
            .instance
            .clone()
            .unwrap_or_else(|| config.device.clone());
        let id = device_id(read_machine_id().as_deref(), &instance);
        let prefix = &config.homeassistant.discovery_prefix;
        let file = announced::file(&config.state_dir);
        let current = Announcement::new(inventory, topics, prefix, &id, &BTreeMap::new());
        let removed = announced::removed(&announced::load(&file), &current.live_components());
        if !removed.is_empty() {
            tracing::info!(
                components = ?removed.keys().collect::<Vec<_>>(),
                "homeassistant: removing the entities of sources and cameras no longer configured"
            );
        }
        Discovery {
            announcement: Announcement::new(inventory, topics, prefix, &id, &removed),
            status_topic: ha_status_topic(config),
            save_to: Some(file),
        }
    });
    let control = Control {
        publisher,
        topics: topics.clone(),
        switches,
        discovery,
        reannounce_at: None,
    };
    tokio::spawn(control.run(inbound, shutdown))
}

impl Control {
    async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, shutdown: Shutdown) {
        loop {
            let reannounce = sleep_until(self.reannounce_at);
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = reannounce => {
                    self.reannounce_at = None;
                    self.announce();
                }
                event = inbound.recv() => match event {
                    None => return,
                    Some(Inbound::Connected) => self.announce(),
                    Some(Inbound::Message { topic, payload, .. }) => self.on_message(&topic, &payload),
                },
            }
        }
    }

    /// Discovery (when enabled) and every switch's state, retained.
    fn announce(&mut self) {
        if let Some(discovery) = &mut self.discovery {
            let a = &discovery.announcement;
            let payload = serde_json::to_vec(&a.payload).expect("JSON values serialize");
            if publish_retained(&*self.publisher, &a.topic, payload) {
                tracing::debug!(topic = %a.topic, "homeassistant: discovery announced");
                if let Some(file) = discovery.save_to.take() {
                    announced::save(&file, &a.live_components());
                }
            }
        }
        for switch in &self.switches {
            self.publish_switch(switch);
        }
    }

    fn publish_switch(&self, switch: &ListeningSwitch) {
        let topic = self.topics.listening(switch.source());
        publish_retained(&*self.publisher, &topic, switch.state_payload().into());
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        if let Some(discovery) = &self.discovery
            && topic == discovery.status_topic
        {
            if trimmed(payload) == "online" && self.reannounce_at.is_none() {
                let delay = REANNOUNCE_MIN + Duration::from_millis(jitter_ms());
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "homeassistant: Home Assistant came online; announcing again"
                );
                self.reannounce_at = Some(Instant::now() + delay);
            }
            return;
        }
        let Some(source) = self.switch_source(topic) else {
            tracing::warn!(topic, "mqtt: ignoring a message on a topic nothing handles");
            return;
        };
        let Some(switch) = self.switches.iter().find(|s| s.source() == source) else {
            tracing::warn!(
                topic,
                "mqtt: ignoring a listening command: there is no audio source {source:?}"
            );
            return;
        };
        match parse_command(payload) {
            Some(listening) => {
                switch.set(listening);
                self.publish_switch(switch);
            }
            None => tracing::warn!(
                topic,
                payload = %String::from_utf8_lossy(&payload[..payload.len().min(64)]),
                "mqtt: ignoring a listening command: expected ON or OFF"
            ),
        }
    }

    /// The source named in a `…/audio/{source}/listening/set` topic.
    fn switch_source<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let pattern = self.topics.listening_set("\u{0}");
        let (head, tail) = pattern.split_once('\u{0}')?;
        topic.strip_prefix(head)?.strip_suffix(tail)
    }
}

/// Queues a retained QoS 1 message; false (with one warning) when it could not be queued.
fn publish_retained(publisher: &dyn Publisher, topic: &str, payload: Vec<u8>) -> bool {
    let result = publisher.try_publish(Message {
        topic: topic.to_string(),
        payload,
        qos: Qos::AtLeastOnce,
        retain: true,
        kind: MessageKind::Status,
    });
    if let Err(e) = &result {
        tracing::warn!("mqtt: {e}");
    }
    result.is_ok()
}

fn trimmed(payload: &[u8]) -> &str {
    std::str::from_utf8(payload).map_or("", str::trim)
}

fn jitter_ms() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % REANNOUNCE_JITTER_MS
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
