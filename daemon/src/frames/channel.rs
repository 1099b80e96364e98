//! The bounded "latest wins" channel between a frame source and its consumer.
//!
//! A camera must never wait for inference, and a backlog of stale frames is worth nothing: when
//! the channel is full, sending drops the *oldest* queued frame (counted by the caller) and
//! queues the new one. So a slow consumer neither blocks the source nor makes memory grow, and
//! always gets the newest frames.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Frame;

#[derive(Debug)]
struct State {
    queue: VecDeque<Frame>,
    senders: usize,
    receiver_alive: bool,
}

#[derive(Debug)]
struct Shared {
    capacity: usize,
    state: Mutex<State>,
    ready: Condvar,
}

impl Shared {
    /// The state is a queue and two flags, valid even if a holder panicked.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A new channel holding at most `capacity` frames (at least 1).
pub fn latest_channel(capacity: usize) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        capacity: capacity.max(1),
        state: Mutex::new(State {
            queue: VecDeque::with_capacity(capacity.max(1)),
            senders: 1,
            receiver_alive: true,
        }),
        ready: Condvar::new(),
    });
    (
        FrameSender {
            shared: Arc::clone(&shared),
        },
        FrameReceiver { shared },
    )
}

/// The sending half (cloneable; the channel closes when every sender is gone).
#[derive(Debug)]
pub struct FrameSender {
    shared: Arc<Shared>,
}

/// What happened to a frame offered to the channel.
#[derive(Debug, PartialEq)]
pub enum Pushed {
    /// Queued; nothing was lost.
    Queued,
    /// Queued, and the oldest queued frame was dropped to make room.
    ReplacedOldest,
    /// The receiver is gone; the frame is given back.
    Closed(Frame),
}

impl FrameSender {
    /// Queues `frame` without ever waiting; when full, the oldest frame is dropped.
    pub fn push(&self, frame: Frame) -> Pushed {
        let mut state = self.shared.lock();
        if !state.receiver_alive {
            return Pushed::Closed(frame);
        }
        let replaced = if state.queue.len() >= self.shared.capacity {
            state.queue.pop_front();
            true
        } else {
            false
        };
        state.queue.push_back(frame);
        drop(state);
        self.shared.ready.notify_one();
        if replaced {
            Pushed::ReplacedOldest
        } else {
            Pushed::Queued
        }
    }

    /// Whether the receiver has been dropped.
    pub fn is_closed(&self) -> bool {
        !self.shared.lock().receiver_alive
    }
}

impl Clone for FrameSender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for FrameSender {
    fn drop(&mut self) {
        self.shared.lock().senders -= 1;
        self.shared.ready.notify_all();
    }
}

/// Why [`FrameReceiver::recv_timeout`] returned no frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing arrived in time; senders still exist.
    Timeout,
    /// Every sender is gone and the queue is empty.
    Disconnected,
}

/// The receiving half.
#[derive(Debug)]
pub struct FrameReceiver {
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// Waits up to `timeout` for the oldest queued frame.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Frame, RecvError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(frame) = state.queue.pop_front() {
                return Ok(frame);
            }
            if state.senders == 0 {
                return Err(RecvError::Disconnected);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            state = self
                .shared
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// The oldest queued frame, if any, without waiting.
    pub fn try_recv(&self) -> Option<Frame> {
        self.shared.lock().queue.pop_front()
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_alive = false;
        state.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use percept_dsp::RgbImage;

    use super::*;

    fn frame(seq: u64) -> Frame {
        Frame {
            source: "t".into(),
            seq,
            captured_at: SystemTime::now(),
            image: RgbImage::filled(2, 2, [0, 0, 0]),
        }
    }

    #[test]
    fn a_full_channel_drops_the_oldest_frame_and_keeps_the_newest() {
        let (tx, rx) = latest_channel(2);
        assert_eq!(tx.push(frame(0)), Pushed::Queued);
        assert_eq!(tx.push(frame(1)), Pushed::Queued);
        assert_eq!(tx.push(frame(2)), Pushed::ReplacedOldest);
        assert_eq!(tx.push(frame(3)), Pushed::ReplacedOldest);
        assert_eq!(rx.len(), 2);
        let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_recv())
            .map(|f| f.seq)
            .collect();
        assert_eq!(seqs, vec![2, 3]);
    }

    #[test]
    fn the_receiver_sees_the_end_once_every_sender_is_gone_and_the_queue_is_drained() {
        let (tx, rx) = latest_channel(4);
        let second = tx.clone();
        tx.push(frame(7));
        drop(tx);
        assert_eq!(rx.recv_timeout(Duration::from_millis(1)).unwrap().seq, 7);
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(1)).unwrap_err(),
            RecvError::Timeout
        );
        drop(second);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap_err(),
            RecvError::Disconnected
        );
    }

    #[test]
    fn a_dropped_receiver_closes_the_channel_for_the_sender() {
        let (tx, rx) = latest_channel(1);
        drop(rx);
        assert!(tx.is_closed());
        assert!(matches!(tx.push(frame(0)), Pushed::Closed(f) if f.seq == 0));
    }

    #[test]
    fn a_waiting_receiver_wakes_when_a_frame_arrives() {
        let (tx, rx) = latest_channel(1);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.push(frame(5));
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap().seq, 5);
        sender.join().unwrap();
    }
}
