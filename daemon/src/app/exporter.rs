//! `/metrics` for `perceptd run`, when `metrics.listen` is set.

use std::sync::Arc;

use crate::config::Config;
use crate::health::serve::MetricsServer;
use crate::health::{Metrics, Progress, exposition};
use crate::shutdown::Shutdown;

/// Starts the metrics server when `metrics.listen` is set. An address that cannot be bound is one
/// error line; the daemon runs on without metrics.
pub async fn start_metrics(
    config: &Config,
    metrics: &Arc<Metrics>,
    progress: &Arc<Progress>,
    shutdown: &Shutdown,
) -> Option<MetricsServer> {
    let addr = config.metrics_listen?;
    metrics.histograms().prepare(
        config.sources.iter().map(|s| s.name.as_str()),
        config.cameras.iter().map(|c| c.name.as_str()),
    );
    let registry = exposition::registry(metrics.clone(), progress.clone());
    match MetricsServer::start(addr, registry, shutdown.clone()).await {
        Ok(server) => {
            tracing::info!("metrics on http://{}/metrics", server.local_addr());
            Some(server)
        }
        Err(e) => {
            tracing::error!(
                "metrics.listen: cannot listen on {addr}: {e}; running without /metrics"
            );
            None
        }
    }
}
