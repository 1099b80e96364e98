//! `[metrics]`: where `/metrics` is served, if anywhere.

use std::net::SocketAddr;

use serde::Deserialize;

/// `[metrics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics on `http://{listen}/metrics`: an IP address and port, e.g.
    /// `"127.0.0.1:9464"` (this box only) or `"0.0.0.0:9464"` (every interface: firewall it).
    /// A port that cannot be bound is one error line, and perceptd runs on without metrics.
    /// Default: unset, no metrics server (docs/metrics.md).
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// The address to listen on, if one is set; problems go under `metrics.listen`.
    pub fn build(&self, problems: &mut Vec<String>) -> Option<SocketAddr> {
        let text = self.listen.as_deref()?;
        match text.trim().parse::<SocketAddr>() {
            Ok(addr) if addr.port() == 0 => {
                problems.push(format!(
                    "metrics.listen: the port must not be 0 (a scraper needs to know it), got {text:?}"
                ));
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(format!(
                    "metrics.listen: must be an IP address and port such as \"127.0.0.1:9464\" or \"[::1]:9464\" (no host names), got {text:?}"
                ));
                None
            }
        }
    }
}
