//! The publishing side of `perceptd run`: the broker address (embedded when none is configured),
//! the MQTT driver task, the publisher every stage shares, and the stats task.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use tokio::sync::mpsc;

use super::{broker, control, stages, stats};
use crate::config::Config;
use crate::health::{Metrics, Progress};
use crate::homeassistant::Inventory;
use crate::pipeline::ListeningSwitch;
use crate::publish::mqtt::{Inbound, MqttConfig, MqttPublisher, Subscriptions};
use crate::publish::{LoggingPublisher, Publisher, Topics};
use crate::shutdown::Shutdown;

/// How long the MQTT driver may take to publish `offline` and flush after the pipeline stopped.
const DRIVER_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// The running MQTT driver and stats task, and what the stages publish through.
pub struct Publishing {
    /// The MQTT settings with the broker URL filled in.
    pub mqtt: MqttConfig,
    /// Every topic this device publishes.
    pub topics: Topics,
    /// The handle every stage publishes through (logging each message when configured).
    pub publisher: Arc<dyn Publisher>,
    driver_shutdown: Shutdown,
    driver_task: tokio::task::JoinHandle<()>,
    stats_task: tokio::task::JoinHandle<()>,
    /// What the driver hears, until the control task takes it.
    inbound: Option<mpsc::Receiver<Inbound>>,
    control_task: Option<tokio::task::JoinHandle<()>>,
}

impl Publishing {
    /// Starts the embedded broker when no `mqtt.url` is set, then the driver (its heartbeat in
    /// `progress`, woken every `tick` when the watchdog runs) and the stats task.
    pub fn start(
        config: &Config,
        metrics: &Arc<Metrics>,
        progress: &Progress,
        tick: Option<Duration>,
    ) -> Result<Self> {
        let mut mqtt = config.mqtt.clone();
        if mqtt.url.is_none() {
            let addr = broker::start_embedded()?;
            mqtt.url = Some(format!("mqtt://{addr}"));
        }
        let topics = Topics::new(&mqtt.topic_prefix, &config.device);
        let (subscriptions, inbound) = Subscriptions::channel(control::filters(config, &topics));
        let (mqtt_handle, driver) = MqttPublisher::new(&mqtt, &config.device, metrics.clone());
        let driver = driver
            .with_outbox(config.outbox())
            .with_subscriptions(subscriptions)
            .with_heartbeat(stages::publisher(progress, tick), tick);
        let driver_shutdown = Shutdown::new();
        let driver_task = tokio::spawn(driver.run(driver_shutdown.clone()));
        let publisher: Arc<dyn Publisher> = if config.log.published_messages {
            Arc::new(LoggingPublisher::new(mqtt_handle))
        } else {
            Arc::new(mqtt_handle)
        };
        let stats_task = stats::spawn(
            publisher.clone(),
            metrics.clone(),
            &topics,
            config.log.stats_interval_secs,
            driver_shutdown.clone(),
        );
        Ok(Self {
            mqtt,
            topics,
            publisher,
            driver_shutdown,
            driver_task,
            stats_task,
            inbound: Some(inbound),
            control_task: None,
        })
    }

    /// Starts the control task (Home Assistant discovery, listening switches) for what runs.
    pub fn start_control(
        &mut self,
        config: &Config,
        inventory: &Inventory,
        switches: Vec<ListeningSwitch>,
    ) {
        let Some(inbound) = self.inbound.take() else {
            return;
        };
        self.control_task = Some(control::spawn(
            config,
            &self.topics,
            self.publisher.clone(),
            inventory,
            switches,
            inbound,
            self.driver_shutdown.clone(),
        ));
    }

    /// Stops the stats task and lets the driver publish `offline`, flush and disconnect (bounded).
    pub async fn stop(self) {
        self.driver_shutdown.trigger();
        self.stats_task.abort();
        if let Some(control) = self.control_task {
            control.abort();
        }
        if tokio::time::timeout(DRIVER_FLUSH_TIMEOUT, self.driver_task)
            .await
            .is_err()
        {
            tracing::warn!(
                "MQTT flush did not finish in time; some QoS 1 messages may be unacknowledged"
            );
        }
    }
}
