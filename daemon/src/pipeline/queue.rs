//! The queue between the per-source endpointers and the inference worker, where load is shed.
//!
//! Finals wait in FIFO order and are never skipped. Each source has at most one pending
//! partial: a newer one replaces it (the older is counted as skipped), and a source's pending
//! partial is discarded when that utterance's final arrives. Each source also has at most one
//! pending *early final* (the audio of a final the endpointer is about to confirm, see
//! [`JobQueue::offer_early_final`]). The worker takes finals first, then early finals, then
//! partials; a partial being transcribed stops at its next decoder step when a final or an
//! early final comes ([`JobQueue::has_finals`]). The audio held by pending finals is the backlog that bounds lag.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::job::Job;
use crate::health::{Counter, Metrics};

/// Shared between the producers (one per source) and the worker.
#[derive(Debug)]
pub struct JobQueue {
    state: Mutex<State>,
    /// Signalled when a job is queued or the queue closes.
    ready: Condvar,
    /// Signalled when a final leaves the queue (the backlog shrank) or the queue closes.
    drained: Condvar,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Default)]
struct State {
    finals: VecDeque<Job>,
    partials: HashMap<Arc<str>, Job>,
    early: HashMap<Arc<str>, Job>,
    /// Per source: the epoch of its current early final (moved on by every offer and withdrawal).
    early_epochs: HashMap<Arc<str>, u64>,
    backlog_samples: u64,
    closed: bool,
}

impl JobQueue {
    /// An empty queue.
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            drained: Condvar::new(),
            metrics,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a final; it will be transcribed even if the queue is closed later.
    pub fn push_final(&self, job: Job) {
        let mut state = self.lock();
        if state
            .partials
            .get(&job.source)
            .is_some_and(|p| p.utterance_id == job.utterance_id)
        {
            state.partials.remove(&job.source);
            self.metrics.incr(Counter::PartialsSkipped);
        }
        if state
            .early
            .get(&job.source)
            .is_some_and(|e| e.utterance_id == job.utterance_id)
        {
            // Not started yet: the final does the same work itself.
            state.early.remove(&job.source);
        }
        state.backlog_samples += job.audio.len() as u64;
        state.finals.push_back(job);
        self.ready.notify_one();
    }

    /// Offers a partial; replaces (and counts as skipped) the source's pending one.
    pub fn offer_partial(&self, job: Job) {
        let mut state = self.lock();
        if state.partials.insert(job.source.clone(), job).is_some() {
            self.metrics.incr(Counter::PartialsSkipped);
        }
        self.ready.notify_one();
    }

    /// Whether a final or an early final is waiting: a partial being transcribed gives way.
    pub fn has_finals(&self) -> bool {
        let state = self.lock();
        !(state.finals.is_empty() && state.early.is_empty())
    }

    /// Whether a final of another utterance than `utterance_id` is waiting: an early final
    /// being transcribed gives way to it (but not to its own final, which will use its result).
    pub fn has_finals_besides(&self, utterance_id: &str) -> bool {
        self.lock()
            .finals
            .iter()
            .any(|f| &*f.utterance_id != utterance_id)
    }

    /// Offers an early final: `job` is what the source's next final will be if its pause goes
    /// on (the endpointer's `pending_end`). Replaces the source's pending one and voids any
    /// being transcribed.
    pub fn offer_early_final(&self, mut job: Job) {
        let mut state = self.lock();
        let epoch = state.early_epochs.entry(job.source.clone()).or_insert(0);
        *epoch += 1;
        job.early = Some(*epoch);
        state.early.insert(job.source.clone(), job);
        self.ready.notify_one();
    }

    /// Speech resumed: the source's early final (pending or being transcribed) is void.
    pub fn withdraw_early_final(&self, source: &str) {
        let mut state = self.lock();
        state.early.remove(source);
        if let Some(epoch) = state.early_epochs.get_mut(source) {
            *epoch += 1;
        }
    }

    /// Whether the early final of `source` with `epoch` still stands.
    pub fn early_final_stands(&self, source: &str, epoch: u64) -> bool {
        self.lock().early_epochs.get(source) == Some(&epoch)
    }

    /// 16 kHz samples held by queued finals.
    pub fn backlog_samples(&self) -> u64 {
        self.lock().backlog_samples
    }

    /// No more jobs will come: the worker finishes the queued finals, drops pending partials,
    /// and then `pop` returns `None`.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let dropped = state.partials.len() as u64;
        state.partials.clear();
        state.early.clear();
        self.metrics.add(Counter::PartialsSkipped, dropped);
        self.ready.notify_all();
        self.drained.notify_all();
    }

    /// The next job, finals first, then early finals, then partials; blocks until there is one.
    /// `Err(Closed)`: closed and drained.
    pub fn pop(&self) -> Result<Job, Closed> {
        let mut state = self.lock();
        loop {
            if let Some(job) = self.take_next(&mut state) {
                return Ok(job);
            }
            if state.closed {
                return Err(Closed);
            }
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// [`pop`](Self::pop) without waiting: `Ok(None)` when nothing is queued.
    pub fn try_pop(&self) -> Result<Option<Job>, Closed> {
        let mut state = self.lock();
        match self.take_next(&mut state) {
            Some(job) => Ok(Some(job)),
            None if state.closed => Err(Closed),
            None => Ok(None),
        }
    }

    /// Blocks while queued finals hold more than `max_samples` of audio (the endpointer's
    /// `realtime = false` mode waits for inference instead of shedding).
    pub fn wait_backlog_at_most(&self, max_samples: u64) {
        let mut state = self.lock();
        while state.backlog_samples > max_samples && !state.closed {
            state = self.drained.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn take_next(&self, state: &mut State) -> Option<Job> {
        if let Some(job) = state.finals.pop_front() {
            state.backlog_samples -= job.audio.len() as u64;
            self.drained.notify_all();
            return Some(job);
        }
        if let Some(source) = state.early.keys().next().cloned() {
            return state.early.remove(&source);
        }
        let source = state.partials.keys().next().cloned()?;
        state.partials.remove(&source)
    }
}

/// The queue is closed and empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime};

    use super::*;

    fn job(source: &str, utterance: &str, is_final: bool, samples: usize) -> Job {
        Job {
            source: source.into(),
            utterance_id: utterance.into(),
            is_final,
            audio: vec![0.0; samples].into(),
            start_offset: 0,
            end_offset: samples as u64,
            start_wall: SystemTime::now(),
            end_wall: SystemTime::now(),
            speech_end: Instant::now(),
            dropped_audio_ms: 0,
            vad_speech_prob: 1.0,
            early: None,
        }
    }

    #[test]
    fn finals_come_before_partials_and_in_order() {
        let metrics = Metrics::new();
        let queue = JobQueue::new(metrics);
        queue.offer_partial(job("a", "a-2", false, 10));
        queue.push_final(job("b", "b-1", true, 10));
        queue.push_final(job("b", "b-2", true, 10));
        assert!(queue.has_finals());
        let order: Vec<String> = std::iter::from_fn(|| queue.try_pop().unwrap())
            .map(|j| j.utterance_id.to_string())
            .collect();
        assert_eq!(order, ["b-1", "b-2", "a-2"]);
    }

    #[test]
    fn a_newer_partial_replaces_the_pending_one_and_is_counted() {
        let metrics = Metrics::new();
        let queue = JobQueue::new(metrics.clone());
        queue.offer_partial(job("a", "a-1", false, 10));
        queue.offer_partial(job("a", "a-1", false, 20));
        let got = queue.try_pop().unwrap().unwrap();
        assert_eq!(got.audio.len(), 20);
        assert!(matches!(queue.try_pop(), Ok(None)));
        assert_eq!(metrics.get(Counter::PartialsSkipped), 1);
    }

    #[test]
    fn a_final_discards_its_own_pending_partial_only() {
        let metrics = Metrics::new();
        let queue = JobQueue::new(metrics.clone());
        queue.offer_partial(job("a", "a-1", false, 10));
        queue.offer_partial(job("b", "b-1", false, 10));
        queue.push_final(job("a", "a-1", true, 30));
        assert_eq!(queue.backlog_samples(), 30);
        assert!(queue.try_pop().unwrap().unwrap().is_final);
        assert_eq!(queue.backlog_samples(), 0);
        assert_eq!(&*queue.try_pop().unwrap().unwrap().utterance_id, "b-1");
        assert_eq!(metrics.get(Counter::PartialsSkipped), 1);
    }

    #[test]
    fn early_finals_come_between_finals_and_partials_and_a_withdrawal_voids_them() {
        let queue = JobQueue::new(Metrics::new());
        queue.offer_partial(job("a", "a-1", false, 10));
        queue.offer_early_final(job("a", "a-1", true, 10));
        queue.push_final(job("b", "b-1", true, 10));
        let first = queue.try_pop().unwrap().unwrap();
        assert_eq!(&*first.utterance_id, "b-1");
        assert_eq!(first.early, None);
        let early = queue.try_pop().unwrap().unwrap();
        let epoch = early.early.expect("an early final");
        assert!(queue.early_final_stands("a", epoch));
        assert!(!queue.has_finals_besides("a-1"));
        queue.withdraw_early_final("a");
        assert!(!queue.early_final_stands("a", epoch));
        assert!(!queue.try_pop().unwrap().unwrap().is_final);
    }

    #[test]
    fn a_final_takes_the_place_of_its_pending_early_final() {
        let queue = JobQueue::new(Metrics::new());
        queue.offer_early_final(job("a", "a-1", true, 10));
        queue.push_final(job("a", "a-1", true, 10));
        assert!(queue.has_finals());
        assert!(!queue.has_finals_besides("a-1"));
        assert!(queue.try_pop().unwrap().unwrap().early.is_none());
        assert!(matches!(queue.try_pop(), Ok(None)));
    }

    #[test]
    fn close_keeps_finals_and_then_reports_closed() {
        let queue = JobQueue::new(Metrics::new());
        queue.push_final(job("a", "a-1", true, 10));
        queue.offer_partial(job("a", "a-2", false, 10));
        queue.close();
        assert!(queue.try_pop().unwrap().unwrap().is_final);
        assert_eq!(queue.try_pop().unwrap_err(), Closed);
    }
}
