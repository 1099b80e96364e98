//! The bounded "latest wins" channel between a frame source and its consumer.
//!
//! A camera must never wait for inference, and a backlog of stale frames is worth nothing: when
//! the channel is full, sending drops the *oldest* queued frame (counted by the caller) and
//! queues the new one. So a slow consumer neither blocks the source nor makes memory grow, and
//! always gets the newest frames.
//!
//! One consumer of several channels (the vision thread) waits on a shared [`Doorbell`] that
//! every push and every closing sender rings, instead of polling each channel.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Frame;

#[derive(Debug)]
struct State {
    queue: VecDeque<Frame>,
    senders: usize,
    receiver_alive: bool,
    /// Rung after every push and when the last sender goes.
    bell: Option<Arc<Doorbell>>,
}

/// Wakes a consumer that waits on several channels at once: it reads [`Doorbell::rings`],
/// checks every channel, and if none had anything waits with [`Doorbell::wait_past`], which
/// returns as soon as any of them changed since that reading (no lost wake-ups).
#[derive(Debug, Default)]
pub struct Doorbell {
    rings: Mutex<u64>,
    rung: Condvar,
}

impl Doorbell {
    /// A doorbell no channel rings yet (see [`FrameReceiver::ring_on_change`]).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// How often it has rung so far.
    pub fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until it has rung more than `seen` times.
    pub fn wait_past(&self, seen: u64) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        while *rings <= seen {
            rings = self.rung.wait(rings).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn ring(&self) {
        *self.rings.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.rung.notify_all();
    }
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
            bell: None,
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
        let bell = state.bell.clone();
        drop(state);
        self.shared.ready.notify_one();
        if let Some(bell) = bell {
            bell.ring();
        }
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
        let mut state = self.shared.lock();
        state.senders -= 1;
        let bell = state.bell.clone();
        drop(state);
        self.shared.ready.notify_all();
        if let Some(bell) = bell {
            bell.ring();
        }
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

    /// The oldest queued frame without waiting: `Ok(None)` when none is queued,
    /// `Err(Disconnected)` when none is queued and every sender is gone.
    pub fn poll(&self) -> Result<Option<Frame>, RecvError> {
        let mut state = self.shared.lock();
        match state.queue.pop_front() {
            Some(frame) => Ok(Some(frame)),
            None if state.senders == 0 => Err(RecvError::Disconnected),
            None => Ok(None),
        }
    }

    /// From now on every push into this channel and the last sender's drop ring `bell`.
    pub fn ring_on_change(&self, bell: &Arc<Doorbell>) {
        self.shared.lock().bell = Some(Arc::clone(bell));
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
    fn a_doorbell_wakes_the_consumer_of_several_channels() {
        let bell = Doorbell::new();
        let (tx_a, rx_a) = latest_channel(2);
        let (tx_b, rx_b) = latest_channel(2);
        rx_a.ring_on_change(&bell);
        rx_b.ring_on_change(&bell);
        let seen = bell.rings();
        assert_eq!(rx_a.poll(), Ok(None));
        let pusher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx_b.push(frame(9));
            drop(tx_b);
        });
        bell.wait_past(seen);
        pusher.join().unwrap();
        assert_eq!(rx_b.poll().unwrap().unwrap().seq, 9);
        assert_eq!(rx_b.poll(), Err(RecvError::Disconnected));
        assert!(
            bell.rings() >= seen + 2,
            "the push and the last sender's drop ring"
        );
        assert_eq!(rx_a.poll(), Ok(None));
        drop(tx_a);
        assert_eq!(rx_a.poll(), Err(RecvError::Disconnected));
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
