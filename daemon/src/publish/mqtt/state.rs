//! The publisher's message state, apart from the connection (rumqttc's own `state.rs` /
//! `eventloop.rs` split): [`PublishState`] decides what to hand to the client on each event —
//! a message in, a ConnAck, a written publish, a PubAck, the connection lost, shutdown — and does
//! no I/O, so its queueing, in-flight and requeue rules are tested here without a broker. The
//! driver (`driver.rs`) owns the client and the event loop and only carries out its answers.

use std::sync::Arc;

use rumqttc::{Event, Incoming, Outgoing};

use super::events::Dropped;
use super::inflight::InFlight;
use super::outbox::Outbox;
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
    /// Whether to send it again after a connection loss (not for availability announcements,
    /// which are re-announced anyway).
    requeue: bool,
}

/// Queue, window and availability state of one publisher; see the module docs.
#[derive(Debug)]
pub(crate) struct PublishState {
    outbox: Outbox,
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
    /// Empty state: not connected, at most `offline_queue_max` messages queued, at most `window`
    /// handed and unfinished, availability on `status_topic`.
    pub(crate) fn new(
        offline_queue_max: usize,
        window: usize,
        status_topic: String,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            outbox: Outbox::new(offline_queue_max),
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

    /// Queues `msg` behind anything older, whatever the connection (the shutdown drain).
    pub(crate) fn queue(&mut self, msg: Message) {
        let Some(dropped) = self.outbox.push_back(msg) else {
            return;
        };
        Dropped {
            count: 1,
            why: match (self.connected, dropped.qos) {
                (false, _) => "offline queue full; the oldest message was dropped",
                (true, Qos::AtMostOnce) => "queue full; a QoS 0 message was dropped",
                (true, Qos::AtLeastOnce) => "queue full; the oldest message was dropped",
            },
        }
        .emit(&self.metrics);
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
                requeue: false,
            });
        }
        if let Some(msg) = self.outbox.pop_front() {
            return Some(Handoff { msg, requeue: true });
        }
        if self.flushing && !self.offline_handed {
            self.offline_handed = true;
            return Some(Handoff {
                msg: status(&self.status_topic, OFFLINE),
                requeue: false,
            });
        }
        None
    }

    /// The client took `handoff`.
    pub(crate) fn handed(&mut self, handoff: Handoff) {
        self.metrics.incr(Counter::MqttPublished);
        self.inflight.handed(handoff.msg, handoff.requeue);
    }

    /// The client refused `handoff` (not expected: topics are checked by the client and the
    /// window keeps its channel from filling up).
    pub(crate) fn refused(&mut self, handoff: Handoff, reason: &dyn std::fmt::Display) {
        tracing::error!(
            topic = handoff.msg.topic,
            "mqtt client refused a message: {reason}"
        );
        Dropped {
            count: 1,
            why: "refused by the MQTT client",
        }
        .emit(&self.metrics);
    }

    /// Books an event from the client's event loop (written publishes and PubAcks).
    pub(crate) fn on_event(&mut self, event: &Event) {
        match event {
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                // Booked first, then judged: not a match guard, which would hide the booking.
                let in_order = self.inflight.written(*pkid);
                if !in_order {
                    tracing::warn!(
                        pkid,
                        "mqtt: written publish does not match the hand-off order"
                    );
                }
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                let acked = self.inflight.acked(ack.pkid);
                if acked.is_none() {
                    tracing::debug!(pkid = ack.pkid, "mqtt: PubAck for nothing in flight");
                }
            }
            _ => {}
        }
    }

    /// The connection broke: unacknowledged QoS 1 messages go back in front of newer ones (sent
    /// again after the next ConnAck), QoS 0 ones are dropped. Returns how many were requeued.
    pub(crate) fn connection_lost(&mut self) -> usize {
        self.connected = false;
        self.online_due = false;
        let leftovers = self.inflight.take_leftovers();
        let requeued = leftovers.requeue.len();
        let overflow = self.outbox.requeue_front(leftovers.requeue);
        Dropped {
            count: leftovers.lost_at_most_once + self.outbox.drop_at_most_once(),
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

    /// At the end: counts what was never confirmed as delivered.
    pub(crate) fn drop_unsent(&mut self, why: &'static str) {
        let leftovers = self.inflight.take_leftovers();
        Dropped {
            count: self.outbox.len() + leftovers.requeue.len() + leftovers.lost_at_most_once,
            why,
        }
        .emit_warn(&self.metrics);
        self.outbox = Outbox::new(1);
    }

    /// Messages waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.outbox.len()
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
        let state = PublishState::new(queue_max, window, STATUS.into(), metrics.clone());
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
}
