//! The repeated n-gram guard: Whisper sometimes loops on a phrase ("thank you. thank you. thank
//! you. …"). A phrase of up to [`MAX_NGRAM_WORDS`] words repeated back to back more than
//! `max_repeats` times is cut down to `max_repeats` copies.

/// Longest phrase, in words, that the guard looks for.
pub const MAX_NGRAM_WORDS: usize = 8;

/// `text` with runs of a repeated phrase longer than `max_repeats` copies shortened to
/// `max_repeats` copies. Words compare case-insensitively and without punctuation; the kept words
/// are the original ones. Returns the text and whether anything was cut.
pub fn collapse_repeated_ngrams(text: &str, max_repeats: usize) -> (String, bool) {
    let max_repeats = max_repeats.max(1);
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| comparable(w)).collect();
    let mut kept: Vec<usize> = Vec::with_capacity(words.len());
    let mut i = 0;
    let mut cut = false;
    while i < words.len() {
        let mut skipped = false;
        for n in 1..=MAX_NGRAM_WORDS.min(words.len() - i) {
            let copies = run_length(&keys, i, n);
            if copies > max_repeats {
                kept.extend(i..i + n * max_repeats);
                i += n * copies;
                cut = true;
                skipped = true;
                break;
            }
        }
        if !skipped {
            kept.push(i);
            i += 1;
        }
    }
    if !cut {
        return (text.to_string(), false);
    }
    let out: Vec<&str> = kept.iter().map(|&k| words[k]).collect();
    (out.join(" "), true)
}

/// How many back-to-back copies of `keys[start..start+n]` begin at `start`.
fn run_length(keys: &[String], start: usize, n: usize) -> usize {
    let phrase = &keys[start..start + n];
    if phrase.iter().all(String::is_empty) {
        return 1;
    }
    let mut copies = 1;
    while start + (copies + 1) * n <= keys.len()
        && keys[start + copies * n..start + (copies + 1) * n] == *phrase
    {
        copies += 1;
    }
    copies
}

/// A word lower-cased, without punctuation.
fn comparable(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_looping_phrase_is_cut_to_the_allowed_copies() {
        let (text, cut) =
            collapse_repeated_ngrams("Thank you. Thank you. thank you! Thank you. Bye.", 2);
        assert!(cut);
        assert_eq!(text, "Thank you. Thank you. Bye.");
    }

    #[test]
    fn single_word_stutters_are_collapsed() {
        let (text, cut) = collapse_repeated_ngrams("no no no no no way", 2);
        assert!(cut);
        assert_eq!(text, "no no way");
    }

    #[test]
    fn ordinary_sentences_are_left_alone() {
        let input = "The quick brown fox, the quick one, jumps over the lazy dog.";
        assert_eq!(
            collapse_repeated_ngrams(input, 2),
            (input.to_string(), false)
        );
        assert_eq!(
            collapse_repeated_ngrams("very very good", 2),
            ("very very good".to_string(), false)
        );
    }

    #[test]
    fn empty_text_stays_empty() {
        assert_eq!(collapse_repeated_ngrams("", 2), (String::new(), false));
    }
}
