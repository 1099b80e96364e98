//! Whisper's byte-level BPE tokenizer, read from the tiktoken vocabulary files that ship with
//! openai-whisper (`gpt2.tiktoken` for English-only models, `multilingual.tiktoken` otherwise).
//!
//! Special tokens follow the vocabulary in a fixed order: end of text, start of transcript, one
//! token per language, translate, transcribe, start of LM, start of previous, no speech,
//! no timestamps, then 1501 timestamp tokens `<|0.00|>` … `<|30.00|>`.

use base64::Engine;
use std::collections::HashMap;
use std::path::Path;

use super::error::WhisperError;

/// Language codes in vocabulary order. Models know the first `n_languages` of them.
pub const LANGUAGES: [&str; 100] = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su", "yue",
];

/// Number of timestamp tokens (0.00 s to 30.00 s in 0.02 s steps).
pub const N_TIMESTAMPS: usize = 1501;

/// Ids of Whisper's special tokens for one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `<|endoftext|>`
    pub eot: u32,
    /// `<|startoftranscript|>`
    pub sot: u32,
    /// First language token (`<|en|>`).
    pub first_language: u32,
    /// Number of language tokens.
    pub n_languages: u32,
    /// `<|translate|>`
    pub translate: u32,
    /// `<|transcribe|>`
    pub transcribe: u32,
    /// `<|startoflm|>`
    pub sot_lm: u32,
    /// `<|startofprev|>`
    pub sot_prev: u32,
    /// `<|nospeech|>`
    pub no_speech: u32,
    /// `<|notimestamps|>`
    pub no_timestamps: u32,
    /// `<|0.00|>`, the first timestamp token.
    pub timestamp_begin: u32,
}

impl SpecialTokens {
    /// Lays out the special tokens after `n_ranks` ordinary tokens, for a model with `n_vocab` ids.
    pub fn for_vocab(n_ranks: u32, n_vocab: u32) -> Result<Self, String> {
        let fixed = 2 + 6 + N_TIMESTAMPS as u32;
        let n_languages = n_vocab
            .checked_sub(n_ranks + fixed)
            .filter(|n| (1..=LANGUAGES.len() as u32).contains(n))
            .ok_or_else(|| {
                format!("vocabulary of {n_ranks} ranks does not fit a model with {n_vocab} tokens")
            })?;
        let after_languages = n_ranks + 2 + n_languages;
        Ok(Self {
            eot: n_ranks,
            sot: n_ranks + 1,
            first_language: n_ranks + 2,
            n_languages,
            translate: after_languages,
            transcribe: after_languages + 1,
            sot_lm: after_languages + 2,
            sot_prev: after_languages + 3,
            no_speech: after_languages + 4,
            no_timestamps: after_languages + 5,
            timestamp_begin: after_languages + 6,
        })
    }

    /// The token of language `code`, if the model knows it.
    pub fn language_token(&self, code: &str) -> Option<u32> {
        let index = LANGUAGES.iter().position(|l| *l == code)? as u32;
        (index < self.n_languages).then_some(self.first_language + index)
    }

    /// The language code of a language token.
    pub fn language_code(&self, token: u32) -> Option<&'static str> {
        let index = token.checked_sub(self.first_language)?;
        (index < self.n_languages).then(|| LANGUAGES[index as usize])
    }
}

/// Whisper's tokenizer: ordinary BPE tokens plus [`SpecialTokens`].
#[derive(Debug, Clone)]
pub struct Tokenizer {
    tokens: Vec<Vec<u8>>,
    ranks: HashMap<Vec<u8>, u32>,
    specials: SpecialTokens,
}

impl Tokenizer {
    /// Reads a tiktoken file (`base64 rank` per line) for a model with `n_vocab` tokens.
    pub fn from_tiktoken_file(path: &Path, n_vocab: usize) -> Result<Self, WhisperError> {
        let text = std::fs::read_to_string(path).map_err(|e| WhisperError::io(path, e))?;
        Self::from_tiktoken(&text, n_vocab).map_err(|reason| WhisperError::BadModel {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses tiktoken text (`base64 rank` per line, ranks 0..n in order).
    pub fn from_tiktoken(text: &str, n_vocab: usize) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut ranks = HashMap::new();
        for (line_no, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let (b64, rank) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {}: expected `token rank`", line_no + 1))?;
            // The multilingual vocabulary has one empty token, written as a lone "=".
            let bytes = if b64.trim_end_matches('=').is_empty() {
                Vec::new()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("line {}: bad base64: {e}", line_no + 1))?
            };
            let rank: u32 = rank
                .trim()
                .parse()
                .map_err(|e| format!("line {}: bad rank: {e}", line_no + 1))?;
            if rank as usize != tokens.len() {
                return Err(format!("line {}: rank {rank} out of order", line_no + 1));
            }
            if !bytes.is_empty() {
                ranks.insert(bytes.clone(), rank);
            }
            tokens.push(bytes);
        }
        let specials = SpecialTokens::for_vocab(tokens.len() as u32, n_vocab as u32)?;
        Ok(Self {
            tokens,
            ranks,
            specials,
        })
    }

    /// The special token ids.
    pub fn specials(&self) -> &SpecialTokens {
        &self.specials
    }

    /// Total number of token ids, special and timestamp tokens included.
    pub fn n_vocab(&self) -> usize {
        self.specials.timestamp_begin as usize + N_TIMESTAMPS
    }

    /// Whether `token` is a timestamp token.
    pub fn is_timestamp(&self, token: u32) -> bool {
        token >= self.specials.timestamp_begin
    }

    /// Decodes ordinary tokens to text; special and timestamp tokens are skipped.
    /// Invalid UTF-8 (a character split across segments) becomes U+FFFD.
    pub fn decode(&self, tokens: &[u32]) -> String {
        let bytes: Vec<u8> = tokens
            .iter()
            .filter_map(|&t| self.tokens.get(t as usize))
            .flatten()
            .copied()
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Encodes text with byte-level BPE, splitting it first into GPT-2 style pieces
    /// (contractions, words with their leading space, numbers, punctuation runs, whitespace).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        pretokenize(text)
            .into_iter()
            .flat_map(|piece| self.encode_piece(piece.as_bytes()))
            .collect()
    }

    /// BPE on one piece: start from single bytes and repeatedly merge the adjacent pair whose
    /// concatenation has the lowest rank.
    fn encode_piece(&self, piece: &[u8]) -> Vec<u32> {
        if let Some(&rank) = self.ranks.get(piece) {
            return vec![rank];
        }
        let mut parts: Vec<Vec<u8>> = piece.iter().map(|b| vec![*b]).collect();
        loop {
            let best = parts
                .windows(2)
                .enumerate()
                .filter_map(|(i, pair)| {
                    let joined = [pair[0].as_slice(), pair[1].as_slice()].concat();
                    self.ranks.get(&joined).map(|&rank| (rank, i))
                })
                .min();
            let Some((_, i)) = best else { break };
            let right = parts.remove(i + 1);
            parts[i].extend(right);
        }
        parts
            .iter()
            .filter_map(|p| self.ranks.get(p).copied())
            .collect()
    }

    /// Tokens the reference suppresses because they start speaker tags or non-speech annotations
    /// (`♪`, `[`, `(`, …), keeping ordinary punctuation.
    pub fn non_speech_tokens(&self) -> Vec<u32> {
        let mut symbols: Vec<String> = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』"
            .chars()
            .map(String::from)
            .collect();
        symbols.extend(
            "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪"
                .split(' ')
                .map(String::from),
        );
        let miscellaneous: Vec<String> = "♩♪♫♬♭♮♯".chars().map(String::from).collect();
        let mut result: Vec<u32> = [" -", " '"]
            .iter()
            .filter_map(|s| self.encode(s).first().copied())
            .collect();
        for symbol in symbols.iter().chain(&miscellaneous) {
            let is_misc = miscellaneous.contains(symbol);
            for tokens in [self.encode(symbol), self.encode(&format!(" {symbol}"))] {
                if tokens.len() == 1 || (is_misc && !tokens.is_empty()) {
                    result.push(tokens[0]);
                }
            }
        }
        result.sort_unstable();
        result.dedup();
        result
    }
}

/// Splits text the way GPT-2's pre-tokenizer does, closely enough for prompts and symbols:
/// `'s 't 're 've 'm 'll 'd`, ` ?letters`, ` ?digits`, ` ?other`, and whitespace runs (a run
/// before a non-space keeps its last space for the next piece).
fn pretokenize(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Digit,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphabetic() {
            Class::Letter
        } else if c.is_numeric() {
            Class::Digit
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let (_, c) = chars[i];
        if c == '\'' {
            let rest = &text[chars[i].0..];
            if let Some(len) = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
                .iter()
                .find(|s| rest.starts_with(**s))
                .map(|s| s.len())
            {
                pieces.push(&rest[..len]);
                i += len;
                continue;
            }
        }
        let mut k = i;
        if c == ' '
            && chars
                .get(i + 1)
                .is_some_and(|(_, n)| class(*n) != Class::Space)
        {
            k += 1;
        }
        let kind = class(chars[k].1);
        if kind == Class::Space {
            let mut j = k;
            while j < chars.len() && class(chars[j].1) == Class::Space {
                j += 1;
            }
            if j < chars.len() && j - k > 1 {
                j -= 1;
            }
            pieces.push(&text[chars[start].0..end_of(j)]);
            i = j;
            continue;
        }
        let mut j = k + 1;
        while j < chars.len() && class(chars[j].1) == kind {
            j += 1;
        }
        pieces.push(&text[chars[start].0..end_of(j)]);
        i = j;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_vocabulary_places_special_tokens_like_the_reference() {
        let s = SpecialTokens::for_vocab(50256, 51864).unwrap();
        assert_eq!((s.eot, s.sot, s.n_languages), (50256, 50257, 99));
        assert_eq!(
            (
                s.transcribe,
                s.no_speech,
                s.no_timestamps,
                s.timestamp_begin
            ),
            (50358, 50361, 50362, 50363)
        );
    }

    #[test]
    fn multilingual_vocabulary_places_special_tokens_like_the_reference() {
        let s = SpecialTokens::for_vocab(50257, 51865).unwrap();
        assert_eq!((s.eot, s.sot, s.first_language), (50257, 50258, 50259));
        assert_eq!(
            (
                s.translate,
                s.transcribe,
                s.no_timestamps,
                s.timestamp_begin
            ),
            (50358, 50359, 50363, 50364)
        );
        assert_eq!(s.language_token("de"), Some(50261));
        assert_eq!(s.language_code(50259), Some("en"));
    }

    #[test]
    fn pretokenizer_keeps_leading_spaces_with_words() {
        assert_eq!(
            pretokenize("Hello world, it's 42!"),
            vec!["Hello", " world", ",", " it", "'s", " 42", "!"]
        );
        assert_eq!(pretokenize("a  b"), vec!["a", " ", " b"]);
    }

    #[test]
    fn bpe_merges_by_rank() {
        // ranks: single bytes a, b, c then "ab", "abc"
        let lines = ["a", "b", "c", "ab", "abc"]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    "{} {i}",
                    base64::engine::general_purpose::STANDARD.encode(t)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let tok = Tokenizer::from_tiktoken(&lines, 5 + 8 + 1501 + 1).unwrap();
        assert_eq!(tok.encode_piece(b"abc"), vec![4]);
        assert_eq!(tok.encode_piece(b"cab"), vec![2, 3]);
        assert_eq!(tok.decode(&[2, 3]), "cab");
    }
}
