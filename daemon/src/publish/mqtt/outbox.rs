//! The offline queue: messages accepted from stages but not yet handed to the MQTT client.
//!
//! Bounded by `offline_queue_max`. When full, a new QoS 1 message evicts the **oldest** entry
//! (a consumer catching up after an outage gets the most recent finals, and the queue's memory
//! stays bounded); a new QoS 0 message never evicts anything and is itself dropped. While the
//! broker is unreachable QoS 0 messages are not queued at all (a stale partial is worthless).

use std::collections::VecDeque;

use crate::publish::{Message, Qos};

/// FIFO of messages waiting for a connection or for room in the client's window.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: VecDeque<Message>,
    max: usize,
}

impl Outbox {
    /// An empty queue holding at most `max` (at least 1) messages.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Appends `msg`; returns the message dropped to make room (the oldest), or `msg` itself when
    /// it is QoS 0 and the queue is full.
    pub(crate) fn push_back(&mut self, msg: Message) -> Option<Message> {
        if self.queue.len() < self.max {
            self.queue.push_back(msg);
            return None;
        }
        if msg.qos == Qos::AtMostOnce {
            return Some(msg);
        }
        let oldest = self.queue.pop_front();
        self.queue.push_back(msg);
        oldest
    }

    /// Puts messages that were handed to the client but not acknowledged back at the front, in
    /// their original order; returns how many of the oldest entries were dropped to stay bounded.
    pub(crate) fn requeue_front(&mut self, msgs: Vec<Message>) -> usize {
        for msg in msgs.into_iter().rev() {
            self.queue.push_front(msg);
        }
        let excess = self.queue.len().saturating_sub(self.max);
        self.queue.drain(..excess);
        excess
    }

    /// Removes every QoS 0 message (the connection is gone); returns how many.
    pub(crate) fn drop_at_most_once(&mut self) -> usize {
        let before = self.queue.len();
        self.queue.retain(|m| m.qos != Qos::AtMostOnce);
        before - self.queue.len()
    }

    /// The next message to hand to the client.
    pub(crate) fn pop_front(&mut self) -> Option<Message> {
        self.queue.pop_front()
    }

    /// Number of queued messages.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued (the tests' check; the driver asks `len`).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::MessageKind;

    fn msg(n: u32, qos: Qos) -> Message {
        Message {
            topic: format!("t/{n}"),
            payload: n.to_le_bytes().to_vec(),
            qos,
            retain: false,
            kind: MessageKind::Final,
        }
    }

    fn topics(outbox: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| outbox.pop_front())
            .map(|m| m.topic)
            .collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_for_a_new_qos1_message() {
        let mut outbox = Outbox::new(3);
        for n in 0..3 {
            assert!(outbox.push_back(msg(n, Qos::AtLeastOnce)).is_none());
        }
        let dropped = outbox.push_back(msg(3, Qos::AtLeastOnce)).unwrap();
        assert_eq!(dropped.topic, "t/0");
        assert_eq!(topics(&mut outbox), ["t/1", "t/2", "t/3"]);
    }

    #[test]
    fn a_full_queue_drops_a_new_qos0_message_instead_of_evicting() {
        let mut outbox = Outbox::new(2);
        outbox.push_back(msg(0, Qos::AtLeastOnce));
        outbox.push_back(msg(1, Qos::AtLeastOnce));
        let dropped = outbox.push_back(msg(2, Qos::AtMostOnce)).unwrap();
        assert_eq!(dropped.topic, "t/2");
        assert_eq!(outbox.len(), 2);
    }

    #[test]
    fn requeued_messages_go_first_in_their_order_and_the_oldest_overflow_is_dropped() {
        let mut outbox = Outbox::new(4);
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
        let mut outbox = Outbox::new(10);
        outbox.push_back(msg(0, Qos::AtMostOnce));
        outbox.push_back(msg(1, Qos::AtLeastOnce));
        outbox.push_back(msg(2, Qos::AtMostOnce));
        assert_eq!(outbox.drop_at_most_once(), 2);
        assert_eq!(topics(&mut outbox), ["t/1"]);
        assert!(outbox.is_empty());
    }
}
