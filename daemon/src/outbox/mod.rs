//! The durable outbox: event-like QoS 1 messages (finals, label events, captions) written ahead
//! to `{state_dir}/outbox/` before they are handed to the MQTT client, and kept until the broker
//! acknowledges them, so a stop, crash or power cut while the broker is away loses nothing that
//! the fsync policy promised to keep.
//!
//! ```text
//! {state_dir}/outbox/            0700
//!     lock                       held (flock) by the running perceptd
//!     ledger                     acknowledged watermark, two slots (ledger.rs)
//!     00000000000000000001.seg   segments of records (segment.rs, record.rs), 0600
//!     00000000000000004711.seg   the active one, appended to
//!     *.seg.corrupt              damaged segments set aside at start
//! ```
//!
//! An append-only log of our own rather than a key-value store: the workload is append and
//! delete-prefix, and whole-segment deletion keeps write amplification on SD cards at one.

mod crc32c;
pub mod inspect;
pub mod ledger;
pub mod log;
pub mod record;
pub mod segment;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use inspect::{Summary, summarize};
pub use log::{DurableLog, OpenError, Recovery};

/// Segments roll at this size (or a quarter of `max_bytes` when that is smaller).
pub const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;
/// The outbox's directory under the state directory.
pub const OUTBOX_DIR: &str = "outbox";

/// When appended records are forced to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// At most once a second, and only when something was written (default): a power cut loses
    /// at most the last second of messages.
    #[default]
    Interval,
    /// After every record, before it is handed to the client: a power cut loses nothing
    /// acknowledged by the append (slow on SD cards).
    Always,
    /// Never; the kernel writes back when it likes (about 30 s): a power cut can lose that much.
    Never,
}

/// Where the outbox lives and how it behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// The outbox directory (`{state_dir}/outbox`).
    pub dir: PathBuf,
    /// When records are forced to the disk.
    pub fsync: FsyncPolicy,
    /// Most bytes kept; beyond it the oldest segment is deleted.
    pub max_bytes: u64,
    /// Size at which the active segment is closed and a new one begun.
    pub segment_bytes: u64,
}

impl OutboxSettings {
    /// Settings for the outbox under `state_dir`, segments sized for `max_bytes`.
    pub fn new(state_dir: &Path, fsync: FsyncPolicy, max_bytes: u64) -> Self {
        Self {
            dir: state_dir.join(OUTBOX_DIR),
            fsync,
            max_bytes,
            segment_bytes: SEGMENT_BYTES.min(max_bytes / 4).max(64 * 1024),
        }
    }
}

/// The default state directory: `$STATE_DIRECTORY` (the first, when systemd's `StateDirectory=`
/// names several), else `$XDG_STATE_HOME/perceptd`, else `~/.local/state/perceptd`, else
/// `./perceptd-state` when no home is known.
pub fn default_state_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dirs) = var("STATE_DIRECTORY")
        && let Some(first) = dirs.to_string_lossy().split(':').find(|d| !d.is_empty())
    {
        return PathBuf::from(first);
    }
    if let Some(state) = var("XDG_STATE_HOME") {
        return PathBuf::from(state).join("perceptd");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/perceptd"),
        None => PathBuf::from("perceptd-state"),
    }
}

#[cfg(test)]
mod tests;
