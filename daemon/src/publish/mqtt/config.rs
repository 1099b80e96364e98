//! The `[mqtt]` config section: where the broker is, who we are, and how hard we try.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::outbox::FsyncPolicy;
use crate::publish::embedded::EMBEDDED_BROKER_MAX_PAYLOAD_BYTES;
use crate::publish::{Qos, Topics, topic_problem};

/// The MQTT port used when the URL names none.
pub const DEFAULT_PORT: u16 = 1883;
/// The MQTT-over-TLS port used when an `mqtts://` URL names none.
pub const DEFAULT_TLS_PORT: u16 = 8883;
/// The smallest non-zero `outbox_max_bytes` accepted (1 MiB: four segments of 256 KiB).
pub const MIN_OUTBOX_BYTES: u64 = 1024 * 1024;
/// The largest `max_payload_bytes` accepted (16 MiB): transcripts and stats are a few KiB.
pub const MAX_PAYLOAD_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// The `[mqtt]` section. Every field has a default, so an empty section is valid.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker URL, `mqtt://host[:port]` (port 1883 when left out) or `mqtts://host[:port]` (TLS,
    /// port 8883). Unset: perceptd starts its embedded broker on 127.0.0.1 at a free port.
    pub url: Option<String>,
    /// With `mqtts://`: the CA certificate(s) (PEM) that signed the broker's certificate.
    /// Unset: the system's trusted roots.
    pub ca_file: Option<PathBuf>,
    /// With `mqtts://`: this client's certificate chain (PEM), for a broker that wants mutual
    /// TLS; needs `client_key_file`.
    pub client_cert_file: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
    /// MQTT client id. Unset: `perceptd-{device}`.
    pub client_id: Option<String>,
    /// User name sent in CONNECT, if the broker wants one.
    pub username: Option<String>,
    /// Password sent in CONNECT; needs `username`. Prefer `password_file`.
    pub password: Option<String>,
    /// A file holding the password (read at start; a trailing newline is dropped), so the secret
    /// stays out of the TOML: a 0600 file, or systemd's `LoadCredential=` (then
    /// `$CREDENTIALS_DIRECTORY/...`). Exclusive with `password`.
    pub password_file: Option<PathBuf>,
    /// Keep-alive interval in seconds (5..=65535); a dead broker is noticed within about twice this.
    pub keep_alive_secs: u64,
    /// First topic level(s) of everything perceptd publishes: `{topic_prefix}/{device}/...`.
    pub topic_prefix: String,
    /// QoS of finals (0 or 1).
    pub qos_final: Qos,
    /// QoS of partials (0 or 1).
    pub qos_partial: Qos,
    /// How many QoS 1 messages are kept in memory while the broker is unreachable. Finals, label
    /// events and captions beyond it wait in the durable outbox and are read back in order; other
    /// QoS 1 messages (and every one when the outbox is off or unusable) drop the oldest, counted
    /// in `mqtt_dropped`.
    pub offline_queue_max: usize,
    /// When the durable outbox forces its records to the disk: `interval` (at most once a second,
    /// only when written), `always` (every record, before it is sent), `never` (the kernel's
    /// write-back). What each can lose: docs/mqtt.md.
    pub outbox_fsync: FsyncPolicy,
    /// Most bytes the durable outbox keeps in `{state_dir}/outbox`; beyond it the oldest segment
    /// is deleted (counted in `outbox_dropped`). 0 turns the outbox off (memory only).
    pub outbox_max_bytes: u64,
    /// Shortest wait before reconnecting, in milliseconds (>= 10).
    pub reconnect_min_ms: u64,
    /// Longest wait before reconnecting, in milliseconds (>= reconnect_min_ms).
    pub reconnect_max_ms: u64,
    /// Largest payload accepted by `try_publish`, in bytes; larger ones are rejected and counted.
    pub max_payload_bytes: usize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: None,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            client_id: None,
            username: None,
            password: None,
            password_file: None,
            keep_alive_secs: 30,
            topic_prefix: "perceptd".to_owned(),
            qos_final: Qos::AtLeastOnce,
            qos_partial: Qos::AtMostOnce,
            offline_queue_max: 1000,
            outbox_fsync: FsyncPolicy::Interval,
            outbox_max_bytes: 64 * 1024 * 1024,
            reconnect_min_ms: 200,
            reconnect_max_ms: 30_000,
            max_payload_bytes: 256 * 1024,
        }
    }
}

impl fmt::Debug for MqttConfig {
    /// Like a derived Debug, with the password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConfig")
            .field("url", &self.url)
            .field("ca_file", &self.ca_file)
            .field("client_cert_file", &self.client_cert_file)
            .field("client_key_file", &self.client_key_file)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("keep_alive_secs", &self.keep_alive_secs)
            .field("topic_prefix", &self.topic_prefix)
            .field("qos_final", &self.qos_final)
            .field("qos_partial", &self.qos_partial)
            .field("offline_queue_max", &self.offline_queue_max)
            .field("outbox_fsync", &self.outbox_fsync)
            .field("outbox_max_bytes", &self.outbox_max_bytes)
            .field("reconnect_min_ms", &self.reconnect_min_ms)
            .field("reconnect_max_ms", &self.reconnect_max_ms)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .finish()
    }
}

impl MqttConfig {
    /// Every problem with this section, one line each, keys prefixed with `key_prefix`
    /// (e.g. "mqtt.keep_alive_secs: must be >= 5, got 2"). Empty when the section is valid.
    pub fn validate(&self, key_prefix: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, rule: String| problems.push(format!("{key_prefix}.{key}: {rule}"));

        if let Some(url) = &self.url
            && let Err(e) = BrokerAddr::parse(url)
        {
            problem("url", e.to_string());
        }
        if let Some(id) = &self.client_id {
            if id.is_empty() {
                problem(
                    "client_id",
                    "must not be empty (leave it out for perceptd-{device})".into(),
                );
            } else if id.len() > usize::from(u16::MAX) {
                problem(
                    "client_id",
                    format!("must be at most 65535 bytes, got {}", id.len()),
                );
            }
        }
        let tls = self.uses_tls();
        for (key, set) in [
            ("ca_file", self.ca_file.is_some()),
            ("client_cert_file", self.client_cert_file.is_some()),
            ("client_key_file", self.client_key_file.is_some()),
        ] {
            if set && !tls {
                problem(
                    key,
                    format!(
                        "is set but {key_prefix}.url is not mqtts://; TLS files need a TLS broker URL"
                    ),
                );
            }
        }
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            problem(
                "client_cert_file",
                format!("and {key_prefix}.client_key_file go together (mutual TLS needs both)"),
            );
        }
        if self.password.is_some() && self.password_file.is_some() {
            problem(
                "password_file",
                format!("and {key_prefix}.password are exclusive; keep the file"),
            );
        }
        if self.password_file.is_some() && self.username.is_none() {
            problem(
                "password_file",
                format!(
                    "is set but {key_prefix}.username is not; MQTT sends a password only with a user name"
                ),
            );
        }
        if self.password.is_some() && self.username.is_none() {
            problem(
                "password",
                format!(
                    "is set but {key_prefix}.username is not; MQTT sends a password only with a user name"
                ),
            );
        }
        if self.keep_alive_secs < 5 {
            problem(
                "keep_alive_secs",
                format!("must be >= 5, got {}", self.keep_alive_secs),
            );
        } else if self.keep_alive_secs > u64::from(u16::MAX) {
            problem(
                "keep_alive_secs",
                format!("must be <= 65535, got {}", self.keep_alive_secs),
            );
        }
        if let Some(rule) = topic_problem(&self.topic_prefix) {
            problem("topic_prefix", rule.to_owned());
        } else if self.topic_prefix.ends_with('/') {
            problem(
                "topic_prefix",
                format!(
                    "must not end with '/' (topics are {{topic_prefix}}/{{device}}/...), got {:?}",
                    self.topic_prefix
                ),
            );
        }
        if self.offline_queue_max == 0 {
            problem("offline_queue_max", "must be >= 1, got 0".into());
        }
        if self.outbox_max_bytes != 0 && self.outbox_max_bytes < MIN_OUTBOX_BYTES {
            problem(
                "outbox_max_bytes",
                format!(
                    "must be 0 (off) or >= {MIN_OUTBOX_BYTES}, got {}",
                    self.outbox_max_bytes
                ),
            );
        }
        if self.reconnect_min_ms < 10 {
            problem(
                "reconnect_min_ms",
                format!("must be >= 10, got {}", self.reconnect_min_ms),
            );
        }
        if self.reconnect_max_ms < self.reconnect_min_ms {
            problem(
                "reconnect_max_ms",
                format!(
                    "must be >= reconnect_min_ms ({}), got {}",
                    self.reconnect_min_ms, self.reconnect_max_ms
                ),
            );
        }
        if self.max_payload_bytes == 0 {
            problem("max_payload_bytes", "must be >= 1, got 0".into());
        } else if self.max_payload_bytes > MAX_PAYLOAD_BYTES_LIMIT {
            problem(
                "max_payload_bytes",
                format!(
                    "must be <= {MAX_PAYLOAD_BYTES_LIMIT}, got {}",
                    self.max_payload_bytes
                ),
            );
        } else if self.url.is_none() && self.max_payload_bytes > EMBEDDED_BROKER_MAX_PAYLOAD_BYTES {
            problem(
                "max_payload_bytes",
                format!(
                    "must be <= {EMBEDDED_BROKER_MAX_PAYLOAD_BYTES} with the embedded broker (url unset), got {}",
                    self.max_payload_bytes
                ),
            );
        }
        problems
    }

    /// Whether `url` names a TLS broker (`mqtts://`); false when it is unset or unparsable.
    pub fn uses_tls(&self) -> bool {
        self.url
            .as_deref()
            .and_then(|u| BrokerAddr::parse(u).ok())
            .is_some_and(|a| a.tls)
    }

    /// The client id used for `device`.
    pub fn client_id_for(&self, device: &str) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("perceptd-{device}"))
    }

    /// The availability topic of `device`: `{topic_prefix}/{device}/status`.
    pub fn status_topic_for(&self, device: &str) -> String {
        Topics::new(&self.topic_prefix, device).status()
    }
}

/// Why a device name cannot be used as one topic level, if it cannot.
pub fn device_name_problem(device: &str) -> Option<&'static str> {
    if device.contains('/') {
        Some("a device name is one topic level and must not contain '/'")
    } else {
        topic_problem(device)
    }
}

/// A broker address parsed from `mqtt://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://`: TLS to the broker.
    pub tls: bool,
}

/// Why a broker URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerUrlError {
    /// MQTT over WebSockets was asked for.
    #[error("{scheme}:// is not supported: use mqtt://host[:port] or mqtts://host[:port]")]
    WebSocket {
        /// The scheme given.
        scheme: String,
    },
    /// Another scheme, or none.
    #[error("expected mqtt://host[:port] or mqtts://host[:port], got {url:?}")]
    NotMqtt {
        /// The URL given.
        url: String,
    },
    /// Nothing between `mqtt://` and the port.
    #[error("the host is missing; expected mqtt://host[:port], got {url:?}")]
    MissingHost {
        /// The URL given.
        url: String,
    },
    /// The port is not a number in 1..=65535.
    #[error("the port must be a number from 1 to 65535, got {port:?}")]
    BadPort {
        /// The port text given.
        port: String,
    },
    /// A path, query, fragment or user info was given.
    #[error(
        "must be only mqtt://host[:port] (no path, query or user@; credentials go in username/password), got {url:?}"
    )]
    Extra {
        /// The URL given.
        url: String,
    },
}

impl BrokerAddr {
    /// Parses `mqtt://host[:port]` (IPv6 as `mqtt://[::1]:1883`); a trailing `/` is allowed.
    pub fn parse(url: &str) -> Result<Self, BrokerUrlError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(BrokerUrlError::NotMqtt {
                url: url.to_owned(),
            });
        };
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            "ws" | "wss" => {
                return Err(BrokerUrlError::WebSocket {
                    scheme: scheme.to_owned(),
                });
            }
            _ => {
                return Err(BrokerUrlError::NotMqtt {
                    url: url.to_owned(),
                });
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(BrokerUrlError::Extra {
                url: url.to_owned(),
            });
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let Some((host, after)) = bracketed.split_once(']') else {
                return Err(BrokerUrlError::MissingHost {
                    url: url.to_owned(),
                });
            };
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => {
                    return Err(BrokerUrlError::Extra {
                        url: url.to_owned(),
                    });
                }
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(BrokerUrlError::MissingHost {
                url: url.to_owned(),
            });
        }
        let port = match port {
            None if tls => DEFAULT_TLS_PORT,
            None => DEFAULT_PORT,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => {
                    return Err(BrokerUrlError::BadPort {
                        port: text.to_owned(),
                    });
                }
            },
        };
        Ok(BrokerAddr {
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

impl fmt::Display for BrokerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_toml(text: &str) -> Result<MqttConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_section_gets_the_documented_defaults_and_is_valid() {
        let cfg = parse_toml("").unwrap();
        assert_eq!(cfg, MqttConfig::default());
        assert_eq!(cfg.keep_alive_secs, 30);
        assert_eq!(cfg.topic_prefix, "perceptd");
        assert_eq!(cfg.qos_final, Qos::AtLeastOnce);
        assert_eq!(cfg.qos_partial, Qos::AtMostOnce);
        assert_eq!(cfg.offline_queue_max, 1000);
        assert_eq!((cfg.reconnect_min_ms, cfg.reconnect_max_ms), (200, 30_000));
        assert_eq!(cfg.max_payload_bytes, 256 * 1024);
        assert_eq!(cfg.validate("mqtt"), Vec::<String>::new());
        assert_eq!(cfg.client_id_for("kitchen"), "perceptd-kitchen");
        assert_eq!(cfg.status_topic_for("kitchen"), "perceptd/kitchen/status");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = parse_toml("keepalive = 10").unwrap_err();
        assert!(err.contains("unknown field `keepalive`"), "{err}");
    }

    #[test]
    fn qos_fields_take_integers() {
        let cfg = parse_toml("qos_final = 0\nqos_partial = 1").unwrap();
        assert_eq!(cfg.qos_final, Qos::AtMostOnce);
        assert_eq!(cfg.qos_partial, Qos::AtLeastOnce);
        assert!(
            parse_toml("qos_final = 2")
                .unwrap_err()
                .contains("qos must be 0 or 1, got 2")
        );
    }

    #[test]
    fn validate_reports_every_problem_with_its_key() {
        let cfg = MqttConfig {
            url: Some("wss://broker.local".into()),
            client_id: Some(String::new()),
            password: Some("secret".into()),
            keep_alive_secs: 2,
            topic_prefix: "home/#".into(),
            offline_queue_max: 0,
            reconnect_min_ms: 5,
            reconnect_max_ms: 1,
            max_payload_bytes: 0,
            ..MqttConfig::default()
        };
        let problems = cfg.validate("mqtt");
        let keys: Vec<&str> = problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "mqtt.url",
                "mqtt.client_id",
                "mqtt.password",
                "mqtt.keep_alive_secs",
                "mqtt.topic_prefix",
                "mqtt.offline_queue_max",
                "mqtt.reconnect_min_ms",
                "mqtt.reconnect_max_ms",
                "mqtt.max_payload_bytes",
            ],
            "{problems:#?}"
        );
        assert!(problems.contains(&"mqtt.keep_alive_secs: must be >= 5, got 2".to_owned()));
        assert!(
            problems[0].contains("wss:// is not supported"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn the_embedded_broker_limits_the_payload_size() {
        let big = MqttConfig {
            max_payload_bytes: EMBEDDED_BROKER_MAX_PAYLOAD_BYTES + 1,
            ..MqttConfig::default()
        };
        assert_eq!(big.validate("mqtt").len(), 1);
        let external = MqttConfig {
            url: Some("mqtt://localhost".into()),
            ..big
        };
        assert!(external.validate("mqtt").is_empty());
    }

    #[test]
    fn urls_parse_with_and_without_a_port() {
        let addr = |url| BrokerAddr::parse(url).unwrap();
        assert_eq!(
            addr("mqtt://broker.local"),
            BrokerAddr {
                host: "broker.local".into(),
                port: 1883,
                tls: false
            }
        );
        assert_eq!(
            addr("mqtt://10.0.0.2:11883/"),
            BrokerAddr {
                host: "10.0.0.2".into(),
                port: 11883,
                tls: false
            }
        );
        assert_eq!(
            addr("MQTT://[::1]:1884"),
            BrokerAddr {
                host: "::1".into(),
                port: 1884,
                tls: false
            }
        );
        assert_eq!(addr("tcp://h").port, 1883);
        assert_eq!(
            addr("mqtts://broker.local"),
            BrokerAddr {
                host: "broker.local".into(),
                port: 8883,
                tls: true
            }
        );
        assert_eq!(addr("mqtts://h:18883").port, 18883);
        assert_eq!(addr("mqtt://[::1]").to_string(), "[::1]:1883");
    }

    #[test]
    fn bad_urls_say_what_is_expected() {
        let err = |url| BrokerAddr::parse(url).unwrap_err();
        assert!(matches!(
            err("wss://h:8883"),
            BrokerUrlError::WebSocket { .. }
        ));
        assert!(matches!(
            err("broker.local:1883"),
            BrokerUrlError::NotMqtt { .. }
        ));
        assert!(matches!(err("http://h"), BrokerUrlError::NotMqtt { .. }));
        assert!(matches!(err("mqtt://"), BrokerUrlError::MissingHost { .. }));
        assert!(matches!(
            err("mqtt://:1883"),
            BrokerUrlError::MissingHost { .. }
        ));
        assert_eq!(
            err("mqtt://h:0"),
            BrokerUrlError::BadPort { port: "0".into() }
        );
        assert_eq!(
            err("mqtt://h:65536"),
            BrokerUrlError::BadPort {
                port: "65536".into()
            }
        );
        assert_eq!(
            err("mqtt://h:+1"),
            BrokerUrlError::BadPort { port: "+1".into() }
        );
        assert!(matches!(
            err("mqtt://user:pw@h"),
            BrokerUrlError::Extra { .. }
        ));
        assert!(matches!(
            err("mqtt://h/topic"),
            BrokerUrlError::Extra { .. }
        ));
        assert_eq!(
            err("mqtt://h:x").to_string(),
            "the port must be a number from 1 to 65535, got \"x\""
        );
    }

    #[test]
    fn device_names_must_be_one_topic_level() {
        assert!(device_name_problem("kitchen-1").is_none());
        assert!(device_name_problem("a/b").is_some());
        assert!(device_name_problem("a+").is_some());
        assert!(device_name_problem("").is_some());
    }

    #[test]
    fn debug_output_redacts_the_password() {
        let cfg = MqttConfig {
            username: Some("u".into()),
            password: Some("hunter2".into()),
            ..MqttConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
