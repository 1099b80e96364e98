//! Home Assistant MQTT discovery, device-based: one retained message on
//! `{discovery_prefix}/device/{id}/config` describes this box and every entity of its sources and
//! cameras (docs/homeassistant.md). What is announced ([`discovery`]), the stable device id
//! ([`identity`]), the components removed since the last run ([`announced`]), and the keys
//! Home Assistant requires per platform ([`required_keys`]).

pub mod announced;
pub mod config;
pub mod discovery;
pub mod identity;
pub mod required_keys;

pub use config::HomeAssistantConfig;
pub use discovery::{Announcement, Inventory};
pub use identity::device_id;
