//! The write-ahead seam between the publish state and the durable outbox: [`Journal`] is what
//! `PublishState` needs from it (so the state stays free of I/O and is tested with a fake), and
//! [`OutboxJournal`] is the real one over [`DurableLog`], which turns every disk problem into
//! one log line, a counter and the in-memory fallback: delivery never stops because of the disk.

use std::sync::Arc;

use crate::health::{Counter, Metrics};
use crate::outbox::{DurableLog, OutboxSettings};
use crate::publish::{Message, MessageKind, Qos};

/// Where durable messages are written ahead; see the module docs.
pub(crate) trait Journal: Send + std::fmt::Debug {
    /// Writes `msg` ahead; its sequence number when the outbox holds it now, `None` when the
    /// message lives in memory only (the outbox is unavailable).
    fn append(&mut self, msg: &Message) -> Option<u64>;
    /// The broker acknowledged `seq`, or it was given up.
    fn acked(&mut self, seq: u64);
    /// Up to `max` waiting records with `seq >= from`, oldest first.
    fn read_from(&mut self, from: u64, max: usize) -> Vec<(u64, Message)>;
    /// Where reading back starts at start-up, when an earlier run left messages waiting.
    fn first_waiting(&self) -> Option<u64>;
    /// Everything at or below this was dropped to keep the outbox bounded since last asked.
    fn take_dropped_through(&mut self) -> Option<u64>;
    /// Whether a sync is due (something written or acknowledged since the last one).
    fn needs_sync(&self) -> bool;
    /// Makes what was written durable as the fsync policy asks.
    fn sync(&mut self);
    /// The sequence number the next appended record gets (`None`: nothing on disk).
    fn next_seq(&self) -> Option<u64> {
        None
    }
    /// Bytes of the outbox's segments on disk, for the `outbox_bytes` gauge.
    fn bytes_on_disk(&self) -> u64 {
        0
    }
}

/// Whether `msg` belongs in the durable outbox: event-like QoS 1 messages (finals, label events,
/// captions), not partials, embeddings, snapshots, stats or the status (re-announced on every
/// connect anyway).
pub(crate) fn is_durable(msg: &Message) -> bool {
    msg.qos == Qos::AtLeastOnce && matches!(msg.kind, MessageKind::Final | MessageKind::Labels)
}

/// The real journal: the outbox on disk, or nothing once it failed.
#[derive(Debug)]
pub(crate) struct OutboxJournal {
    log: Option<DurableLog>,
    /// The first waiting seq at open, when an earlier run left some.
    waiting_at_open: Option<u64>,
    dropped_through: Option<u64>,
    dirty: bool,
    metrics: Arc<Metrics>,
}

impl OutboxJournal {
    /// Opens the outbox as `settings` say; on any problem logs one line, counts
    /// `outbox_fallbacks` and returns a journal that keeps nothing (memory only).
    pub(crate) fn open(settings: OutboxSettings, metrics: Arc<Metrics>) -> Self {
        let mut waiting_at_open = None;
        let log = match DurableLog::open(settings) {
            Ok((log, recovery)) => {
                if recovery.pending > 0 {
                    waiting_at_open = Some(log.first_unacknowledged());
                }
                metrics.add(Counter::OutboxReplayed, recovery.pending);
                metrics.add(
                    Counter::OutboxCorruptSegments,
                    recovery.quarantined_segments as u64,
                );
                if recovery.pending > 0 || recovery.quarantined_segments > 0 {
                    tracing::info!(
                        dir = %log.dir().display(),
                        waiting = recovery.pending,
                        truncated_tails = recovery.truncated_tails,
                        quarantined_segments = recovery.quarantined_segments,
                        ledger_lost = recovery.ledger_lost,
                        "outbox: messages from an earlier run are sent first"
                    );
                } else {
                    tracing::debug!(dir = %log.dir().display(), "outbox open");
                }
                Some(log)
            }
            Err(e) => {
                metrics.incr(Counter::OutboxFallbacks);
                tracing::warn!(
                    "outbox unavailable ({e}); QoS 1 messages are kept in memory only \
                     (offline_queue_max) and are lost if perceptd stops before the broker has them"
                );
                None
            }
        };
        Self {
            log,
            waiting_at_open,
            dropped_through: None,
            dirty: false,
            metrics,
        }
    }

    fn fail(&mut self, what: &str, e: &std::io::Error) {
        if let Some(log) = self.log.take() {
            self.metrics.incr(Counter::OutboxFallbacks);
            tracing::warn!(
                "outbox: {what} in {} failed ({e}); until restart QoS 1 messages are kept in memory \
                 only (what the outbox already holds stays there for the next start)",
                log.dir().display()
            );
        }
    }
}

impl Journal for OutboxJournal {
    fn append(&mut self, msg: &Message) -> Option<u64> {
        let log = self.log.as_mut()?;
        match log.append(msg) {
            Ok(appended) => {
                self.dirty = true;
                self.metrics.incr(Counter::OutboxWritten);
                self.metrics
                    .add(Counter::OutboxBytesWritten, appended.bytes);
                self.metrics.add(Counter::OutboxFsyncs, appended.fsyncs);
                for dropped in &appended.dropped_segments {
                    self.metrics
                        .add(Counter::OutboxDropped, dropped.unacknowledged);
                    tracing::warn!(
                        "outbox: over outbox_max_bytes; deleted {} with {} unacknowledged message(s)",
                        dropped.path.display(),
                        dropped.unacknowledged
                    );
                    self.dropped_through = Some(dropped.last_seq);
                }
                Some(appended.seq)
            }
            Err(e) => {
                self.fail("writing", &e);
                None
            }
        }
    }

    fn acked(&mut self, seq: u64) {
        if let Some(log) = self.log.as_mut() {
            log.acked(seq);
            self.dirty = true;
        }
    }

    fn read_from(&mut self, from: u64, max: usize) -> Vec<(u64, Message)> {
        let Some(log) = self.log.as_ref() else {
            return Vec::new();
        };
        match log.read_from(from, max) {
            Ok(records) => records.into_iter().map(|r| (r.seq, r.message)).collect(),
            Err(e) => {
                self.fail("reading back", &e);
                Vec::new()
            }
        }
    }

    fn first_waiting(&self) -> Option<u64> {
        self.waiting_at_open.filter(|_| self.log.is_some())
    }

    fn take_dropped_through(&mut self) -> Option<u64> {
        self.dropped_through.take()
    }

    fn next_seq(&self) -> Option<u64> {
        self.log.as_ref().map(DurableLog::next_seq)
    }

    fn needs_sync(&self) -> bool {
        self.dirty && self.log.is_some()
    }

    fn bytes_on_disk(&self) -> u64 {
        self.log.as_ref().map_or(0, DurableLog::bytes_on_disk)
    }

    fn sync(&mut self) {
        self.dirty = false;
        let Some(log) = self.log.as_mut() else {
            return;
        };
        match log.sync() {
            Ok(fsyncs) => self.metrics.add(Counter::OutboxFsyncs, fsyncs),
            Err(e) => self.fail("syncing", &e),
        }
    }
}

impl Drop for OutboxJournal {
    /// A last sync, so a clean stop keeps the watermark and every record.
    fn drop(&mut self) {
        if self.needs_sync() {
            self.sync();
        }
    }
}
