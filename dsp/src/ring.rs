//! A lock-free single-producer single-consumer ring buffer of `f32` samples, in safe Rust.
//!
//! Made for audio device callbacks: [`RingProducer::push_slice`] and
//! [`RingProducer::push_iter`] never block, never allocate and never lock; they store what fits
//! and report how much that was, so the caller can count an overrun. The consumer side
//! ([`RingConsumer::pop_into`]) runs on an ordinary thread.
//!
//! Samples are stored as their bit patterns in `AtomicU32` slots, so no `unsafe` is needed.
//! Each side owns one position counter: the producer publishes its `head` with `Release` after
//! writing slots, the consumer reads it with `Acquire` before reading them (and the same in the
//! other direction for `tail`), so the slot accesses themselves can be `Relaxed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The writing half of a sample ring; move it into the device callback.
#[derive(Debug)]
pub struct RingProducer {
    shared: Arc<Shared>,
    /// This side's own position (the shared `head` always equals it between calls).
    head: usize,
}

/// The reading half of a sample ring.
#[derive(Debug)]
pub struct RingConsumer {
    shared: Arc<Shared>,
    /// This side's own position (the shared `tail` always equals it between calls).
    tail: usize,
}

/// Positions run modulo `2 * capacity`, so a full ring (`head - tail == capacity`) and an empty
/// one (`head == tail`) are told apart without a spare slot, and counters never overflow.
#[derive(Debug)]
struct Shared {
    slots: Box<[AtomicU32]>,
    /// Next position the producer writes.
    head: AtomicUsize,
    /// Next position the consumer reads.
    tail: AtomicUsize,
}

/// Makes a ring that holds up to `capacity` samples and splits it into its two halves.
///
/// A capacity of 0 gives a ring that accepts nothing (every push reports 0).
///
/// # Panics
/// Panics only if `2 * capacity` overflows `usize`: such a ring could not be allocated anyway.
pub fn sample_ring(capacity: usize) -> (RingProducer, RingConsumer) {
    assert!(
        capacity.checked_mul(2).is_some(),
        "ring capacity {capacity} is too large"
    );
    let shared = Arc::new(Shared {
        slots: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
        head: AtomicUsize::new(0),
        tail: AtomicUsize::new(0),
    });
    (
        RingProducer {
            shared: Arc::clone(&shared),
            head: 0,
        },
        RingConsumer { shared, tail: 0 },
    )
}

impl Shared {
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Samples between `tail` and `head`.
    fn distance(&self, tail: usize, head: usize) -> usize {
        let period = 2 * self.capacity();
        if head >= tail {
            head - tail
        } else {
            head + period - tail
        }
    }

    /// `position` moved forward by `by` (≤ capacity), modulo `2 * capacity`.
    fn advance(&self, position: usize, by: usize) -> usize {
        let period = 2 * self.capacity();
        let next = position + by;
        if next >= period { next - period } else { next }
    }

    fn slot(&self, position: usize) -> &AtomicU32 {
        let capacity = self.capacity();
        let index = if position >= capacity {
            position - capacity
        } else {
            position
        };
        &self.slots[index]
    }
}

impl RingProducer {
    /// Total samples the ring can hold.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Samples that can be pushed right now (the consumer may free more at any time).
    pub fn free_len(&self) -> usize {
        let tail = self.shared.tail.load(Ordering::Acquire);
        self.capacity() - self.shared.distance(tail, self.head)
    }

    /// Copies as many leading samples of `samples` as fit; returns how many that was.
    ///
    /// Never blocks, allocates or locks.
    pub fn push_slice(&mut self, samples: &[f32]) -> usize {
        self.push_iter(samples.iter().copied())
    }

    /// Pushes samples from `samples` until the ring is full or the iterator ends; returns how
    /// many were pushed. No item is taken from the iterator beyond what fits, so a converting
    /// iterator (e.g. `i16` to `f32`) needs no temporary buffer.
    ///
    /// Never blocks, allocates or locks (the iterator itself should not either).
    pub fn push_iter(&mut self, samples: impl IntoIterator<Item = f32>) -> usize {
        let free = self.free_len();
        let mut head = self.head;
        let mut pushed = 0;
        for sample in samples.into_iter().take(free) {
            self.shared
                .slot(head)
                .store(sample.to_bits(), Ordering::Relaxed);
            head = self.shared.advance(head, 1);
            pushed += 1;
        }
        self.head = head;
        self.shared.head.store(head, Ordering::Release);
        pushed
    }
}

impl RingConsumer {
    /// Total samples the ring can hold.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Samples ready to pop (the producer may add more at any time).
    pub fn len(&self) -> usize {
        let head = self.shared.head.load(Ordering::Acquire);
        self.shared.distance(self.tail, head)
    }

    /// Whether no sample is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves up to `out.len()` of the oldest samples into `out`; returns how many.
    ///
    /// Never blocks, allocates or locks.
    pub fn pop_into(&mut self, out: &mut [f32]) -> usize {
        let count = self.len().min(out.len());
        let mut tail = self.tail;
        for value in &mut out[..count] {
            *value = f32::from_bits(self.shared.slot(tail).load(Ordering::Relaxed));
            tail = self.shared.advance(tail, 1);
        }
        self.tail = tail;
        self.shared.tail.store(tail, Ordering::Release);
        count
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_full_ring_reports_what_fit_and_keeps_the_oldest_samples() {
        let (mut producer, mut consumer) = sample_ring(4);
        assert_eq!(producer.push_slice(&[1.0, 2.0, 3.0]), 3);
        assert_eq!(producer.push_slice(&[4.0, 5.0, 6.0]), 1);
        assert_eq!(producer.free_len(), 0);
        assert_eq!(consumer.len(), 4);
        let mut out = [0.0; 8];
        assert_eq!(consumer.pop_into(&mut out), 4);
        assert_eq!(&out[..4], &[1.0, 2.0, 3.0, 4.0]);
        assert!(consumer.is_empty());
        assert_eq!(producer.free_len(), 4);
    }

    #[test]
    fn push_iter_takes_no_item_beyond_the_free_space() {
        let (mut producer, _consumer) = sample_ring(3);
        let mut source = [1i16, 2, 3, 4, 5].into_iter();
        assert_eq!(producer.push_iter(source.by_ref().map(f32::from)), 3);
        assert_eq!(source.next(), Some(4));
    }

    #[test]
    fn a_zero_capacity_ring_accepts_nothing() {
        let (mut producer, mut consumer) = sample_ring(0);
        assert_eq!(producer.push_slice(&[1.0]), 0);
        assert_eq!(consumer.pop_into(&mut [0.0; 2]), 0);
        assert_eq!(consumer.capacity(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(usize),
        Pop(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..40).prop_map(Op::Push),
            (0usize..40).prop_map(Op::Pop)
        ]
    }

    proptest! {
        #[test]
        fn any_interleaving_of_pushes_and_pops_preserves_the_sequence(
            capacity in 0usize..33,
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let (mut producer, mut consumer) = sample_ring(capacity);
            let mut model: VecDeque<f32> = VecDeque::new();
            let mut next = 0u32;
            let mut dropped = 0usize;
            let mut popped = 0usize;
            for op in ops {
                match op {
                    Op::Push(n) => {
                        let batch: Vec<f32> = (next..next + n as u32).map(|v| v as f32).collect();
                        next += n as u32;
                        let fit = (capacity - model.len()).min(n);
                        prop_assert_eq!(producer.push_slice(&batch), fit);
                        model.extend(&batch[..fit]);
                        dropped += n - fit;
                    }
                    Op::Pop(n) => {
                        let mut out = vec![-1.0; n];
                        let got = consumer.pop_into(&mut out);
                        let expected: Vec<f32> = model.drain(..n.min(model.len())).collect();
                        prop_assert_eq!(&out[..got], &expected[..]);
                        popped += got;
                    }
                }
                prop_assert_eq!(consumer.len(), model.len());
                prop_assert_eq!(producer.free_len(), capacity - model.len());
            }
            // Every sample offered was dropped, popped, or is still queued.
            prop_assert_eq!(next as usize, dropped + popped + consumer.len());
        }
    }

    #[test]
    fn two_threads_pass_a_million_samples_in_order() {
        const TOTAL: u32 = 1 << 20;
        let (mut producer, mut consumer) = sample_ring(1000);
        let writer = std::thread::spawn(move || {
            let mut next = 0u32;
            let mut chunk = Vec::with_capacity(97);
            while next < TOTAL {
                // Varying chunk sizes; whatever does not fit is offered again (nothing dropped).
                let size = (next % 97 + 1).min(TOTAL - next);
                chunk.clear();
                chunk.extend((next..next + size).map(|v| v as f32));
                let pushed = producer.push_slice(&chunk);
                next += pushed as u32;
                if pushed == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut expected = 0u32;
        let mut out = vec![0.0; 61];
        while expected < TOTAL {
            let got = consumer.pop_into(&mut out);
            for &value in &out[..got] {
                assert_eq!(value, expected as f32, "sample out of order");
                expected += 1;
            }
            if got == 0 {
                std::thread::yield_now();
            }
        }
        writer.join().expect("producer thread");
        assert!(consumer.is_empty());
    }
}
