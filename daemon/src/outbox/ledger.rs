//! The acknowledged watermark: every record with `seq <= watermark` was acknowledged by the
//! broker (or given up). Two 32-byte slots in the file `ledger`, written alternately with a
//! growing generation; the newest slot whose checksum holds wins, so a write torn by a power
//! cut leaves the previous value readable (no temporary file and rename needed).
//!
//! ```text
//! slot = b"PDLG" | version u16 | 0u16 | generation u64 | watermark u64 | crc32c(first 24) u32 | 0u32
//! ```

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use super::crc32c::crc32c;

const MAGIC: &[u8; 4] = b"PDLG";
/// The ledger format this build writes.
pub const FORMAT_VERSION: u16 = 1;
const SLOT_BYTES: usize = 32;

/// One valid slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Write count; the larger one is newer.
    pub generation: u64,
    /// Every seq at or below this is acknowledged.
    pub watermark: u64,
    /// The format that wrote it.
    pub version: u16,
}

/// The newest valid slot in a ledger's bytes, if any.
pub fn newest_slot(bytes: &[u8]) -> Option<Slot> {
    bytes
        .chunks_exact(SLOT_BYTES)
        .take(2)
        .filter_map(parse_slot)
        .max_by_key(|slot| slot.generation)
}

fn parse_slot(bytes: &[u8]) -> Option<Slot> {
    if &bytes[..4] != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(bytes[24..28].try_into().ok()?);
    if crc32c(&bytes[..24]) != crc {
        return None;
    }
    Some(Slot {
        version: u16::from_le_bytes(bytes[4..6].try_into().ok()?),
        generation: u64::from_le_bytes(bytes[8..16].try_into().ok()?),
        watermark: u64::from_le_bytes(bytes[16..24].try_into().ok()?),
    })
}

fn encode_slot(generation: u64, watermark: u64) -> [u8; SLOT_BYTES] {
    let mut slot = [0u8; SLOT_BYTES];
    slot[..4].copy_from_slice(MAGIC);
    slot[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    slot[8..16].copy_from_slice(&generation.to_le_bytes());
    slot[16..24].copy_from_slice(&watermark.to_le_bytes());
    let crc = crc32c(&slot[..24]);
    slot[24..28].copy_from_slice(&crc.to_le_bytes());
    slot
}

/// The open ledger file.
#[derive(Debug)]
pub struct Ledger {
    file: File,
    generation: u64,
}

impl Ledger {
    /// Opens (or creates, mode 0600) the ledger at `path`; returns it with the newest valid
    /// slot (none for a new or wholly damaged ledger).
    pub fn open(path: &Path) -> io::Result<(Ledger, Option<Slot>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let mut bytes = vec![0u8; 2 * SLOT_BYTES];
        let read = read_up_to(&file, &mut bytes)?;
        let slot = newest_slot(&bytes[..read]);
        let generation = slot.map_or(0, |s| s.generation);
        Ok((Ledger { file, generation }, slot))
    }

    /// Writes `watermark` into the older slot; with `sync`, waits until it is on the disk.
    pub fn write(&mut self, watermark: u64, sync: bool) -> io::Result<()> {
        self.generation += 1;
        let offset = (self.generation % 2) * SLOT_BYTES as u64;
        self.file
            .write_all_at(&encode_slot(self.generation, watermark), offset)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

fn read_up_to(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_write_keeps_the_previous_one() {
        let dir = tempdir();
        let path = dir.join("ledger");
        let (mut ledger, slot) = Ledger::open(&path).unwrap();
        assert_eq!(slot, None);
        ledger.write(5, true).unwrap();
        ledger.write(9, true).unwrap();
        drop(ledger);
        let (_, slot) = Ledger::open(&path).unwrap();
        assert_eq!(slot.map(|s| s.watermark), Some(9));

        // Tear the newest slot (generation 2 lives in slot 0): the older one is read.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let (mut ledger, slot) = Ledger::open(&path).unwrap();
        assert_eq!(slot.map(|s| s.watermark), Some(5));
        // The next write goes over the torn slot and becomes the newest.
        ledger.write(11, true).unwrap();
        let (_, slot) = Ledger::open(&path).unwrap();
        assert_eq!(slot.map(|s| s.watermark), Some(11));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "perceptd-ledger-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
