//! The device discovery message: this box as one Home Assistant device, with one entity per
//! thing a source or camera publishes. Payloads stay as they are: `value_template`s pick the
//! fields.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::publish::{CameraTopic, Topics};

/// Longest transcript text passed into an event's attributes (HA's recorder drops attributes
/// over 16 KiB).
const MAX_TEXT_CHARS: usize = 4000;

/// What runs, as far as Home Assistant is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The config's `device`.
    pub device: String,
    /// Audio sources, by name.
    pub sources: Vec<String>,
    /// Cameras: name, and whether they publish snapshots.
    pub cameras: Vec<(String, bool)>,
}

/// One discovery message, ready to publish (retained, QoS 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// `{discovery_prefix}/device/{id}/config`.
    pub topic: String,
    /// The JSON document.
    pub payload: Value,
}

impl Announcement {
    /// The announcement of `inventory` for device id `id` (see [`super::device_id`]). Components
    /// in `removed` (id → platform) are announced with only their platform, which tells Home
    /// Assistant to delete those entities.
    pub fn new(
        inventory: &Inventory,
        topics: &Topics,
        discovery_prefix: &str,
        id: &str,
        removed: &BTreeMap<String, String>,
    ) -> Self {
        let version = env!("CARGO_PKG_VERSION");
        let mut components = Builder {
            id,
            device: &inventory.device,
            topics,
            components: Map::new(),
        }
        .build(inventory);
        for (key, platform) in removed {
            if !components.contains_key(key) {
                components.insert(key.clone(), json!({ "platform": platform }));
            }
        }
        let payload = json!({
            "device": {
                "identifiers": [id],
                "name": format!("perceptd {}", inventory.device),
                "manufacturer": "perceptd",
                "model": "perceptd",
                "sw_version": version,
            },
            "origin": {
                "name": "perceptd",
                "sw_version": version,
                "support_url": env!("CARGO_PKG_REPOSITORY"),
            },
            "availability": [{
                "topic": topics.status(),
                "payload_available": "online",
                "payload_not_available": "offline",
            }],
            "qos": 1,
            "components": components,
        });
        Self {
            topic: format!("{discovery_prefix}/device/{id}/config"),
            payload,
        }
    }

    /// Component id → platform, of every live (not removed) component.
    pub fn live_components(&self) -> BTreeMap<String, String> {
        self.payload["components"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, c)| c.as_object().is_some_and(|c| c.len() > 1))
            .filter_map(|(k, c)| Some((k.clone(), c["platform"].as_str()?.to_string())))
            .collect()
    }
}

struct Builder<'a> {
    id: &'a str,
    device: &'a str,
    topics: &'a Topics,
    components: Map<String, Value>,
}

impl Builder<'_> {
    fn build(mut self, inventory: &Inventory) -> Map<String, Value> {
        for source in &inventory.sources {
            self.audio_source(source);
        }
        for (camera, snapshots) in &inventory.cameras {
            self.camera(camera, *snapshots);
        }
        self.diagnostics();
        self.components
    }

    /// Adds component `key` with the keys every entity has.
    fn add(&mut self, key: String, platform: &str, name: String, mut fields: Value) {
        let object = fields.as_object_mut().expect("fields are an object");
        object.insert("platform".into(), platform.into());
        object.insert("name".into(), name.into());
        object.insert("unique_id".into(), format!("{}_{key}", self.id).into());
        object.insert(
            "default_entity_id".into(),
            format!("{platform}.perceptd_{}_{key}", self.device).into(),
        );
        self.components.insert(key, fields);
    }

    fn audio_source(&mut self, source: &str) {
        let transcript = self.topics.transcript(source, true);
        let event_template = format!(
            "{{% set kind = 'suppressed' if value_json.suppressed is defined else \
             ('low_confidence' if value_json.confidence == 'low' else 'final') %}}\
             {{\"event_type\": \"{{{{ kind }}}}\", \
             \"text\": {{{{ value_json.text[:{MAX_TEXT_CHARS}] | to_json }}}}, \
             \"utterance_id\": {{{{ value_json.utterance_id | to_json }}}}, \
             \"language\": {{{{ value_json.language | to_json }}}}, \
             \"confidence\": {{{{ value_json.confidence | to_json }}}}, \
             \"latency_ms\": {{{{ value_json.latency_ms }}}}, \
             \"start\": {{{{ value_json.start | to_json }}}}, \
             \"end\": {{{{ value_json.end | to_json }}}}}}"
        );
        self.add(
            format!("audio_{source}_transcript"),
            "event",
            format!("{source} transcript"),
            json!({
                "state_topic": transcript,
                "event_types": ["final", "low_confidence", "suppressed"],
                "value_template": event_template,
                "icon": "mdi:account-voice",
            }),
        );
        self.add(
            format!("audio_{source}_listening"),
            "switch",
            format!("{source} listening"),
            json!({
                "state_topic": self.topics.listening(source),
                "command_topic": self.topics.listening_set(source),
                "payload_on": "ON",
                "payload_off": "OFF",
                "state_on": "ON",
                "state_off": "OFF",
                "icon": "mdi:microphone",
            }),
        );
        self.add(
            format!("audio_{source}_speaking"),
            "binary_sensor",
            format!("{source} speaking"),
            json!({
                "state_topic": self.topics.speaking(source),
                "payload_on": "ON",
                "payload_off": "OFF",
                "device_class": "sound",
            }),
        );
        self.add(
            format!("audio_{source}_latency"),
            "sensor",
            format!("{source} final latency"),
            json!({
                "state_topic": transcript,
                "value_template": "{{ value_json.latency_ms }}",
                "unit_of_measurement": "ms",
                "device_class": "duration",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            }),
        );
    }

    fn camera(&mut self, camera: &str, snapshots: bool) {
        let labels = self.topics.camera(camera, CameraTopic::Labels);
        self.add(
            format!("camera_{camera}_labels"),
            "event",
            format!("{camera} labels"),
            json!({
                "state_topic": labels,
                "event_types": ["changed"],
                "value_template": "{\"event_type\": \"changed\", \
                    \"entered\": {{ value_json.entered | to_json }}, \
                    \"exited\": {{ value_json.exited | to_json }}, \
                    \"present\": {{ value_json.labels | map(attribute='label') | list | to_json }}, \
                    \"timestamp\": {{ value_json.timestamp | to_json }}}",
                "icon": "mdi:tag-search",
            }),
        );
        self.add(
            format!("camera_{camera}_top_label"),
            "sensor",
            format!("{camera} top label"),
            json!({
                "state_topic": labels,
                "value_template":
                    "{{ (value_json.labels[0].label if value_json.labels else 'none')[:255] }}",
                "json_attributes_topic": labels,
                "json_attributes_template":
                    "{{ {'labels': value_json.labels, 'top': value_json.top} | to_json }}",
            }),
        );
        self.add(
            format!("camera_{camera}_caption"),
            "sensor",
            format!("{camera} caption"),
            json!({
                "state_topic": self.topics.camera(camera, CameraTopic::Caption),
                "value_template": "{{ value_json.caption[:255] }}",
            }),
        );
        if snapshots {
            self.add(
                format!("camera_{camera}_snapshot"),
                "image",
                format!("{camera} snapshot"),
                json!({
                    "image_topic": self.topics.camera(camera, CameraTopic::Snapshot),
                    "content_type": "image/jpeg",
                }),
            );
        }
    }

    fn diagnostics(&mut self) {
        let stats = self.topics.stats();
        for (key, name, field, unit) in [
            (
                "dropped_audio",
                "dropped audio",
                "dropped_audio_ms",
                Some("ms"),
            ),
            (
                "mqtt_dropped",
                "MQTT messages dropped",
                "mqtt_dropped",
                None,
            ),
            (
                "outbox_backlog",
                "messages waiting for the broker",
                "mqtt_queued",
                None,
            ),
        ] {
            let mut fields = json!({
                "state_topic": stats,
                "value_template": format!("{{{{ value_json.{field} }}}}"),
                "entity_category": "diagnostic",
                "state_class": if key == "outbox_backlog" { "measurement" } else { "total_increasing" },
            });
            if let Some(unit) = unit {
                fields["unit_of_measurement"] = unit.into();
                fields["device_class"] = "duration".into();
            }
            self.add(key.into(), "sensor", name.into(), fields);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::homeassistant::required_keys::check;

    fn inventory() -> Inventory {
        Inventory {
            device: "kitchen".into(),
            sources: vec!["mic".into()],
            cameras: vec![("door".into(), true), ("shelf".into(), false)],
        }
    }

    fn announce(removed: &BTreeMap<String, String>) -> Announcement {
        let topics = Topics::new("perceptd", "kitchen");
        Announcement::new(
            &inventory(),
            &topics,
            "homeassistant",
            "perceptd_abc",
            removed,
        )
    }

    #[test]
    fn every_component_has_the_keys_of_the_committed_table() {
        let a = announce(&BTreeMap::new());
        assert_eq!(a.topic, "homeassistant/device/perceptd_abc/config");
        assert_eq!(check(&a.payload), Vec::<String>::new());
        let components = a.payload["components"].as_object().unwrap();
        for key in [
            "audio_mic_transcript",
            "audio_mic_listening",
            "audio_mic_speaking",
            "audio_mic_latency",
            "camera_door_labels",
            "camera_door_snapshot",
            "camera_shelf_caption",
            "dropped_audio",
            "outbox_backlog",
        ] {
            assert!(components.contains_key(key), "{key}");
        }
        assert!(!components.contains_key("camera_shelf_snapshot"));
        assert_eq!(
            components["audio_mic_listening"]["command_topic"],
            "perceptd/kitchen/audio/mic/listening/set"
        );
        assert_eq!(
            a.payload["availability"][0]["topic"],
            "perceptd/kitchen/status"
        );
    }

    #[test]
    fn a_check_finds_a_missing_required_key() {
        let mut a = announce(&BTreeMap::new());
        a.payload["components"]["audio_mic_transcript"]
            .as_object_mut()
            .unwrap()
            .remove("event_types");
        a.payload["components"]["audio_mic_speaking"]["object_id"] = "x".into();
        a.payload.as_object_mut().unwrap().remove("origin");
        let problems = check(&a.payload);
        assert!(
            problems.iter().any(|p| p.contains("event_types")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("object_id")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("origin")),
            "{problems:?}"
        );
    }

    #[test]
    fn removed_components_are_announced_with_only_their_platform() {
        let removed = BTreeMap::from([
            (
                "audio_hall_speaking".to_string(),
                "binary_sensor".to_string(),
            ),
            (
                "audio_mic_speaking".to_string(),
                "binary_sensor".to_string(),
            ),
        ]);
        let a = announce(&removed);
        assert_eq!(
            a.payload["components"]["audio_hall_speaking"],
            json!({"platform": "binary_sensor"})
        );
        assert!(a.payload["components"]["audio_mic_speaking"]["state_topic"].is_string());
        assert!(!a.live_components().contains_key("audio_hall_speaking"));
        assert_eq!(check(&a.payload), Vec::<String>::new());
    }
}
