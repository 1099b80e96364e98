//! The in-memory queue: messages accepted from stages but not yet handed to the MQTT client.
//!
//! Bounded by `offline_queue_max`. When full, a new QoS 1 message evicts the **oldest** entry
//! the durable outbox does not hold (a consumer catching up after an outage gets the most recent
//! messages, and memory stays bounded); a new QoS 0 message never evicts anything and is itself
//! dropped. Entries the outbox holds (`seq` set) are never evicted here: the state stops putting
//! new ones in when the queue is full and reads them back from the outbox later. While the
//! broker is unreachable QoS 0 messages are not queued at all (a stale partial is worthless).

use std::collections::VecDeque;

use crate::publish::{Message, Qos};

/// A queued message and, when the durable outbox holds it, its sequence number there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    pub(crate) msg: Message,
    pub(crate) seq: Option<u64>,
}

impl Queued {
    /// A message only memory holds.
    pub(crate) fn memory(msg: Message) -> Self {
        Self { msg, seq: None }
    }
}

/// FIFO of messages waiting for a connection or for room in the client's window.
#[derive(Debug)]
pub(crate) struct MemoryQueue {
    queue: VecDeque<Queued>,
    max: usize,
}

impl MemoryQueue {
    /// An empty queue holding at most `max` (at least 1) messages.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Appends `entry`; returns the message dropped to make room (the oldest one memory alone
    /// holds), or `entry` itself when it is QoS 0, or when nothing can make room for it.
    pub(crate) fn push_back(&mut self, entry: Queued) -> Option<Queued> {
        if self.queue.len() < self.max {
            self.queue.push_back(entry);
            return None;
        }
        if entry.msg.qos == Qos::AtMostOnce {
            return Some(entry);
        }
        let Some(victim) = self.queue.iter().position(|q| q.seq.is_none()) else {
            return Some(entry);
        };
        let oldest = self.queue.remove(victim);
        self.queue.push_back(entry);
        oldest
    }

    /// Puts messages that were handed to the client but not acknowledged back at the front, in
    /// their original order; returns how many of the oldest memory-only entries were dropped to
    /// stay bounded (outbox entries stay: the window bounds how far they go over).
    pub(crate) fn requeue_front(&mut self, entries: Vec<Queued>) -> usize {
        for entry in entries.into_iter().rev() {
            self.queue.push_front(entry);
        }
        let mut excess = self.queue.len().saturating_sub(self.max);
        let before = self.queue.len();
        self.queue.retain(|q| {
            if excess > 0 && q.seq.is_none() {
                excess -= 1;
                false
            } else {
                true
            }
        });
        before - self.queue.len()
    }

    /// Removes every QoS 0 message (the connection is gone); returns how many.
    pub(crate) fn drop_at_most_once(&mut self) -> usize {
        let before = self.queue.len();
        self.queue.retain(|q| q.msg.qos != Qos::AtMostOnce);
        before - self.queue.len()
    }

    /// Removes the outbox entries with `seq <= through` (the outbox dropped them); returns how many.
    pub(crate) fn drop_outbox_through(&mut self, through: u64) -> usize {
        let before = self.queue.len();
        self.queue.retain(|q| q.seq.is_none_or(|s| s > through));
        before - self.queue.len()
    }

    /// The next message to hand to the client.
    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        self.queue.pop_front()
    }

    /// Number of queued messages.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// The most messages it holds.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Queued messages that the outbox does not hold.
    pub(crate) fn memory_only(&self) -> usize {
        self.queue.iter().filter(|q| q.seq.is_none()).count()
    }

    /// Whether nothing is queued (only the tests ask).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::MessageKind;

    fn msg(n: u32, qos: Qos) -> Queued {
        Queued::memory(Message {
            topic: format!("t/{n}"),
            payload: n.to_le_bytes().to_vec(),
            qos,
            retain: false,
            kind: MessageKind::Final,
        })
    }

    fn topics(outbox: &mut MemoryQueue) -> Vec<String> {
        std::iter::from_fn(|| outbox.pop_front())
            .map(|q| q.msg.topic)
            .collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_for_a_new_qos1_message() {
        let mut outbox = MemoryQueue::new(3);
        for n in 0..3 {
            assert!(outbox.push_back(msg(n, Qos::AtLeastOnce)).is_none());
        }
        let dropped = outbox.push_back(msg(3, Qos::AtLeastOnce)).unwrap();
        assert_eq!(dropped.msg.topic, "t/0");
        assert_eq!(topics(&mut outbox), ["t/1", "t/2", "t/3"]);
    }

    #[test]
    fn a_full_queue_drops_a_new_qos0_message_instead_of_evicting() {
        let mut outbox = MemoryQueue::new(2);
        outbox.push_back(msg(0, Qos::AtLeastOnce));
        outbox.push_back(msg(1, Qos::AtLeastOnce));
        let dropped = outbox.push_back(msg(2, Qos::AtMostOnce)).unwrap();
        assert_eq!(dropped.msg.topic, "t/2");
        assert_eq!(outbox.len(), 2);
    }

    #[test]
    fn requeued_messages_go_first_in_their_order_and_the_oldest_overflow_is_dropped() {
        let mut outbox = MemoryQueue::new(4);
        outbox.push_back(msg(10, Qos::AtLeastOnce));
        outbox.push_back(msg(11, Qos::AtLeastOnce));
        let dropped = outbox.requeue_front(vec![
            msg(1, Qos::AtLeastOnce),
            msg(2, Qos::AtLeastOnce),
            msg(3, Qos::AtLeastOnce),
        ]);
        assert_eq!(dropped, 1);
        assert_eq!(topics(&mut outbox), ["t/2", "t/3", "t/10", "t/11"]);
    }

    #[test]
    fn losing_the_connection_drops_only_qos0_messages() {
        let mut outbox = MemoryQueue::new(10);
        outbox.push_back(msg(0, Qos::AtMostOnce));
        outbox.push_back(msg(1, Qos::AtLeastOnce));
        outbox.push_back(msg(2, Qos::AtMostOnce));
        assert_eq!(outbox.drop_at_most_once(), 2);
        assert_eq!(topics(&mut outbox), ["t/1"]);
        assert!(outbox.is_empty());
    }

    fn durable(n: u32) -> Queued {
        let mut q = msg(n, Qos::AtLeastOnce);
        q.seq = Some(u64::from(n));
        q
    }

    #[test]
    fn outbox_entries_are_never_evicted_and_requeue_trims_only_memory_entries() {
        let mut queue = MemoryQueue::new(2);
        queue.push_back(durable(1));
        queue.push_back(msg(2, Qos::AtLeastOnce));
        let dropped = queue.push_back(msg(3, Qos::AtLeastOnce)).unwrap();
        assert_eq!(dropped.msg.topic, "t/2", "the memory-only entry makes room");
        let dropped = queue.push_back(durable(4)).unwrap();
        assert_eq!(dropped.msg.topic, "t/3");
        let refused = queue.push_back(msg(5, Qos::AtLeastOnce)).unwrap();
        assert_eq!(refused.msg.topic, "t/5", "nothing can make room");
        let trimmed = queue.requeue_front(vec![durable(0), msg(9, Qos::AtLeastOnce)]);
        assert_eq!(trimmed, 1, "t/9 goes; the outbox entries stay");
        assert_eq!(topics(&mut queue), ["t/0", "t/1", "t/4"]);
    }

    #[test]
    fn entries_the_outbox_dropped_leave_the_queue() {
        let mut queue = MemoryQueue::new(10);
        for n in 1..=4 {
            queue.push_back(durable(n));
        }
        queue.push_back(msg(0, Qos::AtLeastOnce));
        assert_eq!(queue.drop_outbox_through(2), 2);
        assert_eq!(topics(&mut queue), ["t/3", "t/4", "t/0"]);
    }
}
