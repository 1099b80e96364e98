//! The task that owns the rumqttc `AsyncClient` + `EventLoop`: connects with backoff, announces
//! availability after every ConnAck, keeps QoS 1 messages across outages, and flushes on shutdown.
//!
//! What rumqttc does and does not do, and what the driver adds:
//! * rumqttc reconnects as soon as `poll` is called again after an error, with no delay: the driver
//!   waits [`Backoff::next_delay`] (interruptible by shutdown) after every failure or loss.
//! * After an error rumqttc moves unacknowledged publishes and the requests still in its channel into
//!   `EventLoop::pending`, but on a ConnAck with `session_present = false` (always the case with our
//!   clean session) it clears `pending`: those messages would be lost. The driver tracks every handed
//!   QoS 1 message until its PubAck (module `inflight`), clears rumqttc's `pending` and state itself
//!   after a loss, and re-sends the unacknowledged messages after the next ConnAck. A message whose
//!   PubAck was lost arrives twice (at-least-once); none is lost while it is queued.
//! * rumqttc's request channel is bounded ([`CLIENT_WINDOW`]) and the driver never has more than
//!   that many messages handed and unfinished, so `AsyncClient::try_publish` never finds it full and
//!   nothing in rumqttc grows without bound; the backlog lives in the bounded outbox
//!   (`offline_queue_max`).
//! * `EventLoop::poll` is never cancelled mid-flight while connected: the same pinned future is
//!   polled across hand-offs, so a partially written packet cannot be lost by a `select!`.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, MqttState,
    Outgoing, QoS, SubscribeFilter, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::config::{BrokerAddr, MqttConfig, device_name_problem};
use super::credentials;
use super::events::{ConnectAttempt, ConnectFailed, Connected, ConnectionLost};
use super::failure::{CONNECT_TIMEOUT, explain};
use super::inbound::{Inbound, Subscriptions};
use super::journal::{Journal, OutboxJournal};
use super::publisher::{HANDOFF_CAPACITY, MqttPublisher};
use super::state::{OFFLINE, PublishState};
use crate::backoff::Backoff;
use crate::health::{Gauge, Heartbeat, Metrics};
use crate::outbox::OutboxSettings;
use crate::publish::{Message, Qos};
use crate::shutdown::Shutdown;

/// Most messages handed to rumqttc and not yet finished (written for QoS 0, acknowledged for QoS 1);
/// also the capacity of rumqttc's request channel and its in-flight limit.
pub const CLIENT_WINDOW: usize = 64;
/// Longest wait at shutdown for the PubAcks of everything handed to the client.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for the DISCONNECT packet to be written after the flush.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// A connection must stay up this long for the backoff to start over at its minimum after it
/// breaks; a broker that accepts and then drops us at once still sees growing delays.
pub const STABLE_CONNECTION: Duration = Duration::from_secs(10);
/// Bytes a PUBLISH needs beyond its payload at most: fixed header (5), topic length (2) and topic
/// (65535), packet id (2).
pub const PUBLISH_OVERHEAD_BYTES: usize = 5 + 2 + 65_535 + 2;
/// Longest time written outbox records wait for their sync under the `interval` policy (and the
/// acknowledged watermark for its ledger write, under every policy).
pub const OUTBOX_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Largest packet accepted from the broker: acks, pings and the few small commands perceptd
/// subscribes to (a larger one breaks the connection in rumqttc; the reconnect follows).
const MAX_INCOMING_PACKET_BYTES: usize = 64 * 1024;
/// Requests beyond the publish window that rumqttc's channel holds: the subscription after a
/// ConnAck and the DISCONNECT.
const CONTROL_REQUESTS: usize = 2;

/// Owns the MQTT connection; run it with [`MqttDriver::run`] on a tokio runtime.
pub struct MqttDriver {
    target: Target,
    options: Options,
    rx: mpsc::Receiver<Message>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for MqttDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttDriver")
            .field("client_id", &self.options.client_id)
            .field("status_topic", &self.options.status_topic)
            .finish_non_exhaustive()
    }
}

/// Where to connect.
enum Target {
    Broker(BrokerAddr),
    /// No usable URL; the reason.
    Invalid(String),
}

/// Everything from the config the connection needs.
struct Options {
    client_id: String,
    status_topic: String,
    keep_alive: Duration,
    credentials: Option<(String, String)>,
    /// The TLS client configuration, for `mqtts://`.
    tls: Option<Arc<rustls::ClientConfig>>,
    max_outgoing_packet_bytes: usize,
    offline_queue_max: usize,
    reconnect_min: Duration,
    reconnect_max: Duration,
    /// The durable outbox; `None`: QoS 1 messages live in memory only.
    outbox: Option<OutboxSettings>,
    /// What to subscribe to after every ConnAck, and who hears it.
    subscriptions: Option<Subscriptions>,
    /// The driver's progress: a beat per turn of its loop, degraded while offline.
    heartbeat: Heartbeat,
    /// Wake the loop this often even when nothing happens (the watchdog's half period), so an
    /// idle connection still shows progress; `None`: no extra wake-ups.
    tick: Option<Duration>,
}

impl MqttPublisher {
    /// A publisher handle and the driver that sends for it. `cfg` should have passed
    /// [`MqttConfig::validate`] and `device` must be one topic level (see
    /// [`device_name_problem`]); a bad URL is not a panic but a driver that logs an error and
    /// drops what it is given (so is an unset `url`: `perceptd run` starts the embedded broker
    /// and fills it in first).
    pub fn new(
        cfg: &MqttConfig,
        device: &str,
        metrics: Arc<Metrics>,
    ) -> (MqttPublisher, MqttDriver) {
        if let Some(problem) = device_name_problem(device) {
            tracing::error!("mqtt: device name {device:?} is not usable in topics: {problem}");
        }
        let (tx, rx) = mpsc::channel(HANDOFF_CAPACITY);
        let mut target = match &cfg.url {
            None => Target::Invalid(
                "mqtt.url is not set (`perceptd run` starts the embedded broker and sets it)"
                    .into(),
            ),
            Some(url) => match BrokerAddr::parse(url) {
                Ok(addr) => Target::Broker(addr),
                Err(e) => Target::Invalid(format!("mqtt.url {url:?}: {e}")),
            },
        };
        let tls = match &target {
            Target::Broker(addr) if addr.tls => match credentials::client_config(cfg) {
                Ok(tls) => Some(tls),
                Err(e) => {
                    target = Target::Invalid(e.to_string());
                    None
                }
            },
            _ => None,
        };
        let password = credentials::password(cfg).unwrap_or_else(|e| {
            target = Target::Invalid(e.to_string());
            None
        });
        let options = Options {
            client_id: cfg.client_id_for(device),
            status_topic: cfg.status_topic_for(device),
            keep_alive: Duration::from_secs(cfg.keep_alive_secs.clamp(5, u64::from(u16::MAX))),
            credentials: cfg
                .username
                .clone()
                .map(|user| (user, password.unwrap_or_default())),
            tls,
            max_outgoing_packet_bytes: cfg.max_payload_bytes.saturating_add(PUBLISH_OVERHEAD_BYTES),
            offline_queue_max: cfg.offline_queue_max,
            reconnect_min: Duration::from_millis(cfg.reconnect_min_ms.max(10)),
            reconnect_max: Duration::from_millis(cfg.reconnect_max_ms),
            outbox: None,
            subscriptions: None,
            heartbeat: Heartbeat::detached(),
            tick: None,
        };
        let publisher = MqttPublisher {
            tx,
            max_payload_bytes: cfg.max_payload_bytes,
            metrics: metrics.clone(),
        };
        let driver = MqttDriver {
            target,
            options,
            rx,
            metrics,
        };
        (publisher, driver)
    }
}

impl MqttDriver {
    /// Writes finals, label events and captions ahead to the durable outbox in `settings.dir`
    /// (opened when the driver starts; any problem there falls back to memory, with one log line).
    pub fn with_outbox(mut self, settings: Option<OutboxSettings>) -> Self {
        self.options.outbox = settings;
        self
    }

    /// Subscribes to `subscriptions.filters` (QoS 1) after every ConnAck and hands what arrives,
    /// and each ConnAck, to its listener.
    pub fn with_subscriptions(mut self, subscriptions: Subscriptions) -> Self {
        self.options.subscriptions = Some(subscriptions);
        self
    }

    /// Reports progress to `heartbeat` (a beat per turn of the loop; degraded while the broker
    /// is unreachable), waking at least every `tick` when one is given.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat, tick: Option<Duration>) -> Self {
        self.options.heartbeat = heartbeat;
        self.options.tick = tick;
        self
    }

    /// Runs until `shutdown` fires, then publishes `offline` (retained, QoS 1), waits at most
    /// [`FLUSH_TIMEOUT`] for every QoS 1 message handed to the client to be acknowledged, sends
    /// DISCONNECT and returns. Messages still unsent are counted in `mqtt_dropped`.
    pub async fn run(self, shutdown: Shutdown) {
        let span = tracing::info_span!("publish", client_id = %self.options.client_id);
        self.run_inner(shutdown).instrument(span).await;
    }

    async fn run_inner(self, shutdown: Shutdown) {
        let MqttDriver {
            target,
            options,
            rx,
            metrics,
        } = self;
        let journal = options.outbox.clone().map(|settings| {
            Box::new(OutboxJournal::open(settings, metrics.clone())) as Box<dyn Journal>
        });
        let mut queues = Queues {
            rx,
            rx_open: true,
            state: PublishState::new(
                options.offline_queue_max,
                CLIENT_WINDOW,
                options.status_topic.clone(),
                journal,
                metrics.clone(),
            ),
            sync_at: None,
            subscriptions: options.subscriptions.clone(),
            metrics: metrics.clone(),
            heartbeat: options.heartbeat.clone(),
            tick: options.tick.map(ticker),
        };
        let addr = match resolve(target) {
            Ok(addr) => addr,
            Err(reason) => {
                tracing::error!("mqtt publisher cannot connect: {reason}; messages are dropped");
                queues
                    .heartbeat
                    .degraded("broker address unusable (see the log)");
                wait_offline(None, &mut queues, &shutdown).await;
                queues.drop_unsent("the broker address is unusable");
                return;
            }
        };
        let broker = addr.to_string();
        let unreachable = format!(
            "broker unreachable ({}://{broker})",
            if addr.tls { "mqtts" } else { "mqtt" }
        );
        let (client, mut eventloop) = AsyncClient::new(
            mqtt_options(&options, &addr),
            CLIENT_WINDOW + CONTROL_REQUESTS,
        );
        eventloop
            .network_options
            .set_connection_timeout(CONNECT_TIMEOUT.as_secs());
        let mut backoff =
            Backoff::broker_reconnect_from_entropy(options.reconnect_min, options.reconnect_max);
        let mut consecutive_failures = 0u64;

        loop {
            ConnectAttempt {
                broker: &broker,
                consecutive: consecutive_failures + 1,
            }
            .emit(&metrics);
            match connect(&mut eventloop, &mut queues, &shutdown).await {
                ConnectOutcome::Shutdown => {
                    queues.drop_unsent("not connected at shutdown");
                    return;
                }
                ConnectOutcome::Failed(error) => {
                    consecutive_failures += 1;
                    queues.heartbeat.degraded(unreachable.as_str());
                    let retry_in = backoff.next_delay();
                    ConnectFailed {
                        broker: &broker,
                        consecutive: consecutive_failures,
                        reason: &explain(&error),
                        retry_in,
                    }
                    .emit();
                    if wait_offline(Some(retry_in), &mut queues, &shutdown).await {
                        queues.drop_unsent("not connected at shutdown");
                        return;
                    }
                    continue;
                }
                ConnectOutcome::Connected => {}
            }
            let connected_at = Instant::now();
            Connected {
                broker: &broker,
                failed_attempts: consecutive_failures,
                queued: queues.state.queued(),
            }
            .emit(&metrics);
            consecutive_failures = 0;
            queues.state.connected();
            subscribe(&client, options.subscriptions.as_ref());
            queues.heartbeat.active();

            match serve(&client, &mut eventloop, &mut queues, &shutdown).await {
                ServeOutcome::Finished => {
                    metrics.set_gauge(Gauge::MqttBrokerConnected, 0);
                    queues.drop_unsent("not acknowledged before the shutdown deadline");
                    return;
                }
                ServeOutcome::Lost(error) => {
                    queues.heartbeat.degraded(unreachable.as_str());
                    let requeued = queues.connection_lost(&mut eventloop);
                    if connected_at.elapsed() >= STABLE_CONNECTION {
                        backoff.reset();
                    }
                    let retry_in = backoff.next_delay();
                    ConnectionLost {
                        broker: &broker,
                        reason: &error,
                        requeued,
                        retry_in,
                    }
                    .emit(&metrics);
                    if wait_offline(Some(retry_in), &mut queues, &shutdown).await {
                        queues.drop_unsent("not connected at shutdown");
                        return;
                    }
                }
            }
        }
    }
}

/// The broker address for `target`.
fn resolve(target: Target) -> Result<BrokerAddr, String> {
    match target {
        Target::Broker(addr) => Ok(addr),
        Target::Invalid(reason) => Err(reason),
    }
}

fn mqtt_options(options: &Options, addr: &BrokerAddr) -> MqttOptions {
    let mut mqtt = MqttOptions::new(options.client_id.clone(), addr.host.clone(), addr.port);
    mqtt.set_keep_alive(options.keep_alive)
        // Clean session: redelivery is ours (see the module docs); a persistent session would make
        // rumqttc replay its `pending` too and the broker keep state for us across restarts.
        .set_clean_session(true)
        .set_last_will(LastWill::new(
            options.status_topic.clone(),
            OFFLINE,
            QoS::AtLeastOnce,
            true,
        ))
        .set_max_packet_size(MAX_INCOMING_PACKET_BYTES, options.max_outgoing_packet_bytes)
        // The window never exceeds this, so rumqttc's own in-flight limit never holds requests back.
        .set_inflight(CLIENT_WINDOW as u16);
    if let Some((user, password)) = &options.credentials {
        mqtt.set_credentials(user.clone(), password.clone());
    }
    if let Some(tls) = &options.tls {
        mqtt.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            tls.clone(),
        )));
    }
    mqtt
}

/// Requests the subscriptions (rumqttc forgets them with every connection) and tells the
/// listener a connection is up.
fn subscribe(client: &AsyncClient, subscriptions: Option<&Subscriptions>) {
    let Some(subs) = subscriptions else {
        return;
    };
    if !subs.filters.is_empty() {
        let filters = subs
            .filters
            .iter()
            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
        if let Err(e) = client.try_subscribe_many(filters) {
            tracing::warn!("mqtt: could not subscribe to {:?}: {e}", subs.filters);
        }
    }
    subs.deliver(Inbound::Connected);
}

fn to_rumqttc(qos: Qos) -> QoS {
    match qos {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
    }
}

/// The driver's I/O side of the message flow: the hand-off channel from the stages and the
/// [`PublishState`] that decides what the client gets.
struct Queues {
    rx: mpsc::Receiver<Message>,
    rx_open: bool,
    state: PublishState,
    /// When the outbox's next sync is due (set when it has something to sync).
    sync_at: Option<Instant>,
    /// Who hears inbound messages.
    subscriptions: Option<Subscriptions>,
    metrics: Arc<Metrics>,
    /// The driver's progress (see [`MqttDriver::with_heartbeat`]).
    heartbeat: Heartbeat,
    /// The watchdog tick, when there is one.
    tick: Option<tokio::time::Interval>,
}

impl Queues {
    /// One turn of a select loop: progress for the watchdog.
    fn turned(&mut self) {
        self.heartbeat.beat();
    }

    /// Schedules the outbox's sync when it has something new to make durable, and reports the
    /// backlog (called on every turn of the driver's loops).
    fn arm_sync(&mut self) {
        self.metrics
            .set_gauge(Gauge::MqttQueued, self.state.waiting() as u64);
        self.metrics
            .set_gauge(Gauge::OutboxBytes, self.state.outbox_bytes());
        if self.sync_at.is_none() && self.state.outbox_needs_sync() {
            self.sync_at = Some(Instant::now() + OUTBOX_SYNC_INTERVAL);
        }
    }

    /// The scheduled sync.
    fn sync_outbox(&mut self) {
        self.sync_at = None;
        self.state.sync_outbox();
    }

    /// Books a message from the hand-off channel (`None`: every stage has hung up).
    fn accept(&mut self, msg: Option<Message>) {
        match msg {
            Some(msg) => self.state.message_in(msg),
            None => self.rx_open = false,
        }
    }

    /// Stops accepting messages and queues those already accepted.
    fn close_and_drain(&mut self) {
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            self.state.queue(msg);
        }
        self.rx_open = false;
    }

    /// Hands the client everything the state offers now.
    fn fill_window(&mut self, client: &AsyncClient) {
        while let Some(handoff) = self.state.next_handoff() {
            let msg = handoff.msg();
            match client.try_publish(
                msg.topic.clone(),
                to_rumqttc(msg.qos),
                msg.retain,
                msg.payload.clone(),
            ) {
                Ok(()) => self.state.handed(handoff),
                Err(e) => self.state.refused(handoff, &e),
            }
        }
    }

    /// After a broken connection: empties rumqttc's `pending` (we re-send from our own records)
    /// and replaces its `MqttState`, which `clean()` leaves with buffered events of the dead
    /// connection (an `Outgoing::Publish` whose write failed would otherwise be reported after the
    /// next ConnAck) and possibly a stuck pkid collision; the state requeues what was
    /// unacknowledged. Returns how many were requeued.
    fn connection_lost(&mut self, eventloop: &mut EventLoop) -> usize {
        eventloop.pending.clear();
        eventloop.state = MqttState::new(CLIENT_WINDOW as u16, false);
        self.state.connection_lost()
    }

    /// At the end: counts what was never confirmed as delivered.
    fn drop_unsent(&mut self, why: &'static str) {
        self.close_and_drain();
        self.state.drop_unsent(why);
    }
}

enum ConnectOutcome {
    Connected,
    Failed(ConnectionError),
    Shutdown,
}

/// One connection attempt (TCP + CONNECT/ConnAck), accepting messages meanwhile. A shutdown
/// during the attempt lets it finish for at most [`FLUSH_TIMEOUT`], so what a short run queued
/// before its first ConnAck is still flushed.
async fn connect(
    eventloop: &mut EventLoop,
    queues: &mut Queues,
    shutdown: &Shutdown,
) -> ConnectOutcome {
    let poll = eventloop.poll();
    tokio::pin!(poll);
    let mut give_up_at: Option<Instant> = None;
    loop {
        queues.turned();
        queues.arm_sync();
        tokio::select! {
            _ = next_tick(&mut queues.tick), if queues.tick.is_some() => {}
            _ = sleep_or_forever(queues.sync_at), if queues.sync_at.is_some() => queues.sync_outbox(),
            result = &mut poll => {
                return match result {
                    // With no network, poll's only success is the ConnAck.
                    Ok(_) => ConnectOutcome::Connected,
                    Err(e) => ConnectOutcome::Failed(e),
                };
            }
            msg = queues.rx.recv(), if queues.rx_open => queues.accept(msg),
            _ = shutdown.wait(), if give_up_at.is_none() => {
                give_up_at = Some(Instant::now() + FLUSH_TIMEOUT);
            }
            _ = sleep_or_forever(give_up_at), if give_up_at.is_some() => {
                return ConnectOutcome::Shutdown;
            }
        }
    }
}

/// Waits `delay` (forever when `None`) or until shutdown, accepting messages meanwhile; returns
/// true on shutdown.
async fn wait_offline(delay: Option<Duration>, queues: &mut Queues, shutdown: &Shutdown) -> bool {
    let sleep = sleep_or_forever(delay.map(|d| Instant::now() + d));
    tokio::pin!(sleep);
    loop {
        queues.turned();
        queues.arm_sync();
        tokio::select! {
            _ = next_tick(&mut queues.tick), if queues.tick.is_some() => {}
            _ = sleep_or_forever(queues.sync_at), if queues.sync_at.is_some() => queues.sync_outbox(),
            _ = &mut sleep => return false,
            _ = shutdown.wait() => return true,
            msg = queues.rx.recv(), if queues.rx_open => queues.accept(msg),
        }
    }
}

/// A watchdog ticker at `period` (a late tick is not made up in a burst).
fn ticker(period: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// The next watchdog tick (never, without a ticker).
async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_or_forever(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

enum ServeOutcome {
    /// Shutdown handled (flushed or timed out) and DISCONNECT sent.
    Finished,
    /// The connection broke.
    Lost(ConnectionError),
}

enum Step {
    Event(Result<Event, ConnectionError>),
    Flushed,
    FlushTimedOut,
}

/// Runs one established connection until it breaks or shutdown has been handled.
async fn serve(
    client: &AsyncClient,
    eventloop: &mut EventLoop,
    queues: &mut Queues,
    shutdown: &Shutdown,
) -> ServeOutcome {
    let mut flush_deadline: Option<Instant> = None;
    loop {
        let step = {
            // One poll future, kept across hand-offs: it is only dropped once it has finished.
            let poll = eventloop.poll();
            tokio::pin!(poll);
            loop {
                queues.turned();
                queues.fill_window(client);
                if queues.state.flushed() {
                    break Step::Flushed;
                }
                queues.arm_sync();
                tokio::select! {
                    _ = next_tick(&mut queues.tick), if queues.tick.is_some() => {}
                    _ = sleep_or_forever(queues.sync_at), if queues.sync_at.is_some() => queues.sync_outbox(),
                    result = &mut poll => break Step::Event(result),
                    msg = queues.rx.recv(), if queues.rx_open => queues.accept(msg),
                    _ = shutdown.wait(), if flush_deadline.is_none() => {
                        flush_deadline = Some(Instant::now() + FLUSH_TIMEOUT);
                        queues.close_and_drain();
                        queues.state.begin_flush();
                    }
                    _ = sleep_or_forever(flush_deadline), if flush_deadline.is_some() => {
                        break Step::FlushTimedOut;
                    }
                }
            }
        };
        match step {
            Step::Event(Ok(event)) => {
                if let (Event::Incoming(Incoming::Publish(publish)), Some(subs)) =
                    (&event, queues.subscriptions.as_ref())
                {
                    subs.deliver(Inbound::Message {
                        topic: publish.topic.clone(),
                        payload: publish.payload.to_vec(),
                        retained: publish.retain,
                    });
                }
                queues.state.on_event(&event);
            }
            Step::Event(Err(error)) if flush_deadline.is_some() => {
                tracing::warn!("mqtt connection lost while flushing at shutdown: {error}");
                return ServeOutcome::Finished;
            }
            Step::Event(Err(error)) => return ServeOutcome::Lost(error),
            Step::Flushed => {
                tracing::info!("mqtt flushed; disconnecting");
                disconnect(client, eventloop).await;
                return ServeOutcome::Finished;
            }
            Step::FlushTimedOut => {
                tracing::warn!(
                    unacknowledged = queues.state.unfinished(),
                    queued = queues.state.queued(),
                    "mqtt flush at shutdown timed out after {FLUSH_TIMEOUT:?}; disconnecting"
                );
                disconnect(client, eventloop).await;
                return ServeOutcome::Finished;
            }
        }
    }
}

/// Sends DISCONNECT (so the broker discards our will) and waits, bounded, until it is written.
async fn disconnect(client: &AsyncClient, eventloop: &mut EventLoop) {
    if client.try_disconnect().is_err() {
        return;
    }
    let written = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    if tokio::time::timeout(DISCONNECT_TIMEOUT, written)
        .await
        .is_err()
    {
        tracing::debug!("mqtt DISCONNECT not written within {DISCONNECT_TIMEOUT:?}");
    }
}
