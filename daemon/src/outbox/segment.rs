//! Segment files: `{first_seq:020}.seg` in the outbox directory, a 16-byte header (magic,
//! format version) followed by records (see `record`). A segment is only ever appended to, and
//! deleted whole once every record in it is acknowledged.

use super::record::{self, Decoded, Record};

/// The first bytes of every segment.
pub const MAGIC: &[u8; 8] = b"PDOUTBOX";
/// The segment format this build writes and reads. A later version may read this one; this
/// build leaves a newer one untouched (and does not use the outbox).
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the first record.
pub const HEADER_BYTES: usize = 16;
/// File name suffix of a live segment.
pub const SUFFIX: &str = ".seg";
/// Suffix added to a segment found damaged (kept for a person to look at, never read again).
pub const CORRUPT_SUFFIX: &str = ".corrupt";

/// The header of a new segment.
pub fn header() -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header
}

/// The file name of the segment whose first record is `first_seq`.
pub fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SUFFIX}")
}

/// The first sequence number a segment file name stands for, if it names a live segment.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a segment's header cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Shorter than a header (a segment created just before a crash, or damage).
    Short,
    /// Not a perceptd outbox segment (or a damaged header).
    BadMagic,
    /// Written by a newer perceptd; left alone.
    NewerVersion(u32),
}

/// What reading a whole segment found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every intact record, in file order.
    pub records: Vec<Record>,
    /// Length of the file up to the end of the last record read before a truncated one.
    pub valid_len: usize,
    /// The file ends inside a record (a write cut short).
    pub truncated: bool,
    /// Records with a bad checksum or body (skipped when their length was plausible).
    pub corrupt_records: usize,
    /// A damaged length made the rest of the file unreadable.
    pub framing_lost: bool,
}

impl Scan {
    /// Whether anything but a cut-short tail was wrong.
    pub fn damaged(&self) -> bool {
        self.corrupt_records > 0 || self.framing_lost
    }
}

/// Reads every record of a segment's bytes.
pub fn scan(bytes: &[u8]) -> Result<Scan, HeaderProblem> {
    check_header(bytes)?;
    let mut scan = Scan::default();
    let mut offset = HEADER_BYTES;
    while offset < bytes.len() {
        match record::decode(&bytes[offset..]) {
            Decoded::Record { record, size } => {
                scan.records.push(record);
                offset += size;
            }
            Decoded::Truncated => {
                scan.truncated = true;
                break;
            }
            Decoded::Corrupt { size: Some(size) } => {
                scan.corrupt_records += 1;
                offset += size;
            }
            Decoded::Corrupt { size: None } => {
                scan.corrupt_records += 1;
                scan.framing_lost = true;
                break;
            }
        }
    }
    scan.valid_len = offset.min(bytes.len());
    Ok(scan)
}

fn check_header(bytes: &[u8]) -> Result<(), HeaderProblem> {
    let header = bytes.get(..HEADER_BYTES).ok_or(HeaderProblem::Short)?;
    if &header[..8] != MAGIC {
        return Err(HeaderProblem::BadMagic);
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if version > FORMAT_VERSION {
        return Err(HeaderProblem::NewerVersion(version));
    }
    if version == 0 {
        return Err(HeaderProblem::BadMagic);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{Message, MessageKind, Qos};

    fn record(seq: u64) -> Record {
        Record {
            seq,
            written_at_ms: 0,
            message: Message {
                topic: format!("t/{seq}"),
                payload: vec![seq as u8; 40],
                qos: Qos::AtLeastOnce,
                retain: false,
                kind: MessageKind::Final,
            },
        }
    }

    fn segment(seqs: std::ops::RangeInclusive<u64>) -> Vec<u8> {
        let mut bytes = header().to_vec();
        for seq in seqs {
            bytes.extend(record::encode(&record(seq)));
        }
        bytes
    }

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        assert_eq!(parse_file_name(&file_name(17)), Some(17));
        assert_eq!(parse_file_name("17.seg"), None);
        assert_eq!(parse_file_name("00000000000000000017.seg.corrupt"), None);
    }

    #[test]
    fn a_clean_segment_reads_whole() {
        let bytes = segment(1..=3);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.valid_len, bytes.len());
        assert!(!scan.truncated && !scan.damaged());
    }

    #[test]
    fn a_flipped_payload_bit_skips_only_that_record() {
        let mut bytes = segment(1..=3);
        let second = HEADER_BYTES + record::encode(&record(1)).len();
        bytes[second + 30] ^= 0x10;
        let scan = scan(&bytes).unwrap();
        let seqs: Vec<u64> = scan.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!(scan.corrupt_records, 1);
        assert!(scan.damaged());
    }

    #[test]
    fn headers_are_checked() {
        assert_eq!(scan(b"PDOUT"), Err(HeaderProblem::Short));
        assert_eq!(scan(&[0u8; 16]), Err(HeaderProblem::BadMagic));
        let mut newer = header();
        newer[8] = 2;
        assert_eq!(scan(&newer), Err(HeaderProblem::NewerVersion(2)));
    }
}
