//! The MQTT publisher against real brokers: Mosquitto on 127.0.0.1:1883, the embedded rumqttd, and
//! a private Mosquitto that is stopped and restarted under the driver. Plus a fault-injecting
//! proxy that loses a publish on the wire, to show the driver re-sends what rumqttc would drop.
//!
//! Topics are unique per test run (process id + a counter) because the shared broker serves other
//! tests; retained messages are cleared at the end.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use common::stream::PrivateBroker;
use perceptd::health::{Counter, Metrics};
use perceptd::publish::embedded::EMBEDDED_BROKER_MAX_PAYLOAD_BYTES;
use perceptd::publish::mqtt::{BrokerUrlError, MqttConfig, MqttPublisher};
use perceptd::publish::{
    Message, MessageKind, PublishError, Publisher, Qos, start_embedded_broker,
};
use perceptd::shutdown::Shutdown;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

const PREFIX: &str = "perceptd-test";
const SHARED_MOSQUITTO: &str = "mqtt://127.0.0.1:1883";
/// Bound on every wait for a message; generous because the machine may be busy compiling.
const WAIT: Duration = Duration::from_secs(15);

/// Logs to the test output, filtered by `RUST_LOG` (nothing by default).
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A device name nobody else uses.
fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn config(url: &str) -> MqttConfig {
    MqttConfig {
        url: Some(url.to_owned()),
        topic_prefix: PREFIX.to_owned(),
        reconnect_min_ms: 100,
        reconnect_max_ms: 1_000,
        ..MqttConfig::default()
    }
}

fn final_message(device: &str, text: &str) -> Message {
    Message {
        topic: format!("{PREFIX}/{device}/final"),
        payload: format!(r#"{{"text":"{text}"}}"#).into_bytes(),
        qos: Qos::AtLeastOnce,
        retain: false,
        kind: MessageKind::Final,
    }
}

fn host_port(url: &str) -> (String, u16) {
    let rest = url.strip_prefix("mqtt://").expect("mqtt:// url");
    let (host, port) = rest.rsplit_once(':').expect("url with port");
    (host.to_owned(), port.parse().expect("port"))
}

/// Polls `condition` every 10 ms until it holds; panics with `what` after `WAIT`.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    timeout(WAIT, async {
        while !condition() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

/// One received publish.
#[derive(Debug, Clone)]
struct Received {
    topic: String,
    payload: String,
    retain: bool,
}

/// A rumqttc subscriber whose event loop runs in a task, reconnecting every 100 ms after errors.
struct Subscriber {
    rx: mpsc::UnboundedReceiver<Received>,
    seen: Vec<Received>,
    task: JoinHandle<()>,
    subscribed: Arc<Notify>,
}

impl Subscriber {
    /// Subscribes to `filter` at QoS 1; returns once the SubAck arrived. With `client_id`, the
    /// session is persistent (clean_session = false) and the filter is subscribed only once.
    async fn start(url: &str, filter: &str, client_id: Option<&str>) -> Subscriber {
        let (host, port) = host_port(url);
        let id = client_id.map_or_else(|| unique("sub"), str::to_owned);
        let mut options = MqttOptions::new(id, host, port);
        options.set_clean_session(client_id.is_none());
        options.set_max_packet_size(4 << 20, 4 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        let (tx, rx) = mpsc::unbounded_channel();
        let subscribed = Arc::new(Notify::new());
        let notify = subscribed.clone();
        let filter = filter.to_owned();
        let persistent = client_id.is_some();
        let task = tokio::spawn(async move {
            let mut subscribed_once = false;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                        if !(persistent && subscribed_once && ack.session_present) {
                            client
                                .try_subscribe(filter.clone(), QoS::AtLeastOnce)
                                .unwrap();
                        }
                    }
                    Ok(Event::Incoming(Incoming::SubAck(_))) => {
                        subscribed_once = true;
                        notify.notify_one();
                    }
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        let _ = tx.send(Received {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        });
                    }
                    Ok(_) => {}
                    Err(_) => sleep(Duration::from_millis(100)).await,
                }
            }
        });
        timeout(WAIT, subscribed.notified())
            .await
            .expect("subscriber got its SubAck");
        Subscriber {
            rx,
            seen: Vec::new(),
            task,
            subscribed,
        }
    }

    /// Waits for the first message (from now on) that `matches`; panics with what was seen.
    async fn expect(&mut self, what: &str, matches: impl Fn(&Received) -> bool) -> Received {
        let found = timeout(WAIT, async {
            loop {
                let msg = self.rx.recv().await.expect("subscriber task alive");
                self.seen.push(msg.clone());
                if matches(&msg) {
                    return msg;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}; saw {:#?}", self.seen))
    }

    /// Everything received so far (including what `expect` already returned).
    fn drain(&mut self) -> &[Received] {
        while let Ok(msg) = self.rx.try_recv() {
            self.seen.push(msg);
        }
        &self.seen
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
        let _ = &self.subscribed;
    }
}

/// Publishes an empty retained message so the broker forgets `topic`'s retained value.
async fn clear_retained(url: &str, topic: &str) {
    let (host, port) = host_port(url);
    let (client, mut eventloop) =
        AsyncClient::new(MqttOptions::new(unique("clear"), host, port), 10);
    client
        .publish(topic, QoS::AtLeastOnce, true, Vec::new())
        .await
        .unwrap();
    let _ = timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

fn is_status(device: &str, payload: &'static str) -> impl Fn(&Received) -> bool {
    let topic = format!("{PREFIX}/{device}/status");
    move |m| m.topic == topic && m.payload == payload
}

/// The conformance check every broker passes: retained `online` after connecting, a QoS 1 final
/// delivered, and after shutdown `offline` (retained) and a closed publisher.
async fn check_online_final_offline(url: &str) {
    init_logs();
    let device = unique("conformance");
    let status_topic = format!("{PREFIX}/{device}/status");
    let metrics = Metrics::new();
    let (publisher, driver) = MqttPublisher::new(&config(url), &device, metrics.clone());
    let shutdown = Shutdown::new();
    let run = tokio::spawn(driver.run(shutdown.clone()));

    wait_until("the driver is connected", || {
        metrics.get(Counter::MqttConnected) == 1
    })
    .await;
    let mut sub = Subscriber::start(url, &format!("{PREFIX}/{device}/#"), None).await;
    sub.expect("online", is_status(&device, "online")).await;

    publisher
        .try_publish(final_message(&device, "hello"))
        .unwrap();
    let got = sub
        .expect("the final", |m| m.topic.ends_with("/final"))
        .await;
    assert_eq!(got.payload, r#"{"text":"hello"}"#);

    // A subscriber arriving later gets the retained availability.
    let mut late = Subscriber::start(url, &status_topic, None).await;
    let retained = late
        .expect("retained online", is_status(&device, "online"))
        .await;
    assert!(retained.retain, "online is retained");

    shutdown.trigger();
    timeout(Duration::from_secs(5), run)
        .await
        .expect("run returns within the flush bound")
        .expect("driver task did not panic");
    sub.expect("offline", is_status(&device, "offline")).await;
    let mut after = Subscriber::start(url, &status_topic, None).await;
    let retained = after
        .expect("retained offline", is_status(&device, "offline"))
        .await;
    assert!(retained.retain, "offline is retained");

    assert!(matches!(
        publisher.try_publish(final_message(&device, "late")),
        Err(PublishError::Closed(_))
    ));
    assert_eq!(metrics.get(Counter::MqttDropped), 0);
    assert_eq!(metrics.get(Counter::MqttConnectAttempts), 1);
    assert_eq!(metrics.get(Counter::MqttDisconnects), 0);
    // online + final + offline
    assert_eq!(metrics.get(Counter::MqttPublished), 3);
    clear_retained(url, &status_topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_sees_online_then_a_final_then_offline_after_shutdown() {
    check_online_final_offline(SHARED_MOSQUITTO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_sees_online_then_a_final_then_offline_after_shutdown() {
    let addr = start_embedded_broker().expect("embedded broker starts");
    check_online_final_offline(&format!("mqtt://{addr}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_carries_the_largest_payload_it_allows() {
    init_logs();
    let url = format!(
        "mqtt://{}",
        start_embedded_broker().expect("embedded broker starts")
    );
    let device = unique("largest");
    let cfg = MqttConfig {
        max_payload_bytes: EMBEDDED_BROKER_MAX_PAYLOAD_BYTES,
        ..config(&url)
    };
    assert!(cfg.validate("mqtt").is_empty());
    let mut sub = Subscriber::start(&url, &format!("{PREFIX}/{device}/#"), None).await;
    let metrics = Metrics::new();
    let (publisher, driver) = MqttPublisher::new(&cfg, &device, metrics.clone());
    let shutdown = Shutdown::new();
    let run = tokio::spawn(driver.run(shutdown.clone()));
    let mut msg = final_message(&device, "");
    msg.payload = vec![b'x'; EMBEDDED_BROKER_MAX_PAYLOAD_BYTES];
    publisher.try_publish(msg).unwrap();
    let got = sub
        .expect("the largest final", |m| m.topic.ends_with("/final"))
        .await;
    assert_eq!(got.payload.len(), EMBEDDED_BROKER_MAX_PAYLOAD_BYTES);
    shutdown.trigger();
    timeout(Duration::from_secs(5), run).await.unwrap().unwrap();
    assert_eq!(metrics.get(Counter::MqttDisconnects), 0);
    clear_retained(&url, &format!("{PREFIX}/{device}/status")).await;
}

#[test]
fn oversized_payloads_are_refused_and_counted() {
    let metrics = Metrics::new();
    let cfg = MqttConfig {
        max_payload_bytes: 1_000,
        ..config(SHARED_MOSQUITTO)
    };
    let (publisher, _driver) = MqttPublisher::new(&cfg, &unique("big"), metrics.clone());
    let mut msg = final_message("big", "x");
    msg.payload = vec![b'x'; 1_001];
    let err = publisher.try_publish(msg).unwrap_err();
    assert!(
        err.to_string()
            .contains("is 1001 bytes; max_payload_bytes is 1000"),
        "{err}"
    );
    assert_eq!(err.into_message().payload.len(), 1_001);
    assert_eq!(metrics.get(Counter::MqttDropped), 1);
}

#[test]
fn websocket_and_malformed_urls_fail_validation_with_clear_messages() {
    let problems = |url: &str| config(url).validate("mqtt");
    assert!(problems("mqtts://broker.local:8883").is_empty());
    let ws = problems("wss://broker.local:8883");
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert!(
        ws[0].starts_with("mqtt.url: wss:// is not supported"),
        "{ws:?}"
    );
    for bad in [
        "broker.local",
        "http://broker.local",
        "mqtt://",
        "mqtt://h:99999",
        "mqtt://h/x",
    ] {
        let found = problems(bad);
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert!(found[0].starts_with("mqtt.url: "), "{bad}: {found:?}");
    }
    assert!(problems("mqtt://h:99999")[0].contains("the port must be a number from 1 to 65535"));
    assert!(matches!(
        perceptd::publish::mqtt::BrokerAddr::parse("ws://h"),
        Err(BrokerUrlError::WebSocket { .. })
    ));
    assert!(problems("mqtt://127.0.0.1:1883").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finals_published_while_the_broker_is_down_arrive_after_it_restarts() {
    init_logs();
    const N: usize = 20;
    let dir = common::scratch_dir(&unique("mqtt-restart"));
    let mut broker = PrivateBroker::start(&dir);
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let device = unique("restart");

    // A persistent session: the restarted broker queues for this subscriber whatever the driver
    // sends before the subscriber is back.
    let sub_id = unique("restart-sub");
    let mut sub = Subscriber::start(&url, &format!("{PREFIX}/{device}/#"), Some(&sub_id)).await;

    let metrics = Metrics::new();
    let (publisher, driver) = MqttPublisher::new(&config(&url), &device, metrics.clone());
    let shutdown = Shutdown::new();
    let run = tokio::spawn(driver.run(shutdown.clone()));
    sub.expect("online", is_status(&device, "online")).await;
    publisher
        .try_publish(final_message(&device, "before"))
        .unwrap();
    sub.expect("the final sent before the outage", |m| {
        m.payload.contains("before")
    })
    .await;

    broker.stop();
    wait_until("the driver saw the loss", || {
        metrics.get(Counter::MqttDisconnects) == 1
    })
    .await;
    let attempts_before = metrics.get(Counter::MqttConnectAttempts);
    for i in 0..N {
        publisher
            .try_publish(final_message(&device, &format!("offline-{i}")))
            .expect("queued while the broker is down");
    }
    sleep(Duration::from_secs(3)).await;
    let attempts_during_outage = metrics.get(Counter::MqttConnectAttempts) - attempts_before;

    broker.restart();
    let mut missing: Vec<String> = (0..N).map(|i| format!("offline-{i}")).collect();
    while !missing.is_empty() {
        let got = sub
            .expect("every final queued during the outage", |m| {
                m.topic.ends_with("/final")
            })
            .await;
        missing.retain(|text| !got.payload.contains(&format!("\"{text}\"")));
    }
    let onlines = |sub: &mut Subscriber| {
        sub.drain()
            .iter()
            .filter(|m| is_status(&device, "online")(m))
            .count()
    };
    assert!(
        onlines(&mut sub) >= 2,
        "online is re-announced: {:#?}",
        sub.seen
    );

    // Backoff 100..1000 ms over ~3 s: a handful of attempts, not a spin.
    assert!(
        (2..=15).contains(&attempts_during_outage),
        "{attempts_during_outage} connect attempts during the outage"
    );
    assert_eq!(metrics.get(Counter::MqttDropped), 0);
    assert_eq!(metrics.get(Counter::MqttConnected), 2);

    shutdown.trigger();
    timeout(Duration::from_secs(5), run).await.unwrap().unwrap();
    sub.expect("offline", is_status(&device, "offline")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP proxy that can swallow client-to-broker bytes and cut every connection: the fault a
/// flaky network causes between a publish and its PubAck.
struct FaultProxy {
    addr: SocketAddr,
    swallow: Arc<AtomicBool>,
    cut: Arc<Notify>,
    swallowed_bytes: Arc<AtomicUsize>,
}

impl FaultProxy {
    async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let swallow = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(Notify::new());
        let swallowed_bytes = Arc::new(AtomicUsize::new(0));
        let (swallow2, cut2, swallowed2) = (swallow.clone(), cut.clone(), swallowed_bytes.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let (swallow, cut, swallowed) =
                    (swallow2.clone(), cut2.clone(), swallowed2.clone());
                tokio::spawn(async move {
                    let (mut client_rd, mut client_wr) = client.into_split();
                    let (mut server_rd, mut server_wr) = server.into_split();
                    let upstream = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = client_rd.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            if swallow.load(Ordering::SeqCst) {
                                swallowed.fetch_add(n, Ordering::SeqCst);
                            } else {
                                server_wr.write_all(&buf[..n]).await?;
                            }
                        }
                    };
                    let downstream = tokio::io::copy(&mut server_rd, &mut client_wr);
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        FaultProxy {
            addr,
            swallow,
            cut,
            swallowed_bytes,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_lost_on_the_wire_before_its_puback_is_sent_again_after_reconnect() {
    init_logs();
    let device = unique("lost-on-wire");
    let proxy = FaultProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 1883))).await;
    let url = format!("mqtt://{}", proxy.addr);
    let mut sub = Subscriber::start(SHARED_MOSQUITTO, &format!("{PREFIX}/{device}/#"), None).await;

    let metrics = Metrics::new();
    let (publisher, driver) = MqttPublisher::new(&config(&url), &device, metrics.clone());
    let shutdown = Shutdown::new();
    let run = tokio::spawn(driver.run(shutdown.clone()));
    sub.expect("online", is_status(&device, "online")).await;

    // The final reaches the proxy but never the broker; then the connection dies.
    proxy.swallow.store(true, Ordering::SeqCst);
    publisher
        .try_publish(final_message(&device, "precious"))
        .unwrap();
    wait_until("the final was written to the socket", || {
        proxy.swallowed_bytes.load(Ordering::SeqCst) > 0
    })
    .await;
    proxy.swallow.store(false, Ordering::SeqCst);
    proxy.cut.notify_waiters();

    let got = sub
        .expect("the final, sent again after reconnecting", |m| {
            m.topic.ends_with("/final")
        })
        .await;
    assert!(got.payload.contains("precious"));
    assert_eq!(metrics.get(Counter::MqttDisconnects), 1);
    assert_eq!(metrics.get(Counter::MqttConnected), 2);
    // online, final, online again, final again
    assert!(metrics.get(Counter::MqttPublished) >= 4);

    shutdown.trigger();
    timeout(Duration::from_secs(5), run).await.unwrap().unwrap();
    sub.expect("offline", is_status(&device, "offline")).await;
    clear_retained(SHARED_MOSQUITTO, &format!("{PREFIX}/{device}/status")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_without_pubacks_gives_up_after_the_flush_bound_and_the_will_says_offline() {
    init_logs();
    let device = unique("no-acks");
    let proxy = FaultProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 1883))).await;
    let url = format!("mqtt://{}", proxy.addr);
    let mut sub = Subscriber::start(SHARED_MOSQUITTO, &format!("{PREFIX}/{device}/#"), None).await;

    let metrics = Metrics::new();
    let (publisher, driver) = MqttPublisher::new(&config(&url), &device, metrics.clone());
    let shutdown = Shutdown::new();
    let run = tokio::spawn(driver.run(shutdown.clone()));
    sub.expect("online", is_status(&device, "online")).await;

    // From now on nothing reaches the broker: no PubAck will come, and no DISCONNECT either.
    proxy.swallow.store(true, Ordering::SeqCst);
    publisher
        .try_publish(final_message(&device, "unacked"))
        .unwrap();
    wait_until("the final was written to the socket", || {
        proxy.swallowed_bytes.load(Ordering::SeqCst) > 0
    })
    .await;
    shutdown.trigger();
    timeout(Duration::from_secs(10), run)
        .await
        .expect("run returns although PubAcks never come")
        .unwrap();
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        1,
        "the unconfirmed final is counted"
    );
    // The socket closed without DISCONNECT, so the broker publishes our will.
    let will = sub
        .expect("offline (the will)", is_status(&device, "offline"))
        .await;
    assert!(!will.payload.is_empty());
    assert!(
        !sub.drain().iter().any(|m| m.topic.ends_with("/final")),
        "the swallowed final never reached the broker"
    );
    clear_retained(SHARED_MOSQUITTO, &format!("{PREFIX}/{device}/status")).await;
}
