//! What `/metrics` shows, in the Prometheus text format (version 0.0.4): every [`Counter`] as
//! `perceptd_<name>_total`, every [`Gauge`], each stage's time since its last progress, the
//! build, and the latency histograms. The atomics stay the one source of truth (logs, the MQTT
//! stats message and this page read the same values); a collector reads them at each scrape.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::metrics::{Counter, Gauge, Metrics};
use super::progress::Progress;

/// The `Content-Type` of what [`encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every metric perceptd exposes, prefixed `perceptd_`.
pub fn registry(metrics: Arc<Metrics>, progress: Arc<Progress>) -> Registry {
    let mut registry = Registry::with_prefix("perceptd");
    registry.register(
        "build",
        "The running perceptd",
        Info::new([("version", env!("CARGO_PKG_VERSION"))]),
    );
    metrics.histograms().register(&mut registry);
    registry.register_collector(Box::new(Atomics { metrics, progress }));
    registry
}

/// The registry in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in a metric, so the
    // page is cut there rather than the scrape failing.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, registry);
    text
}

/// Reads the counters, gauges and stage progress at each scrape.
#[derive(Debug)]
struct Atomics {
    metrics: Arc<Metrics>,
    progress: Arc<Progress>,
}

impl Collector for Atomics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for counter in Counter::ALL {
            let value = ConstCounter::new(self.metrics.get(counter));
            let help = format!("{}.", counter.help());
            let metric =
                encoder.encode_descriptor(counter.name(), &help, None, MetricType::Counter)?;
            value.encode(metric)?;
        }
        for gauge in Gauge::ALL {
            let value = ConstGauge::new(self.metrics.gauge(gauge));
            let help = format!("{}.", gauge.help());
            let metric = encoder.encode_descriptor(gauge.name(), &help, None, MetricType::Gauge)?;
            value.encode(metric)?;
        }
        let stages = self.progress.view();
        if !stages.is_empty() {
            let mut family = encoder.encode_descriptor(
                "stage_progress_age_seconds",
                "Time since the stage last showed progress (the watchdog's view), by stage and state.",
                None,
                MetricType::Gauge,
            )?;
            for stage in &stages {
                let labels = [("stage", stage.stage.as_str()), ("state", stage.state)];
                let value = ConstGauge::new(stage.quiet_for.as_secs_f64());
                value.encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::health::{InferenceKind, Watch};

    #[test]
    fn the_page_has_every_counter_gauge_stage_and_histogram() {
        let metrics = Metrics::new();
        let progress = Progress::new();
        progress.register("inference", Duration::from_secs(300), Watch::WhileActive);
        metrics.add(Counter::UtterancesFinal, 3);
        metrics.set_gauge(Gauge::MqttBrokerConnected, 1);
        metrics.histograms().prepare(["clip"], ["door"]);
        metrics
            .histograms()
            .final_latency("clip", Duration::from_millis(700));
        metrics
            .histograms()
            .inference(InferenceKind::Final, Duration::from_millis(300));
        let page = encode(&registry(metrics, progress));
        for line in [
            "# TYPE perceptd_utterances_final_total counter",
            "perceptd_utterances_final_total 3",
            "# TYPE perceptd_mqtt_broker_connected gauge",
            "perceptd_mqtt_broker_connected 1",
            "# TYPE perceptd_final_latency_seconds histogram",
            "perceptd_final_latency_seconds_bucket{source=\"clip\",le=\"1\"} 1",
            "perceptd_final_latency_seconds_bucket{source=\"clip\",le=\"0.5\"} 0",
            "perceptd_final_latency_seconds_count{source=\"clip\"} 1",
            "perceptd_inference_seconds_count{kind=\"final\"} 1",
            "perceptd_inference_seconds_count{kind=\"early\"} 0",
            "perceptd_frame_analysis_seconds_count{camera=\"door\"} 0",
        ] {
            assert!(page.lines().any(|l| l == line), "no {line:?} in\n{page}");
        }
        let build = format!(
            "perceptd_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(page.lines().any(|l| l == build), "no {build:?} in\n{page}");
        assert!(
            page.lines().any(|l| l.starts_with(
                "perceptd_stage_progress_age_seconds{stage=\"inference\",state=\"active\"} "
            )),
            "{page}"
        );
        assert_eq!(
            page.lines()
                .filter(|l| l.starts_with("# TYPE") && l.ends_with(" counter"))
                .count(),
            Counter::ALL.len()
        );
    }
}
