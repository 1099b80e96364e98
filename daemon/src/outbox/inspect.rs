//! `perceptd outbox inspect`: what is waiting in an outbox, read without changing anything
//! (safe while the daemon runs).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use super::ledger;
use super::log::LEDGER_FILE;
use super::segment;

/// What an outbox holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Messages not yet acknowledged.
    pub messages: u64,
    /// Their payload and topic bytes.
    pub bytes: u64,
    /// When the oldest of them was written (Unix milliseconds).
    pub oldest_written_ms: Option<u64>,
    /// Messages per topic.
    pub topics: BTreeMap<String, u64>,
    /// Segment files (live ones).
    pub segments: usize,
    /// Their size on disk.
    pub disk_bytes: u64,
    /// Files set aside as damaged (`*.corrupt`).
    pub corrupt_files: usize,
    /// The acknowledged watermark.
    pub watermark: u64,
    /// Segments a newer format wrote, or with a damaged header or records (read as far as possible).
    pub unreadable: Vec<String>,
}

/// Reads the outbox directory `dir`; a missing directory is an empty outbox.
pub fn summarize(dir: &Path) -> io::Result<Summary> {
    let mut summary = Summary::default();
    if !dir.exists() {
        return Ok(summary);
    }
    summary.watermark = match fs::read(dir.join(LEDGER_FILE)) {
        Ok(bytes) => ledger::newest_slot(&bytes).map_or(0, |s| s.watermark),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let mut names: Vec<_> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        if name.ends_with(segment::CORRUPT_SUFFIX) {
            summary.corrupt_files += 1;
            continue;
        }
        if segment::parse_file_name(&name).is_none() {
            continue;
        }
        let bytes = fs::read(dir.join(&name))?;
        summary.segments += 1;
        summary.disk_bytes += bytes.len() as u64;
        let scan = match segment::scan(&bytes) {
            Ok(scan) => scan,
            Err(problem) => {
                summary.unreadable.push(format!("{name}: {problem:?}"));
                continue;
            }
        };
        if scan.damaged() {
            summary.unreadable.push(format!(
                "{name}: {} damaged record(s)",
                scan.corrupt_records
            ));
        }
        for record in scan.records.iter().filter(|r| r.seq > summary.watermark) {
            summary.messages += 1;
            summary.bytes += (record.message.topic.len() + record.message.payload.len()) as u64;
            summary.oldest_written_ms = Some(
                summary
                    .oldest_written_ms
                    .map_or(record.written_at_ms, |t| t.min(record.written_at_ms)),
            );
            *summary
                .topics
                .entry(record.message.topic.clone())
                .or_default() += 1;
        }
    }
    Ok(summary)
}

impl Summary {
    /// Age of the oldest waiting message at `now_ms` (Unix milliseconds), in seconds.
    pub fn oldest_age_secs(&self, now_ms: u64) -> Option<f64> {
        self.oldest_written_ms
            .map(|t| now_ms.saturating_sub(t) as f64 / 1000.0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        writeln!(f, "messages waiting: {}", self.messages)?;
        writeln!(f, "bytes waiting: {}", self.bytes)?;
        match self.oldest_age_secs(now_ms) {
            Some(age) => writeln!(f, "oldest: {age:.1} s ago")?,
            None => writeln!(f, "oldest: -")?,
        }
        writeln!(
            f,
            "segments: {} ({} bytes on disk), acknowledged through seq {}",
            self.segments, self.disk_bytes, self.watermark
        )?;
        if self.corrupt_files > 0 {
            writeln!(f, "set aside as damaged: {} file(s)", self.corrupt_files)?;
        }
        for problem in &self.unreadable {
            writeln!(f, "unreadable: {problem}")?;
        }
        for (topic, count) in &self.topics {
            writeln!(f, "  {count:>6}  {topic}")?;
        }
        Ok(())
    }
}
