//! MQTT publishing with rumqttc: [`MqttPublisher`] (the handle stages call) and [`MqttDriver`] (the
//! task that owns the connection, reconnects with [`crate::backoff::Backoff::broker_reconnect`], announces availability on
//! `{topic_prefix}/{device}/status`, and keeps QoS 1 messages across outages). What to hand to
//! the client on each event is decided by the I/O-free `state::PublishState`, tested without a
//! broker.
//!
//! ```text
//! stage threads --try_publish--> [hand-off channel, HANDOFF_CAPACITY]
//!     --> driver: [memory queue, offline_queue_max] --window of CLIENT_WINDOW--> rumqttc --> broker
//!                  |  finals, label events, captions: written ahead, read back when spilled
//!                  +--> [durable outbox, {state_dir}/outbox, outbox_max_bytes]
//! ```

pub mod config;
pub mod credentials;
pub mod driver;
mod events;
mod failure;
pub mod inbound;
mod inflight;
mod journal;
mod memory_queue;
pub mod publisher;
mod state;

pub use config::{BrokerAddr, BrokerUrlError, MqttConfig, device_name_problem};
pub use driver::MqttDriver;
pub use inbound::{Inbound, Subscriptions};
pub use publisher::MqttPublisher;
