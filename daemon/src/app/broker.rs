//! The embedded broker, started when the config names no broker.

use std::net::SocketAddr;

use anyhow::{Context, Result};

/// Starts (once per process) the embedded MQTT broker on 127.0.0.1 and says so in the log.
pub fn start_embedded() -> Result<SocketAddr> {
    let addr = crate::publish::embedded::start_embedded_broker()
        .context("starting the embedded MQTT broker")?;
    tracing::info!(
        "no mqtt.url configured: using the embedded MQTT broker on mqtt://{addr} (subscribe with: mosquitto_sub -h {} -p {} -t '#' -v)",
        addr.ip(),
        addr.port()
    );
    Ok(addr)
}
