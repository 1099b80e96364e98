//! `PublishState`'s queueing, in-flight, requeue and outbox rules, without a broker.

use rumqttc::PubAck;

use super::*;

const STATUS: &str = "perceptd/box/status";

fn state(queue_max: usize, window: usize) -> (PublishState, Arc<Metrics>) {
    let metrics = Metrics::new();
    let state = PublishState::new(queue_max, window, STATUS.into(), None, metrics.clone());
    (state, metrics)
}

fn msg(topic: &str, qos: Qos) -> Message {
    Message {
        topic: topic.into(),
        payload: topic.as_bytes().to_vec(),
        qos,
        retain: false,
        kind: MessageKind::Final,
    }
}

fn final_(topic: &str) -> Message {
    msg(topic, Qos::AtLeastOnce)
}

/// Hands everything the state offers, as an accepting client would; returns the topics and
/// payloads in hand-off order.
fn hand_all(state: &mut PublishState) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(h) = state.next_handoff() {
        let label = if h.msg().topic == STATUS {
            String::from_utf8(h.msg().payload.clone()).unwrap()
        } else {
            h.msg().topic.clone()
        };
        out.push(label);
        state.handed(h);
    }
    out
}

/// The client wrote the next handed publishes with these packet ids (0 for QoS 0).
fn written(state: &mut PublishState, pkids: impl IntoIterator<Item = u16>) {
    for pkid in pkids {
        state.on_event(&Event::Outgoing(Outgoing::Publish(pkid)));
    }
}

fn acked(state: &mut PublishState, pkids: impl IntoIterator<Item = u16>) {
    for pkid in pkids {
        state.on_event(&Event::Incoming(Incoming::PubAck(PubAck::new(pkid))));
    }
}

#[test]
fn offline_the_queue_is_bounded_and_counts_what_it_drops() {
    let (mut state, metrics) = state(3, 64);
    state.message_in(msg("partial", Qos::AtMostOnce));
    for n in 0..5 {
        state.message_in(final_(&format!("final/{n}")));
    }
    assert_eq!(state.queued(), 3);
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        3,
        "the partial and the two oldest finals"
    );
    assert!(state.next_handoff().is_none(), "nothing is handed offline");
    state.connected();
    assert_eq!(
        hand_all(&mut state),
        ["online", "final/2", "final/3", "final/4"]
    );
    assert_eq!(metrics.get(Counter::MqttPublished), 4);
}

#[test]
fn finals_keep_their_order_across_the_window_and_a_reconnect() {
    let (mut state, _) = state(100, 3);
    state.connected();
    for n in 0..5 {
        state.message_in(final_(&format!("final/{n}")));
    }
    assert_eq!(hand_all(&mut state), ["online", "final/0", "final/1"]);
    written(&mut state, [1, 2, 3]);
    acked(&mut state, [1, 2]);
    assert_eq!(hand_all(&mut state), ["final/2", "final/3"]);
    // final/1 (pkid 3) and final/2, final/3 (in the client's channel) are unfinished.
    assert_eq!(state.connection_lost(), 3);
    state.message_in(final_("final/5"));
    state.connected();
    assert_eq!(
        hand_all(&mut state),
        ["online", "final/1", "final/2"],
        "window of 3"
    );
    written(&mut state, [1, 2, 3]);
    acked(&mut state, [1, 2, 3]);
    assert_eq!(hand_all(&mut state), ["final/3", "final/4", "final/5"]);
}

#[test]
fn an_unacknowledged_final_is_sent_again_after_the_connection_is_lost() {
    let (mut state, metrics) = state(100, 64);
    state.connected();
    state.message_in(final_("final/0"));
    state.message_in(msg("partial", Qos::AtMostOnce));
    assert_eq!(hand_all(&mut state), ["online", "final/0", "partial"]);
    written(&mut state, [1, 2, 0]);
    acked(&mut state, [1]);
    assert_eq!(state.unfinished(), 1, "final/0 awaits its PubAck");
    assert_eq!(state.connection_lost(), 1);
    assert_eq!(state.unfinished(), 0);
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        0,
        "the partial was written"
    );
    state.connected();
    assert_eq!(hand_all(&mut state), ["online", "final/0"]);
}

#[test]
fn qos0_messages_are_lost_with_the_connection_and_counted() {
    let (mut state, metrics) = state(100, 2);
    state.connected();
    for n in 0..4 {
        state.message_in(msg(&format!("partial/{n}"), Qos::AtMostOnce));
    }
    assert_eq!(hand_all(&mut state), ["online", "partial/0"]);
    assert_eq!(state.connection_lost(), 0);
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        4,
        "one in the client's channel, three queued"
    );
    assert_eq!(state.queued(), 0);
}

#[test]
fn requeued_finals_beyond_the_bound_drop_the_oldest() {
    let (mut state, metrics) = state(2, 64);
    state.connected();
    state.message_in(final_("final/0"));
    state.message_in(final_("final/1"));
    assert_eq!(hand_all(&mut state), ["online", "final/0", "final/1"]);
    state.message_in(final_("final/2"));
    state.message_in(final_("final/3"));
    state.connection_lost();
    assert_eq!(metrics.get(Counter::MqttDropped), 2);
    state.connected();
    assert_eq!(hand_all(&mut state), ["online", "final/2", "final/3"]);
}

#[test]
fn flush_sends_the_queue_then_offline_and_finishes_on_the_last_ack() {
    let (mut state, metrics) = state(100, 64);
    state.connected();
    assert_eq!(hand_all(&mut state), ["online"]);
    state.queue(final_("final/0"));
    state.begin_flush();
    assert!(!state.flushed());
    assert_eq!(hand_all(&mut state), ["final/0", "offline"]);
    assert!(state.next_handoff().is_none(), "offline goes once");
    written(&mut state, [1, 2, 3]);
    acked(&mut state, [1, 2]);
    assert!(!state.flushed());
    acked(&mut state, [3]);
    assert!(state.flushed());
    state.drop_unsent("never");
    assert_eq!(metrics.get(Counter::MqttDropped), 0);
}

#[test]
fn what_is_never_confirmed_is_counted_at_the_end() {
    let (mut state, metrics) = state(100, 2);
    state.connected();
    for n in 0..4 {
        state.message_in(final_(&format!("final/{n}")));
    }
    hand_all(&mut state); // online, final/0
    state.drop_unsent("shutdown");
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        4,
        "final/0 unacknowledged, three queued; not the announcement"
    );
}

#[test]
fn a_refused_message_is_counted_and_frees_its_slot() {
    let (mut state, metrics) = state(100, 1);
    state.connected();
    state.message_in(final_("final/0"));
    let online = state.next_handoff().unwrap();
    state.refused(online, &"test");
    let next = state.next_handoff().unwrap();
    assert_eq!(next.msg().topic, "final/0");
    assert_eq!(metrics.get(Counter::MqttDropped), 1);
}

/// An outbox in memory: records kept until acknowledged; `fail_after` appends it refuses.
#[derive(Debug, Default)]
struct FakeJournal {
    records: std::collections::BTreeMap<u64, Message>,
    next: u64,
    acked: Arc<std::sync::Mutex<Vec<u64>>>,
    fail_after: Option<usize>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl Journal for FakeJournal {
    fn append(&mut self, msg: &Message) -> Option<u64> {
        if self.fail_after.is_some_and(|n| self.records.len() >= n) {
            return None;
        }
        self.next += 1;
        self.records.insert(self.next, msg.clone());
        Some(self.next)
    }
    fn acked(&mut self, seq: u64) {
        self.records.remove(&seq);
        self.acked.lock().unwrap().push(seq);
    }
    fn read_from(&mut self, from: u64, max: usize) -> Vec<(u64, Message)> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.records
            .range(from..)
            .take(max)
            .map(|(s, m)| (*s, m.clone()))
            .collect()
    }
    fn first_waiting(&self) -> Option<u64> {
        self.records.keys().next().copied()
    }
    fn take_dropped_through(&mut self) -> Option<u64> {
        None
    }
    fn needs_sync(&self) -> bool {
        false
    }
    fn sync(&mut self) {}
}

fn durable_state(
    queue_max: usize,
    window: usize,
    journal: FakeJournal,
) -> (PublishState, Arc<Metrics>) {
    let metrics = Metrics::new();
    let state = PublishState::new(
        queue_max,
        window,
        STATUS.into(),
        Some(Box::new(journal)),
        metrics.clone(),
    );
    (state, metrics)
}

#[test]
fn with_an_outbox_no_final_is_dropped_offline_and_memory_stays_bounded() {
    let (mut state, metrics) = durable_state(3, 64, FakeJournal::default());
    for n in 0..10 {
        state.message_in(final_(&format!("final/{n}")));
    }
    assert_eq!(state.queued(), 3, "memory holds offline_queue_max");
    assert_eq!(metrics.get(Counter::MqttDropped), 0);
    state.connected();
    let mut handed = Vec::new();
    // A window of 64 lets everything go: the outbox is read back as memory drains.
    handed.extend(hand_all(&mut state));
    let expected: Vec<String> = std::iter::once("online".to_string())
        .chain((0..10).map(|n| format!("final/{n}")))
        .collect();
    assert_eq!(handed, expected, "in order, none lost");
}

#[test]
fn acknowledged_finals_are_released_from_the_outbox_and_unacked_ones_stay() {
    let journal = FakeJournal::default();
    let acked_seqs = journal.acked.clone();
    let (mut state, _) = durable_state(100, 64, journal);
    state.connected();
    state.message_in(final_("final/0"));
    state.message_in(final_("final/1"));
    state.message_in(msg("partial", Qos::AtMostOnce));
    assert_eq!(
        hand_all(&mut state),
        ["online", "final/0", "final/1", "partial"]
    );
    written(&mut state, [1, 2, 3, 0]);
    acked(&mut state, [1, 3]); // online and final/1
    assert_eq!(*acked_seqs.lock().unwrap(), [2], "final/1 is outbox seq 2");
    state.drop_unsent("shutdown");
    // final/0 (seq 1) stays in the outbox for the next start: not counted as dropped.
    assert_eq!(*acked_seqs.lock().unwrap(), [2]);
}

#[test]
fn what_an_earlier_run_left_goes_first() {
    let mut journal = FakeJournal::default();
    journal.append(&final_("old/0"));
    journal.append(&final_("old/1"));
    let (mut state, _) = durable_state(100, 64, journal);
    state.connected();
    state.message_in(final_("new/0"));
    assert_eq!(hand_all(&mut state), ["online", "old/0", "old/1", "new/0"]);
}

#[test]
fn when_the_outbox_fails_finals_fall_back_to_the_memory_queue() {
    let journal = FakeJournal {
        fail_after: Some(1),
        ..FakeJournal::default()
    };
    let (mut state, metrics) = durable_state(2, 64, journal);
    for n in 0..4 {
        state.message_in(final_(&format!("final/{n}")));
    }
    assert_eq!(
        metrics.get(Counter::MqttDropped),
        2,
        "final/1 and final/2 made room; final/0 is in the outbox and stays"
    );
    state.connected();
    assert_eq!(hand_all(&mut state), ["online", "final/0", "final/3"]);
}

#[test]
fn non_durable_qos1_messages_keep_the_old_rules() {
    let (mut state, metrics) = durable_state(2, 64, FakeJournal::default());
    let embedding = |n: u32| Message {
        kind: MessageKind::Embedding,
        ..final_(&format!("emb/{n}"))
    };
    for n in 0..3 {
        state.message_in(embedding(n));
    }
    assert_eq!(metrics.get(Counter::MqttDropped), 1);
    state.connected();
    assert_eq!(hand_all(&mut state), ["online", "emb/1", "emb/2"]);
}

#[test]
fn reading_back_happens_in_batches_not_per_message() {
    let journal = FakeJournal::default();
    let reads = journal.reads.clone();
    let (mut state, _) = durable_state(10, 1000, journal);
    for n in 0..100 {
        state.message_in(final_(&format!("final/{n}")));
    }
    let before = reads.load(std::sync::atomic::Ordering::Relaxed);
    state.connected();
    assert_eq!(hand_all(&mut state).len(), 101);
    let reads = reads.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(reads <= 20, "{reads} reads for 90 spilled finals");
}
