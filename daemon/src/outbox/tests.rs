//! The log's recovery and bookkeeping, against real files in a temporary directory.

use std::fs;

use super::log::{DurableLog, OpenError};
use super::record;
use super::segment;
use super::{FsyncPolicy, OutboxSettings, summarize};
use crate::publish::{Message, MessageKind, Qos};

fn settings(dir: &std::path::Path) -> OutboxSettings {
    OutboxSettings {
        dir: dir.join("outbox"),
        fsync: FsyncPolicy::Interval,
        max_bytes: 64 * 1024 * 1024,
        segment_bytes: 4 * 1024 * 1024,
    }
}

fn final_msg(n: u64) -> Message {
    Message {
        topic: "perceptd/box/audio/mic/transcript/final".into(),
        payload: format!(r#"{{"utterance_id":{n},"revision":0,"text":"sentence {n}"}}"#)
            .into_bytes(),
        qos: Qos::AtLeastOnce,
        retain: false,
        kind: MessageKind::Final,
    }
}

fn pending_ids(log: &DurableLog) -> Vec<u64> {
    log.read_from(log.first_unacknowledged(), usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

fn the_only_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(segment::SUFFIX))
        .collect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.pop().unwrap()
}

/// Writes finals 1, 2 and 3 to a fresh outbox under `dir` and closes it; returns its one segment.
fn segment_of_three_finals(dir: &std::path::Path) -> std::path::PathBuf {
    {
        let (mut log, _) = DurableLog::open(settings(dir)).unwrap();
        for n in 1..=3 {
            log.append(&final_msg(n)).unwrap();
        }
    }
    the_only_segment(dir)
}

/// Bytes the record of `final_msg(seq)` takes on disk.
fn record_len(seq: u64) -> usize {
    record::encode(&record::Record {
        seq,
        written_at_ms: 0,
        message: final_msg(seq),
    })
    .len()
}

#[test]
fn appended_records_survive_a_reopen_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut log, recovery) = DurableLog::open(settings(tmp.path())).unwrap();
        assert_eq!(recovery.pending, 0);
        for n in 1..=3 {
            assert_eq!(log.append(&final_msg(n)).unwrap().seq, n);
        }
    }
    let (log, recovery) = DurableLog::open(settings(tmp.path())).unwrap();
    assert_eq!(recovery.pending, 3);
    let records = log.read_from(1, 10).unwrap();
    let payloads: Vec<_> = records.iter().map(|r| r.message.clone()).collect();
    assert_eq!(payloads, [final_msg(1), final_msg(2), final_msg(3)]);
    assert_eq!(log.next_seq(), 4);
}

#[test]
fn a_last_record_torn_at_any_offset_is_cut_off_and_the_rest_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = segment_of_three_finals(tmp.path());
    let whole = fs::read(&path).unwrap();
    let last_start = whole.len() - record_len(3);
    for cut in last_start + 1..whole.len() {
        fs::write(&path, &whole[..cut]).unwrap();
        let (mut log, recovery) = DurableLog::open(settings(tmp.path())).unwrap();
        assert_eq!(recovery.truncated_tails, 1, "cut at {cut}");
        assert_eq!(recovery.pending, 2, "cut at {cut}");
        assert_eq!(recovery.quarantined_segments, 0);
        assert_eq!(pending_ids(&log), [1, 2], "cut at {cut}");
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, last_start);
        // Appending goes on after the good records.
        assert_eq!(log.append(&final_msg(9)).unwrap().seq, 3);
        assert_eq!(pending_ids(&log), [1, 2, 3]);
    }
}

#[test]
fn a_flipped_bit_in_a_middle_record_quarantines_its_segment_and_keeps_the_good_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let path = segment_of_three_finals(tmp.path());
    let mut bytes = fs::read(&path).unwrap();
    bytes[segment::HEADER_BYTES + record_len(1) + 40] ^= 0x04;
    fs::write(&path, &bytes).unwrap();

    let (mut log, recovery) = DurableLog::open(settings(tmp.path())).unwrap();
    assert_eq!(recovery.quarantined_segments, 1);
    assert_eq!(recovery.corrupt_records, 1);
    assert_eq!(recovery.pending, 2);
    assert_eq!(pending_ids(&log), [1, 3]);
    let mut corrupt = path.as_os_str().to_owned();
    corrupt.push(segment::CORRUPT_SUFFIX);
    assert_eq!(
        fs::read(&corrupt).unwrap(),
        bytes,
        "the damaged file is kept as it was"
    );
    assert_eq!(log.append(&final_msg(4)).unwrap().seq, 4);
    let summary = summarize(&tmp.path().join("outbox")).unwrap();
    assert_eq!((summary.messages, summary.corrupt_files), (3, 1));
}

#[test]
fn acknowledgements_in_any_order_move_the_watermark_and_delete_whole_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let mut small = settings(tmp.path());
    small.segment_bytes = 200; // about two records per segment
    {
        let (mut log, _) = DurableLog::open(small.clone()).unwrap();
        for n in 1..=6 {
            log.append(&final_msg(n)).unwrap();
        }
        let segments_before = fs::read_dir(&small.dir).unwrap().count();
        log.acked(2);
        assert_eq!(log.first_unacknowledged(), 1, "1 is still out");
        log.acked(1);
        log.acked(3);
        assert_eq!(log.first_unacknowledged(), 4);
        let segments_after = fs::read_dir(&small.dir).unwrap().count();
        assert!(segments_after < segments_before, "acknowledged segments go");
        log.acked(5);
        log.sync().unwrap();
    }
    let (log, recovery) = DurableLog::open(small).unwrap();
    assert_eq!(recovery.pending, 3, "4, 5 and 6 (5 is above the watermark)");
    assert_eq!(pending_ids(&log), [4, 5, 6]);
}

#[test]
fn beyond_max_bytes_the_oldest_segment_goes_and_is_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut small = settings(tmp.path());
    small.segment_bytes = 200;
    small.max_bytes = 600;
    let (mut log, _) = DurableLog::open(small).unwrap();
    let mut dropped = Vec::new();
    for n in 1..=20 {
        dropped.extend(log.append(&final_msg(n)).unwrap().dropped_segments);
    }
    assert!(!dropped.is_empty());
    assert!(log.bytes_on_disk() <= 600 + 200);
    let lost: u64 = dropped.iter().map(|d| d.unacknowledged).sum();
    let kept = pending_ids(&log);
    assert_eq!(
        lost + kept.len() as u64,
        20,
        "every record is either kept or counted"
    );
    assert_eq!(*kept.last().unwrap(), 20, "the newest are kept");
}

#[test]
fn a_second_process_cannot_open_the_same_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    let (_log, _) = DurableLog::open(settings(tmp.path())).unwrap();
    let err = DurableLog::open(settings(tmp.path())).unwrap_err();
    assert!(matches!(err, OpenError::Locked(_)), "{err}");
}

#[test]
fn a_segment_from_a_newer_format_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbox");
    fs::create_dir_all(&dir).unwrap();
    let mut header = segment::header();
    header[8] = 9;
    let path = dir.join(segment::file_name(1));
    fs::write(&path, header).unwrap();
    let err = DurableLog::open(settings(tmp.path())).unwrap_err();
    assert!(
        matches!(err, OpenError::NewerFormat { version: 9, .. }),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), header);
}

#[test]
fn an_unwritable_state_dir_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let err = DurableLog::open(settings(&file)).unwrap_err();
    assert!(matches!(err, OpenError::Io { .. }), "{err}");
}

#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (mut log, _) = DurableLog::open(settings(tmp.path())).unwrap();
    log.append(&final_msg(1)).unwrap();
    let dir = tmp.path().join("outbox");
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in fs::read_dir(&dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// Not a test: the cost of writing ahead, for BENCHMARKS.md (`cargo test -p perceptd --lib
/// outbox::tests::append_cost -- --ignored --nocapture`; set PERCEPTD_BENCH_DIR to measure on
/// another disk than the temp dir's).
#[test]
#[ignore]
fn append_cost() {
    let base = std::env::var_os("PERCEPTD_BENCH_DIR").map(std::path::PathBuf::from);
    let tmp = match &base {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    // A final of typical size (the payload in docs/mqtt.md is ~690 bytes).
    let mut msg = final_msg(1);
    msg.payload = vec![b'x'; 690];
    for fsync in [
        FsyncPolicy::Never,
        FsyncPolicy::Interval,
        FsyncPolicy::Always,
    ] {
        let dir = tmp.path().join(format!("{fsync:?}"));
        let (mut log, _) = DurableLog::open(OutboxSettings {
            fsync,
            ..settings(&dir)
        })
        .unwrap();
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..500 {
            let start = std::time::Instant::now();
            let appended = log.append(&msg).unwrap();
            times.push(start.elapsed());
            bytes += appended.bytes;
            log.acked(appended.seq);
        }
        let start = std::time::Instant::now();
        let fsyncs = log.sync().unwrap();
        let sync = start.elapsed();
        times.sort();
        println!(
            "append {fsync:?}: median {:?}, p99 {:?}, max {:?}; {} bytes per record; one sync (segment + ledger, {fsyncs} fsyncs) {:?}",
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times[times.len() - 1],
            bytes / 500,
            sync
        );
    }
}
