//! `[homeassistant]`.

use serde::Deserialize;

/// `[homeassistant]`: MQTT discovery for Home Assistant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeAssistantConfig {
    /// Announce this box and its entities to Home Assistant (MQTT discovery, retained), and
    /// announce again when Home Assistant comes online. Default: true.
    #[serde(default = "defaults::enabled")]
    pub enabled: bool,
    /// Home Assistant's discovery prefix (its MQTT integration's setting). Default:
    /// `homeassistant`.
    #[serde(default = "defaults::discovery_prefix")]
    pub discovery_prefix: String,
    /// What tells this perceptd apart from others on the same host in Home Assistant's device
    /// id (a hash of /etc/machine-id and this). Default: the config's `device`. Set it to the
    /// old name before renaming `device` to keep the same Home Assistant device and entity ids.
    pub instance: Option<String>,
}

impl Default for HomeAssistantConfig {
    fn default() -> Self {
        toml::from_str("").expect("every HomeAssistantConfig field has a default")
    }
}

mod defaults {
    pub fn enabled() -> bool {
        true
    }
    pub fn discovery_prefix() -> String {
        "homeassistant".into()
    }
}
