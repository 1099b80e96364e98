//! The publisher's message state, apart from the connection (rumqttc's own `state.rs` /
//! `eventloop.rs` split): [`PublishState`] decides what to hand to the client on each event —
//! a message in, a ConnAck, a written publish, a PubAck, the connection lost, shutdown — and does
//! no I/O, so its queueing, in-flight and requeue rules are tested here without a broker. The
//! driver (`driver.rs`) owns the client and the event loop and only carries out its answers.

use std::sync::Arc;

use rumqttc::{Event, Incoming, Outgoing};

use super::events::{ClientRefused, Dropped};
use super::inflight::InFlight;
use super::journal::{Journal, is_durable};
use super::memory_queue::{MemoryQueue, Queued};
use crate::health::{Counter, Metrics};
use crate::publish::{Message, MessageKind, Qos};

/// Availability payloads on `{topic_prefix}/{device}/status`.
pub(crate) const ONLINE: &str = "online";
/// See [`ONLINE`]; also the last will.
pub(crate) const OFFLINE: &str = "offline";

/// A message to hand to the client now; give it back with [`PublishState::handed`] or
/// [`PublishState::refused`].
#[derive(Debug)]
pub(crate) struct Handoff {
    pub(crate) msg: Message,
    /// Its place in the durable outbox, if it is there.
    seq: Option<u64>,
    /// Whether to send it again after a connection loss (not for availability announcements,
    /// which are re-announced anyway).
    requeue: bool,
}

/// Queue, window and availability state of one publisher; see the module docs.
#[derive(Debug)]
pub(crate) struct PublishState {
    queue: MemoryQueue,
    /// The durable outbox, when there is one.
    journal: Option<Box<dyn Journal>>,
    /// Outbox records from this seq on are on disk only (the queue was full, or they are from an
    /// earlier run); they are read back, in order, as the queue drains.
    spill_from: Option<u64>,
    inflight: InFlight,
    /// Most messages handed to the client and not finished.
    window: usize,
    status_topic: String,
    connected: bool,
    /// The `online` announcement is due (set by each ConnAck).
    online_due: bool,
    /// Shutdown began: everything accepted is queued, `offline` goes last.
    flushing: bool,
    offline_handed: bool,
    metrics: Arc<Metrics>,
}

impl PublishState {
    /// Empty state: not connected, at most `offline_queue_max` messages in memory, at most
    /// `window` handed and unfinished, availability on `status_topic`; durable messages written
    /// ahead to `journal` (what it already holds goes first).
    pub(crate) fn new(
        offline_queue_max: usize,
        window: usize,
        status_topic: String,
        journal: Option<Box<dyn Journal>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            queue: MemoryQueue::new(offline_queue_max),
            spill_from: journal.as_ref().and_then(|j| j.first_waiting()),
            journal,
            inflight: InFlight::default(),
            window,
            status_topic,
            connected: false,
            online_due: false,
            flushing: false,
            offline_handed: false,
            metrics,
        }
    }

    /// A message from a stage. While disconnected a QoS 0 message is dropped (a stale partial is
    /// worthless) and a QoS 1 one waits; when the queue is full the oldest message makes room.
    pub(crate) fn message_in(&mut self, msg: Message) {
        if !self.connected && msg.qos == Qos::AtMostOnce {
            Dropped {
                count: 1,
                why: "QoS 0 message while disconnected",
            }
            .emit(&self.metrics);
        } else {
            self.queue(msg);
        }
    }

    /// Queues `msg` behind anything older, whatever the connection (the shutdown drain). A
    /// durable message is written to the outbox first; when the memory queue is full it stays on
    /// disk only, to be read back later.
    pub(crate) fn queue(&mut self, msg: Message) {
        if let Some(seq) = self.append_to_outbox(&msg) {
            if self.spill_from.is_none() && self.queue.len() < self.queue.max() {
                self.queue.push_back(Queued {
                    msg,
                    seq: Some(seq),
                });
            } else {
                self.spill_from.get_or_insert(seq);
            }
            return;
        }
        let Some(dropped) = self.queue.push_back(Queued::memory(msg)) else {
            return;
        };
        Dropped {
            count: 1,
            why: match (self.connected, dropped.msg.qos) {
                (false, _) => "offline queue full; the oldest message was dropped",
                (true, Qos::AtMostOnce) => "queue full; a QoS 0 message was dropped",
                (true, Qos::AtLeastOnce) => "queue full; the oldest message was dropped",
            },
        }
        .emit(&self.metrics);
    }

    /// Writes a durable `msg` ahead; its outbox seq, or `None` when memory alone holds it.
    fn append_to_outbox(&mut self, msg: &Message) -> Option<u64> {
        if !is_durable(msg) {
            return None;
        }
        let journal = self.journal.as_mut()?;
        let seq = journal.append(msg);
        if let Some(through) = journal.take_dropped_through() {
            // Counted and logged by the journal.
            self.queue.drop_outbox_through(through);
            self.spill_from = self.spill_from.map(|from| from.max(through + 1));
        }
        seq
    }

    /// Reads spilled outbox records back once the memory queue is at most half full.
    fn refill(&mut self) {
        let (Some(from), Some(journal)) = (self.spill_from, self.journal.as_mut()) else {
            return;
        };
        let max = self.queue.max();
        if self.queue.len() > max / 2 {
            return;
        }
        let want = max - self.queue.len();
        let records = journal.read_from(from, want);
        self.spill_from = match records.last() {
            Some((last, _)) if records.len() == want => Some(last + 1),
            _ => None,
        };
        for (seq, msg) in records {
            self.queue.push_back(Queued {
                msg,
                seq: Some(seq),
            });
        }
    }

    /// Whether the outbox has something to make durable ([`sync_outbox`](Self::sync_outbox)).
    pub(crate) fn outbox_needs_sync(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| j.needs_sync())
    }

    /// Makes the outbox durable as its fsync policy asks (the driver calls this at most once a
    /// second while [`outbox_needs_sync`](Self::outbox_needs_sync)).
    pub(crate) fn sync_outbox(&mut self) {
        if let Some(journal) = self.journal.as_mut() {
            journal.sync();
        }
    }

    /// The broker accepted the connection: `online` goes first, then the queue.
    pub(crate) fn connected(&mut self) {
        self.connected = true;
        self.online_due = true;
    }

    /// The next message to hand to the client, if the window has room: `online` after a
    /// ConnAck, then the queue in order, then (when flushing) `offline`.
    pub(crate) fn next_handoff(&mut self) -> Option<Handoff> {
        if !self.connected || self.inflight.len() >= self.window {
            return None;
        }
        if self.online_due {
            self.online_due = false;
            return Some(Handoff {
                msg: status(&self.status_topic, ONLINE),
                seq: None,
                requeue: false,
            });
        }
        self.refill();
        if let Some(Queued { msg, seq }) = self.queue.pop_front() {
            return Some(Handoff {
                msg,
                seq,
                requeue: true,
            });
        }
        if self.flushing && !self.offline_handed {
            self.offline_handed = true;
            return Some(Handoff {
                msg: status(&self.status_topic, OFFLINE),
                seq: None,
                requeue: false,
            });
        }
        None
    }

    /// The client took `handoff`.
    pub(crate) fn handed(&mut self, handoff: Handoff) {
        self.metrics.incr(Counter::MqttPublished);
        let queued = Queued {
            msg: handoff.msg,
            seq: handoff.seq,
        };
        self.inflight.handed(queued, handoff.requeue);
    }

    /// The client refused `handoff` (not expected: topics are checked by the client and the
    /// window keeps its channel from filling up).
    pub(crate) fn refused(&mut self, handoff: Handoff, reason: &dyn std::fmt::Display) {
        ClientRefused {
            topic: &handoff.msg.topic,
            reason,
        }
        .emit(&self.metrics);
        // Given up: it must not hold the outbox's watermark back.
        self.outbox_acked(handoff.seq);
    }

    /// Books an event from the client's event loop (written publishes and PubAcks).
    pub(crate) fn on_event(&mut self, event: &Event) {
        match event {
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                let in_order = self.inflight.written(*pkid);
                if !in_order {
                    tracing::warn!(
                        pkid,
                        "mqtt: written publish does not match the hand-off order"
                    );
                }
            }
            Event::Incoming(Incoming::PubAck(ack)) => match self.inflight.acked(ack.pkid) {
                Some(queued) => self.outbox_acked(queued.seq),
                None => tracing::debug!(pkid = ack.pkid, "mqtt: PubAck for nothing in flight"),
            },
            _ => {}
        }
    }

    fn outbox_acked(&mut self, seq: Option<u64>) {
        if let (Some(seq), Some(journal)) = (seq, self.journal.as_mut()) {
            journal.acked(seq);
        }
    }

    /// The connection broke: unacknowledged QoS 1 messages go back in front of newer ones (sent
    /// again after the next ConnAck), QoS 0 ones are dropped. Returns how many were requeued.
    pub(crate) fn connection_lost(&mut self) -> usize {
        self.connected = false;
        self.online_due = false;
        let leftovers = self.inflight.take_leftovers();
        let requeued = leftovers.requeue.len();
        let overflow = self.queue.requeue_front(leftovers.requeue);
        Dropped {
            count: leftovers.lost_at_most_once + self.queue.drop_at_most_once(),
            why: "QoS 0 messages lost with the connection",
        }
        .emit(&self.metrics);
        Dropped {
            count: overflow,
            why: "offline queue full; the oldest messages were dropped",
        }
        .emit(&self.metrics);
        requeued
    }

    /// Shutdown began (the driver has queued what the stages had sent): the queue is sent, then
    /// `offline`.
    pub(crate) fn begin_flush(&mut self) {
        self.flushing = true;
    }

    /// Everything, `offline` included, was handed and finished.
    pub(crate) fn flushed(&self) -> bool {
        self.offline_handed && self.inflight.is_empty()
    }

    /// At the end: counts what was never confirmed as delivered; what the outbox holds stays
    /// there for the next start.
    pub(crate) fn drop_unsent(&mut self, why: &'static str) {
        let leftovers = self.inflight.take_leftovers();
        let kept = self.queue.len() - self.queue.memory_only()
            + leftovers.requeue.iter().filter(|q| q.seq.is_some()).count();
        Dropped {
            count: self.queue.memory_only()
                + leftovers.requeue.iter().filter(|q| q.seq.is_none()).count()
                + leftovers.lost_at_most_once,
            why,
        }
        .emit_warn(&self.metrics);
        if kept > 0 || self.spill_from.is_some() {
            tracing::info!(
                in_memory = kept,
                more_on_disk = self.spill_from.is_some(),
                "outbox: unacknowledged messages stay in the outbox and are sent after the next start"
            );
        }
        self.queue = MemoryQueue::new(1);
        self.spill_from = None;
    }

    /// Messages waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Messages handed to the client and not finished.
    pub(crate) fn unfinished(&self) -> usize {
        self.inflight.len()
    }
}

/// A retained QoS 1 availability message.
fn status(topic: &str, payload: &str) -> Message {
    Message {
        topic: topic.to_owned(),
        payload: payload.as_bytes().to_vec(),
        qos: Qos::AtLeastOnce,
        retain: true,
        kind: MessageKind::Status,
    }
}

#[cfg(test)]
mod tests {
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
            let label = if h.msg.topic == STATUS {
                String::from_utf8(h.msg.payload.clone()).unwrap()
            } else {
                h.msg.topic.clone()
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
        assert_eq!(next.msg.topic, "final/0");
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
}
