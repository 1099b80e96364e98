//! The MQTT broker perceptd embeds (rumqttd) when no broker URL is configured, and the simplest
//! broker for tests.
//!
//! Started at most once per process, on 127.0.0.1 at a free port. rumqttd has no shutdown API:
//! the broker lives until the process exits.
//!
//! Logs (seen with rumqttd 0.20.0): per connection, `rumqttd::server::broker` logs `accept` and
//! `disconnected` at INFO (ERROR for other connection errors) and
//! `rumqttd::router::routing` logs `Client connection registered` / `Adding subscription` /
//! `Disconnecting connection` at INFO plus `no-connection id N is already gone` at **ERROR after
//! every clean DISCONNECT**; `rumqttd::link::remote` logs at DEBUG/TRACE. So `rumqttd=warn` is not
//! enough: use [`EMBEDDED_BROKER_LOG_DIRECTIVE`] (`rumqttd=off`). Nothing is lost that perceptd
//! needs: a broker that fails to bind is reported by [`start_embedded_broker`] itself. The finer
//! alternative `rumqttd=warn,rumqttd::router::routing=off` keeps rumqttd's remaining warnings but
//! still shows an ERROR line for every client that drops its connection without DISCONNECT.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::publish::mqtt::driver::PUBLISH_OVERHEAD_BYTES;

/// Largest payload the embedded broker accepts (1 MiB); `mqtt.max_payload_bytes` may not exceed it
/// when `mqtt.url` is unset.
pub const EMBEDDED_BROKER_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Most simultaneous client connections the embedded broker accepts.
pub const EMBEDDED_BROKER_MAX_CONNECTIONS: usize = 64;
/// The tracing filter directive that silences rumqttd's per-connection logs (see the module docs).
pub const EMBEDDED_BROKER_LOG_DIRECTIVE: &str = "rumqttd=off";
/// How long [`start_embedded_broker`] waits for the broker to answer a CONNECT.
pub const EMBEDDED_BROKER_READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the embedded broker could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbeddedBrokerError {
    /// No port could be reserved on 127.0.0.1.
    #[error("no free TCP port on 127.0.0.1: {0}")]
    NoFreePort(String),
    /// The broker thread could not be spawned.
    #[error("could not spawn the embedded MQTT broker thread: {0}")]
    Thread(String),
    /// The broker did not accept an MQTT connection in time (rumqttd reports bind errors only in
    /// its own log).
    #[error(
        "embedded MQTT broker on {addr} did not accept an MQTT connection within {waited_ms} ms: {last_error}"
    )]
    NotReady {
        /// Where it should be listening.
        addr: SocketAddr,
        /// How long we waited.
        waited_ms: u64,
        /// The last connection error seen.
        last_error: String,
    },
}

static BROKER: OnceLock<Result<SocketAddr, EmbeddedBrokerError>> = OnceLock::new();

/// Starts the embedded broker once per process and returns its address; later calls (from any
/// thread) return the same result, including a failure. Blocks until the broker answers an MQTT
/// CONNECT, at most [`EMBEDDED_BROKER_READY_TIMEOUT`].
pub fn start_embedded_broker() -> Result<SocketAddr, EmbeddedBrokerError> {
    BROKER.get_or_init(start).clone()
}

fn start() -> Result<SocketAddr, EmbeddedBrokerError> {
    // rumqttd never reports the port it bound, so port 0 cannot be handed to it: reserve a free
    // port, release it, and give rumqttd the number.
    let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|e| EmbeddedBrokerError::NoFreePort(e.to_string()))?;
    let config = broker_config(addr);
    std::thread::Builder::new()
        .name("mqtt-broker".to_owned())
        .spawn(move || {
            let mut broker = Broker::new(config);
            // Returns only once every server thread has ended (e.g. the bind failed).
            match broker.start() {
                Ok(()) => tracing::error!("embedded MQTT broker on {addr} stopped"),
                Err(e) => tracing::error!("embedded MQTT broker on {addr} stopped: {e}"),
            }
        })
        .map_err(|e| EmbeddedBrokerError::Thread(e.to_string()))?;
    wait_ready(addr)?;
    tracing::info!("embedded MQTT broker listening on {addr}");
    Ok(addr)
}

/// One v4 (MQTT 3.1.1) server on `addr`, no TLS, no auth, bounded memory.
fn broker_config(addr: SocketAddr) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: 5_000,
        // rumqttd checks whole packets against this limit.
        max_payload_size: EMBEDDED_BROKER_MAX_PAYLOAD_BYTES + PUBLISH_OVERHEAD_BYTES,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "perceptd-embedded-v4".to_owned(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let router = RouterConfig {
        max_connections: EMBEDDED_BROKER_MAX_CONNECTIONS,
        max_outgoing_packet_count: 200,
        // Each topic keeps at most 4 segments of 2 MiB in memory (a segment holds any one message).
        max_segment_size: 2 * EMBEDDED_BROKER_MAX_PAYLOAD_BYTES,
        max_segment_count: 4,
        ..RouterConfig::default()
    };
    Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    }
}

/// Retries an MQTT CONNECT until the broker answers with a successful CONNACK.
fn wait_ready(addr: SocketAddr) -> Result<(), EmbeddedBrokerError> {
    let started = Instant::now();
    loop {
        let last_error = match probe(addr) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if started.elapsed() >= EMBEDDED_BROKER_READY_TIMEOUT {
            return Err(EmbeddedBrokerError::NotReady {
                addr,
                waited_ms: started.elapsed().as_millis() as u64,
                last_error,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CONNECT (MQTT 3.1.1, clean session), expect CONNACK with return code 0, DISCONNECT.
fn probe(addr: SocketAddr) -> Result<(), String> {
    const CLIENT_ID: &[u8] = b"perceptd-ready-probe";
    let timeout = Duration::from_millis(500);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut connect = vec![0x10, (12 + CLIENT_ID.len()) as u8];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 5]);
    connect.extend_from_slice(&(CLIENT_ID.len() as u16).to_be_bytes());
    connect.extend_from_slice(CLIENT_ID);
    stream.write_all(&connect).map_err(|e| e.to_string())?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).map_err(|e| e.to_string())?;
    if connack[0] != 0x20 || connack[3] != 0 {
        return Err(format!("unexpected CONNACK {connack:02x?}"));
    }
    // Best effort: the broker answered, which is all readiness means.
    let _ = stream.write_all(&[0xE0, 0x00]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_broker_starts_once_and_answers_mqtt() {
        let first = start_embedded_broker().expect("embedded broker starts");
        assert!(first.ip().is_loopback());
        assert_ne!(first.port(), 0);
        let again = std::thread::spawn(start_embedded_broker)
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(first, again, "one broker per process");
        probe(first).expect("a second client is accepted");
    }
}
