//! [`DurableLog`]: the outbox directory as an append-only log of segments plus the ledger.
//!
//! * `append` writes a record with one `write(2)` before the message goes anywhere else, so a
//!   crash of the process loses nothing; what a power cut can lose depends on [`FsyncPolicy`].
//! * `acked` advances the watermark (acknowledgements may come out of order); segments whose
//!   every record is acknowledged are deleted whole.
//! * Beyond `max_bytes` the oldest segment is deleted and its unacknowledged records counted as
//!   dropped.
//! * `open` recovers: a record cut short at the end of the last segment is cut off; a segment with
//!   a damaged record is renamed `*.corrupt` and its intact records are written back under its
//!   name (so they keep their place and sequence numbers); start goes on whatever it finds.

use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ledger::{self, Ledger};
use super::record::{self, Record};
use super::segment::{self, HeaderProblem};
use super::{FsyncPolicy, OutboxSettings};
use crate::publish::Message;

/// Name of the lock file that keeps a second perceptd out of the same outbox.
pub const LOCK_FILE: &str = "lock";
/// Name of the ledger file.
pub const LEDGER_FILE: &str = "ledger";

/// Why the outbox cannot be used (the publisher then keeps messages in memory only).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory or one of its files could not be created, opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Another process holds the outbox.
    #[error("{0} is locked by another perceptd")]
    Locked(PathBuf),
    /// A newer perceptd wrote it; it is left untouched.
    #[error("{path} was written by a newer perceptd (format {version}); it is left untouched")]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
}

/// What recovery found and did at open.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Records waiting to be delivered.
    pub pending: u64,
    /// Segments on disk after recovery.
    pub segments: usize,
    /// Records cut short at the end of the last segment and cut off.
    pub truncated_tails: usize,
    /// Segments renamed `*.corrupt`.
    pub quarantined_segments: usize,
    /// Damaged records left behind in those.
    pub corrupt_records: usize,
    /// The ledger had no valid slot while segments existed (everything on disk is replayed).
    pub ledger_lost: bool,
}

/// What one append did besides writing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Appended {
    /// The record's sequence number.
    pub seq: u64,
    /// Bytes written.
    pub bytes: u64,
    /// fsync calls made.
    pub fsyncs: u64,
    /// Segments deleted to stay within `max_bytes`: (first seq, last seq, unacknowledged records).
    pub dropped_segments: Vec<DroppedSegment>,
}

/// A segment deleted before all its records were acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSegment {
    /// Its file.
    pub path: PathBuf,
    /// Its last record's sequence number (the watermark moves there).
    pub last_seq: u64,
    /// Records in it that were never acknowledged.
    pub unacknowledged: u64,
}

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    /// Last record's seq; `None` while empty.
    last_seq: Option<u64>,
    path: PathBuf,
    bytes: u64,
}

/// The open outbox; see the module docs.
#[derive(Debug)]
pub struct DurableLog {
    dir: PathBuf,
    settings: OutboxSettings,
    /// Oldest first; the last one is the active segment.
    segments: VecDeque<Segment>,
    active: File,
    next_seq: u64,
    watermark: u64,
    acked_above: BTreeSet<u64>,
    ledger: Ledger,
    ledger_dirty: bool,
    segment_dirty: bool,
    _lock: File,
}

impl DurableLog {
    /// Opens the outbox in `settings.dir` (created 0700), recovering what an earlier run left.
    pub fn open(settings: OutboxSettings) -> Result<(DurableLog, Recovery), OpenError> {
        let dir = settings.dir.clone();
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err(&dir))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = create_file(&lock_path).map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OpenError::Locked(dir)),
            Err(fs::TryLockError::Error(source)) => {
                return Err(OpenError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let ledger_path = dir.join(LEDGER_FILE);
        let (ledger, slot) = Ledger::open(&ledger_path).map_err(io_err(&ledger_path))?;
        if let Some(slot) = slot
            && slot.version > ledger::FORMAT_VERSION
        {
            return Err(OpenError::NewerFormat {
                path: ledger_path,
                version: u32::from(slot.version),
            });
        }
        let watermark = slot.map_or(0, |s| s.watermark);
        let mut recovery = Recovery::default();
        let mut segments = recover_segments(&dir, watermark, &mut recovery)?;
        recovery.ledger_lost = slot.is_none() && !segments.is_empty();

        let max_seq = segments.iter().filter_map(|s| s.last_seq).max();
        let next_seq = max_seq.unwrap_or(0).max(watermark) + 1;
        let active = match segments.back() {
            Some(seg) => open_append(&seg.path).map_err(io_err(&seg.path))?,
            None => {
                let path = dir.join(segment::file_name(next_seq));
                let (seg, file) = create_segment(path.clone(), next_seq).map_err(io_err(&path))?;
                segments.push_back(seg);
                file
            }
        };
        let mut log = DurableLog {
            dir,
            settings,
            segments,
            active,
            next_seq,
            watermark,
            acked_above: BTreeSet::new(),
            ledger,
            ledger_dirty: false,
            segment_dirty: false,
            _lock: lock,
        };
        // Whole segments already acknowledged (the ledger was written, the unlink was not).
        log.delete_acknowledged_segments();
        recovery.segments = log.segments.len();
        Ok((log, recovery))
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first sequence number not yet acknowledged.
    pub fn first_unacknowledged(&self) -> u64 {
        self.watermark + 1
    }

    /// The sequence number the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Writes `msg` (a QoS 1 message) as the next record. On an error nothing is counted as
    /// appended (a partial record is cut off by the next start's recovery).
    pub fn append(&mut self, msg: &Message) -> io::Result<Appended> {
        let mut appended = Appended::default();
        let active = self
            .segments
            .back()
            .expect("there is always an active segment");
        if active.last_seq.is_some() && active.bytes >= self.settings.segment_bytes {
            appended.fsyncs += self.roll()?;
        }
        let seq = self.next_seq;
        let bytes = record::encode(&Record {
            seq,
            written_at_ms: unix_ms(),
            message: msg.clone(),
        });
        self.active.write_all(&bytes)?;
        self.next_seq += 1;
        let active = self
            .segments
            .back_mut()
            .expect("there is always an active segment");
        active.last_seq = Some(seq);
        active.bytes += bytes.len() as u64;
        appended.seq = seq;
        appended.bytes = bytes.len() as u64;
        if self.settings.fsync == FsyncPolicy::Always {
            self.active.sync_data()?;
            appended.fsyncs += 1;
        } else {
            self.segment_dirty = true;
        }
        appended.dropped_segments = self.enforce_max_bytes();
        Ok(appended)
    }

    /// The broker acknowledged `seq` (or it was given up). Whole acknowledged segments are
    /// deleted; the watermark reaches the ledger at the next [`sync`](Self::sync).
    pub fn acked(&mut self, seq: u64) {
        if seq <= self.watermark || seq >= self.next_seq {
            return;
        }
        self.acked_above.insert(seq);
        while self.acked_above.remove(&(self.watermark + 1)) {
            self.watermark += 1;
            self.ledger_dirty = true;
        }
        self.delete_acknowledged_segments();
    }

    /// Makes what was written durable as the policy asks: fsyncs the active segment when written
    /// since the last sync (not with `never`) and writes the ledger when the watermark moved.
    /// Returns the fsync calls made.
    pub fn sync(&mut self) -> io::Result<u64> {
        let sync = self.settings.fsync != FsyncPolicy::Never;
        let mut fsyncs = 0;
        if self.segment_dirty && sync {
            self.active.sync_data()?;
            fsyncs += 1;
        }
        self.segment_dirty = false;
        if self.ledger_dirty {
            self.ledger.write(self.watermark, sync)?;
            self.ledger_dirty = false;
            fsyncs += u64::from(sync);
        }
        Ok(fsyncs)
    }

    /// Up to `max` records with `seq >= from`, in order (those still on disk).
    pub fn read_from(&self, from: u64, max: usize) -> io::Result<Vec<Record>> {
        let mut out = Vec::new();
        for seg in &self.segments {
            if out.len() >= max {
                break;
            }
            if seg.last_seq.is_none_or(|last| last < from) {
                continue;
            }
            let bytes = fs::read(&seg.path)?;
            let scan = segment::scan(&bytes)
                .map_err(|p| io::Error::other(format!("{}: {p:?}", seg.path.display())))?;
            out.extend(
                scan.records
                    .into_iter()
                    .filter(|r| r.seq >= from && r.seq > self.watermark)
                    .take(max - out.len()),
            );
        }
        Ok(out)
    }

    /// Bytes of all segments on disk.
    pub fn bytes_on_disk(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    fn roll(&mut self) -> io::Result<u64> {
        let mut fsyncs = 0;
        if self.settings.fsync != FsyncPolicy::Never && self.segment_dirty {
            self.active.sync_data()?;
            fsyncs += 1;
        }
        self.segment_dirty = false;
        let path = self.dir.join(segment::file_name(self.next_seq));
        let (seg, file) = create_segment(path, self.next_seq)?;
        self.segments.push_back(seg);
        self.active = file;
        Ok(fsyncs)
    }

    fn enforce_max_bytes(&mut self) -> Vec<DroppedSegment> {
        let mut dropped = Vec::new();
        while self.segments.len() > 1 && self.bytes_on_disk() > self.settings.max_bytes {
            let seg = self.segments.pop_front().expect("checked");
            let last = seg.last_seq.unwrap_or(self.watermark);
            let unacknowledged = (seg.first_seq.max(self.watermark + 1)..=last)
                .filter(|seq| !self.acked_above.contains(seq))
                .count() as u64;
            let _ = fs::remove_file(&seg.path);
            if last > self.watermark {
                self.watermark = last;
                self.acked_above = self.acked_above.split_off(&(last + 1));
                self.ledger_dirty = true;
            }
            dropped.push(DroppedSegment {
                path: seg.path,
                last_seq: last,
                unacknowledged,
            });
        }
        dropped
    }

    fn delete_acknowledged_segments(&mut self) {
        while self.segments.len() > 1
            && self.segments[0]
                .last_seq
                .is_none_or(|last| last <= self.watermark)
        {
            let seg = self.segments.pop_front().expect("checked");
            if let Err(e) = fs::remove_file(&seg.path) {
                tracing::warn!("outbox: could not delete {}: {e}", seg.path.display());
            }
        }
    }
}

/// Lists, checks and repairs the segments in `dir`, oldest first.
fn recover_segments(
    dir: &Path,
    watermark: u64,
    recovery: &mut Recovery,
) -> Result<VecDeque<Segment>, OpenError> {
    let io_err = |path: &Path, source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        if let Some(first) = name.to_str().and_then(segment::parse_file_name) {
            found.push((first, entry.path()));
        }
    }
    found.sort();
    let last_index = found.len().saturating_sub(1);
    let mut segments = VecDeque::new();
    for (index, (first_seq, path)) in found.into_iter().enumerate() {
        let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
        let is_last = index == last_index;
        let scan = match segment::scan(&bytes) {
            Ok(scan) => scan,
            Err(HeaderProblem::NewerVersion(version)) => {
                return Err(OpenError::NewerFormat { path, version });
            }
            Err(HeaderProblem::Short) if is_last => {
                // Created just before a crash: nothing was ever in it.
                fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
                continue;
            }
            Err(problem) => {
                quarantine(&path, &[], recovery, 0).map_err(|e| io_err(&path, e))?;
                tracing::warn!(
                    "outbox: {} has an unusable header ({problem:?}); renamed {}",
                    path.display(),
                    segment::CORRUPT_SUFFIX
                );
                continue;
            }
        };
        let records_bytes: u64;
        if scan.damaged() || (scan.truncated && !is_last) {
            let corrupt = scan.corrupt_records + usize::from(scan.truncated);
            records_bytes = quarantine(&path, &scan.records, recovery, corrupt)
                .map_err(|e| io_err(&path, e))?;
            tracing::warn!(
                "outbox: {} holds {corrupt} damaged record(s); renamed {}, its {} intact record(s) kept",
                path.display(),
                segment::CORRUPT_SUFFIX,
                scan.records.len()
            );
            if scan.records.is_empty() {
                continue;
            }
        } else if scan.truncated {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| io_err(&path, e))?;
            file.set_len(scan.valid_len as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_err(&path, e))?;
            recovery.truncated_tails += 1;
            tracing::warn!(
                "outbox: {} ended inside a record (a write cut short); cut off at byte {}",
                path.display(),
                scan.valid_len
            );
            records_bytes = scan.valid_len as u64;
        } else {
            records_bytes = bytes.len() as u64;
        }
        recovery.pending += scan.records.iter().filter(|r| r.seq > watermark).count() as u64;
        segments.push_back(Segment {
            first_seq,
            last_seq: scan.records.iter().map(|r| r.seq).max(),
            path,
            bytes: records_bytes,
        });
    }
    Ok(segments)
}

/// Renames a damaged segment `*.corrupt` and writes `keep` back under its name; returns the new
/// file's length (0 when nothing was kept).
fn quarantine(
    path: &Path,
    keep: &[Record],
    recovery: &mut Recovery,
    corrupt_records: usize,
) -> io::Result<u64> {
    let mut corrupt_name = path.as_os_str().to_owned();
    corrupt_name.push(segment::CORRUPT_SUFFIX);
    fs::rename(path, &corrupt_name)?;
    recovery.quarantined_segments += 1;
    recovery.corrupt_records += corrupt_records;
    if keep.is_empty() {
        return Ok(0);
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let mut bytes = segment::header().to_vec();
    for record in keep {
        bytes.extend(record::encode(record));
    }
    let mut file = create_file(Path::new(&tmp_name))?;
    file.set_len(0)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&tmp_name, path)?;
    Ok(bytes.len() as u64)
}

/// Creates the segment file at `path` (mode 0600) with its header.
fn create_segment(path: PathBuf, first_seq: u64) -> io::Result<(Segment, File)> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(&segment::header())?;
    Ok((
        Segment {
            first_seq,
            last_seq: None,
            bytes: segment::HEADER_BYTES as u64,
            path,
        },
        file,
    ))
}

fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).open(path)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
