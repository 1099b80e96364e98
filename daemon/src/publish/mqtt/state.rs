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
    /// The message, and its place in the durable outbox if it is there.
    entry: Queued,
    /// Whether to send it again after a connection loss (not for availability announcements,
    /// which are re-announced anyway).
    requeue: bool,
}

impl Handoff {
    /// The message to hand over.
    pub(crate) fn msg(&self) -> &Message {
        &self.entry.msg
    }
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
                entry: Queued::memory(status(&self.status_topic, ONLINE)),
                requeue: false,
            });
        }
        self.refill();
        if let Some(entry) = self.queue.pop_front() {
            return Some(Handoff {
                entry,
                requeue: true,
            });
        }
        if self.flushing && !self.offline_handed {
            self.offline_handed = true;
            return Some(Handoff {
                entry: Queued::memory(status(&self.status_topic, OFFLINE)),
                requeue: false,
            });
        }
        None
    }

    /// The client took `handoff`.
    pub(crate) fn handed(&mut self, handoff: Handoff) {
        self.metrics.incr(Counter::MqttPublished);
        self.inflight.handed(handoff.entry, handoff.requeue);
    }

    /// The client refused `handoff` (not expected: topics are checked by the client and the
    /// window keeps its channel from filling up).
    pub(crate) fn refused(&mut self, handoff: Handoff, reason: &dyn std::fmt::Display) {
        ClientRefused {
            topic: &handoff.entry.msg.topic,
            reason,
        }
        .emit(&self.metrics);
        // Given up: it must not hold the outbox's watermark back.
        self.outbox_acked(handoff.entry.seq);
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

    /// Messages not yet delivered: queued in memory, handed and unacknowledged, and spilled to
    /// the outbox waiting to be read back.
    pub(crate) fn waiting(&self) -> usize {
        let spilled = match (
            self.spill_from,
            self.journal.as_ref().and_then(|j| j.next_seq()),
        ) {
            (Some(from), Some(next)) => next.saturating_sub(from) as usize,
            _ => 0,
        };
        self.queue.len() + self.inflight.len() + spilled
    }

    /// Messages handed to the client and not finished.
    pub(crate) fn unfinished(&self) -> usize {
        self.inflight.len()
    }

    /// Bytes of the outbox's segments on disk (0 without one).
    pub(crate) fn outbox_bytes(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.bytes_on_disk())
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
mod tests;
