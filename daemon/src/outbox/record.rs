//! One outbox record on disk:
//!
//! ```text
//! body_len u32 LE | crc32c(body) u32 LE | body
//! body = seq u64 | written_at_ms u64 | kind u8 | flags u8 | topic_len u16 | topic | payload
//! ```
//!
//! All integers little-endian; `flags` bit 0 is `retain` (every outbox message is QoS 1).
//! `written_at_ms` is Unix time in milliseconds, only used to report the oldest waiting message.

use super::crc32c::crc32c;
use crate::publish::{Message, MessageKind, Qos};

/// Bytes before the body: its length and its CRC.
pub const FRAME_BYTES: usize = 8;
/// Bytes of the body before the topic.
const BODY_HEAD_BYTES: usize = 8 + 8 + 1 + 1 + 2;
/// The largest body accepted when reading (a payload of at most 16 MiB plus the longest topic):
/// a larger length can only be damage.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024 + 65_535 + BODY_HEAD_BYTES;

/// A message as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the outbox; increases by one per appended message.
    pub seq: u64,
    /// When it was appended (Unix milliseconds).
    pub written_at_ms: u64,
    /// The message (always QoS 1).
    pub message: Message,
}

/// What the bytes at a read position hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, intact record taking `size` bytes.
    Record {
        /// The record.
        record: Record,
        /// Bytes it takes, frame included.
        size: usize,
    },
    /// Fewer bytes than the record needs: a write cut short (at the end of the last segment).
    Truncated,
    /// Damage. `size` is the record's extent when its length field is plausible (the reader
    /// may try the next record there), `None` when the framing itself is lost.
    Corrupt {
        /// Bytes to skip to the next record, when known.
        size: Option<usize>,
    },
}

/// The bytes of `record`, frame included.
pub fn encode(record: &Record) -> Vec<u8> {
    let msg = &record.message;
    let topic = msg.topic.as_bytes();
    let topic_len = u16::try_from(topic.len()).expect("topics are at most 65535 bytes");
    let body_len = BODY_HEAD_BYTES + topic.len() + msg.payload.len();
    let mut out = Vec::with_capacity(FRAME_BYTES + body_len);
    out.extend_from_slice(
        &u32::try_from(body_len)
            .expect("payloads are bounded")
            .to_le_bytes(),
    );
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&record.seq.to_le_bytes());
    out.extend_from_slice(&record.written_at_ms.to_le_bytes());
    out.push(kind_code(msg.kind));
    out.push(u8::from(msg.retain));
    out.extend_from_slice(&topic_len.to_le_bytes());
    out.extend_from_slice(topic);
    out.extend_from_slice(&msg.payload);
    let crc = crc32c(&out[FRAME_BYTES..]);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Reads the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded {
    let Some(frame) = bytes.get(..FRAME_BYTES) else {
        return Decoded::Truncated;
    };
    let body_len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(frame[4..].try_into().expect("4 bytes"));
    if !(BODY_HEAD_BYTES..=MAX_BODY_BYTES).contains(&body_len) {
        return Decoded::Corrupt { size: None };
    }
    let size = FRAME_BYTES + body_len;
    let Some(body) = bytes.get(FRAME_BYTES..size) else {
        return Decoded::Truncated;
    };
    if crc32c(body) != crc {
        return Decoded::Corrupt { size: Some(size) };
    }
    match parse_body(body) {
        Some(record) => Decoded::Record { record, size },
        None => Decoded::Corrupt { size: Some(size) },
    }
}

fn parse_body(body: &[u8]) -> Option<Record> {
    let seq = u64::from_le_bytes(body[..8].try_into().ok()?);
    let written_at_ms = u64::from_le_bytes(body[8..16].try_into().ok()?);
    let kind = kind_from_code(body[16])?;
    let flags = body[17];
    if flags > 1 {
        return None;
    }
    let topic_len = usize::from(u16::from_le_bytes(body[18..20].try_into().ok()?));
    let topic = body.get(BODY_HEAD_BYTES..BODY_HEAD_BYTES + topic_len)?;
    let topic = String::from_utf8(topic.to_vec()).ok()?;
    let payload = body[BODY_HEAD_BYTES + topic_len..].to_vec();
    Some(Record {
        seq,
        written_at_ms,
        message: Message {
            topic,
            payload,
            qos: Qos::AtLeastOnce,
            retain: flags == 1,
            kind,
        },
    })
}

fn kind_code(kind: MessageKind) -> u8 {
    match kind {
        MessageKind::Final => 1,
        MessageKind::Partial => 2,
        MessageKind::Status => 3,
        MessageKind::Stats => 4,
        MessageKind::Labels => 5,
        MessageKind::Embedding => 6,
        MessageKind::Snapshot => 7,
    }
}

fn kind_from_code(code: u8) -> Option<MessageKind> {
    Some(match code {
        1 => MessageKind::Final,
        2 => MessageKind::Partial,
        3 => MessageKind::Status,
        4 => MessageKind::Stats,
        5 => MessageKind::Labels,
        6 => MessageKind::Embedding,
        7 => MessageKind::Snapshot,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &str) -> Record {
        Record {
            seq,
            written_at_ms: 1_700_000_000_000 + seq,
            message: Message {
                topic: "perceptd/box/audio/mic/transcript/final".into(),
                payload: payload.as_bytes().to_vec(),
                qos: Qos::AtLeastOnce,
                retain: false,
                kind: MessageKind::Final,
            },
        }
    }

    #[test]
    fn a_record_round_trips() {
        let rec = record(42, r#"{"text":"hello"}"#);
        let bytes = encode(&rec);
        assert_eq!(
            decode(&bytes),
            Decoded::Record {
                record: rec,
                size: bytes.len()
            }
        );
    }

    #[test]
    fn every_cut_short_record_reads_as_truncated() {
        let bytes = encode(&record(7, "a payload of some length"));
        for len in 0..bytes.len() {
            assert_eq!(decode(&bytes[..len]), Decoded::Truncated, "cut at {len}");
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let rec = record(7, "payload");
        let bytes = encode(&rec);
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            match decode(&damaged) {
                Decoded::Record { record, .. } => panic!("bit {bit} flipped unnoticed: {record:?}"),
                Decoded::Corrupt { .. } | Decoded::Truncated => {}
            }
        }
    }
}
