//! Messages handed to the rumqttc client and not yet done with, in the order they were handed.
//!
//! Why perceptd tracks this itself: with a clean session (what we use) the broker answers every
//! CONNECT with `session_present = false`, and rumqttc then clears its own `pending` list, so a QoS 1
//! publish that was written but not acknowledged when the connection dropped (or still sat in the
//! client's request channel) would be lost. The driver therefore keeps every QoS 1 message here until
//! its PubAck and puts the unacknowledged ones back into the outbox after a connection loss; they are
//! sent again after the next ConnAck. A broker that received one but whose PubAck was lost sees it
//! twice: at-least-once, never lost.
//!
//! rumqttc processes requests in channel order and reports each written publish as
//! `Outgoing::Publish(pkid)` (pkid 0 for QoS 0) in that same order, so the n-th such event belongs to
//! the n-th message handed; the PubAck then names the pkid.

use std::collections::VecDeque;

use super::memory_queue::Queued;
use crate::publish::Qos;

#[derive(Debug)]
struct Entry {
    queued: Queued,
    /// Written with this packet id (QoS 1); `None` while still in the client's channel.
    pkid: Option<u16>,
    /// Whether to send it again after a connection loss (false for availability announcements,
    /// which are re-announced anyway).
    requeue: bool,
}

/// What to do with the leftovers of a lost connection.
#[derive(Debug, Default)]
pub(crate) struct Leftovers {
    /// QoS 1 messages to send again, oldest first.
    pub(crate) requeue: Vec<Queued>,
    /// QoS 0 messages that were lost with the connection.
    pub(crate) lost_at_most_once: usize,
}

/// Handed-but-unfinished messages; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    entries: VecDeque<Entry>,
}

impl InFlight {
    /// Records a message just handed to the client.
    pub(crate) fn handed(&mut self, queued: Queued, requeue: bool) {
        self.entries.push_back(Entry {
            queued,
            pkid: None,
            requeue,
        });
    }

    /// rumqttc wrote the next handed publish with `pkid`; QoS 0 ones are done at this point.
    /// Returns false when the event does not fit the order things were handed in (a bug, or a
    /// changed rumqttc); the entry of the right QoS is still used, so a QoS 1 message is not lost.
    pub(crate) fn written(&mut self, pkid: u16) -> bool {
        let unwritten_of_class =
            |e: &Entry| e.pkid.is_none() && (e.queued.msg.qos == Qos::AtMostOnce) == (pkid == 0);
        let first_unwritten = self.entries.iter().position(|e| e.pkid.is_none());
        let Some(index) = self.entries.iter().position(unwritten_of_class) else {
            return false;
        };
        if pkid == 0 {
            self.entries.remove(index);
        } else {
            self.entries[index].pkid = Some(pkid);
        }
        first_unwritten == Some(index)
    }

    /// The broker acknowledged `pkid`; returns the entry it belonged to.
    pub(crate) fn acked(&mut self, pkid: u16) -> Option<Queued> {
        let index = self.entries.iter().position(|e| e.pkid == Some(pkid))?;
        self.entries.remove(index).map(|e| e.queued)
    }

    /// Empties the tracker after a connection loss.
    pub(crate) fn take_leftovers(&mut self) -> Leftovers {
        let mut leftovers = Leftovers::default();
        for entry in self.entries.drain(..) {
            if entry.queued.msg.qos == Qos::AtMostOnce {
                leftovers.lost_at_most_once += 1;
            } else if entry.requeue {
                leftovers.requeue.push(entry.queued);
            }
        }
        leftovers
    }

    /// Number of messages handed and not finished (the client's window in use).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every handed message is finished.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{Message, MessageKind};

    fn msg(topic: &str, qos: Qos) -> Queued {
        Queued::memory(Message {
            topic: topic.into(),
            payload: Vec::new(),
            qos,
            retain: false,
            kind: MessageKind::Final,
        })
    }

    #[test]
    fn a_qos1_message_is_finished_by_its_puback_and_a_qos0_one_by_being_written() {
        let mut inflight = InFlight::default();
        inflight.handed(msg("a", Qos::AtLeastOnce), true);
        inflight.handed(msg("p", Qos::AtMostOnce), true);
        inflight.handed(msg("b", Qos::AtLeastOnce), true);
        assert!(inflight.written(1));
        assert!(inflight.written(0));
        assert!(inflight.written(2));
        assert_eq!(inflight.len(), 2);
        assert_eq!(inflight.acked(2).unwrap().msg.topic, "b");
        assert!(inflight.acked(2).is_none(), "an ack counts once");
        assert_eq!(inflight.acked(1).unwrap().msg.topic, "a");
        assert!(inflight.is_empty());
    }

    #[test]
    fn after_a_loss_unacked_and_unwritten_qos1_messages_come_back_in_order() {
        let mut inflight = InFlight::default();
        inflight.handed(msg("online", Qos::AtLeastOnce), false);
        inflight.handed(msg("a", Qos::AtLeastOnce), true);
        inflight.handed(msg("p", Qos::AtMostOnce), true);
        inflight.handed(msg("b", Qos::AtLeastOnce), true);
        inflight.handed(msg("c", Qos::AtLeastOnce), true);
        inflight.written(1); // online
        inflight.written(2); // a
        inflight.written(0); // p
        inflight.written(3); // b, never acked
        inflight.handed(msg("q", Qos::AtMostOnce), true); // still in the channel
        let leftovers = inflight.take_leftovers();
        let topics: Vec<_> = leftovers
            .requeue
            .iter()
            .map(|q| q.msg.topic.as_str())
            .collect();
        assert_eq!(topics, ["a", "b", "c"]);
        assert_eq!(leftovers.lost_at_most_once, 1);
        assert!(inflight.is_empty());
    }

    #[test]
    fn a_written_event_that_does_not_fit_is_reported() {
        let mut inflight = InFlight::default();
        assert!(!inflight.written(1), "nothing was handed");
        inflight.handed(msg("a", Qos::AtLeastOnce), true);
        assert!(
            !inflight.written(0),
            "a QoS 1 message cannot be written with pkid 0"
        );
        inflight.handed(msg("p", Qos::AtMostOnce), true);
        assert!(
            !inflight.written(0),
            "out of order, but the QoS 0 entry is finished"
        );
        assert_eq!(inflight.len(), 1);
        assert!(inflight.written(5));
        assert_eq!(inflight.acked(5).unwrap().msg.topic, "a");
    }
}
