//! Spelled-out English numbers to digits, the subset described in [`super::normalize`].

/// A word that takes part in a spelled-out number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberWord {
    /// `zero` … `nineteen`.
    Small(u64),
    /// `twenty` … `ninety`.
    Tens(u64),
    /// `hundred`, `thousand`, `million`, `billion`.
    Multiplier(u64),
    /// A string of ASCII digits.
    Digits(u64),
}

fn number_word(word: &str) -> Option<NumberWord> {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(n) = SMALL.iter().position(|&w| w == word) {
        return Some(NumberWord::Small(n as u64));
    }
    if let Some(n) = TENS.iter().position(|&w| w == word) {
        return Some(NumberWord::Tens(20 + 10 * n as u64));
    }
    let multiplier = match word {
        "hundred" => 100,
        "thousand" => 1_000,
        "million" => 1_000_000,
        "billion" => 1_000_000_000,
        _ if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) => {
            return word.parse().ok().map(NumberWord::Digits);
        }
        _ => return None,
    };
    Some(NumberWord::Multiplier(multiplier))
}

/// Puts spaces between ASCII letters and digits (`mp3` → `mp 3`), then rejoins number suffixes
/// (`1990 s` → `1990s`, `21 st` → `21st`).
fn split_letters_and_digits(s: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(s.len() + 8);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if let Some(p) = prev {
            let boundary = (p.is_ascii_lowercase() && c.is_ascii_digit())
                || (p.is_ascii_digit() && c.is_ascii_lowercase());
            if boundary {
                spaced.push(' ');
            }
        }
        spaced.push(c);
        prev = Some(c);
    }
    let mut words: Vec<String> = Vec::new();
    for word in spaced.split_whitespace() {
        let is_suffix = matches!(word, "st" | "nd" | "rd" | "th" | "s");
        match words.last_mut() {
            Some(last) if is_suffix && last.ends_with(|c: char| c.is_ascii_digit()) => {
                last.push_str(word)
            }
            _ => words.push(word.to_owned()),
        }
    }
    words
}

/// Turns spelled-out cardinals into digits (the subset described in the module docs).
pub(crate) fn standardize_numbers(s: &str) -> String {
    let words = split_letters_and_digits(s);
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut value: Option<u64> = None;
    let flush = |value: &mut Option<u64>, out: &mut Vec<String>| {
        if let Some(v) = value.take() {
            out.push(v.to_string());
        }
    };
    for (i, word) in words.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| number_word(&words[p]));
        let next = words.get(i + 1).and_then(|w| number_word(w));
        let Some(kind) = number_word(word) else {
            let after_multiplier = matches!(prev, Some(NumberWord::Multiplier(_)));
            if word == "and" && after_multiplier && value.is_some() && next.is_some() {
                // "one hundred and five": the "and" belongs to the number.
                continue;
            }
            flush(&mut value, &mut out);
            out.push(word.clone());
            continue;
        };
        let prev_small = matches!(prev, Some(NumberWord::Small(_)));
        value = match (kind, value) {
            (NumberWord::Small(n), Some(v)) if n != 0 && v != 0 && !prev_small => {
                let place = if n < 10 { 10 } else { 100 };
                if v % place == 0 {
                    Some(v + n)
                } else {
                    flush(&mut value, &mut out);
                    Some(n)
                }
            }
            (NumberWord::Tens(n), Some(v)) if v != 0 && v % 100 == 0 => Some(v + n),
            (NumberWord::Multiplier(m), Some(v)) if v != 0 => {
                match (v % 1000)
                    .checked_mul(m)
                    .and_then(|x| x.checked_add(v / 1000 * 1000))
                {
                    Some(x) => Some(x),
                    None => {
                        flush(&mut value, &mut out);
                        Some(m)
                    }
                }
            }
            (
                NumberWord::Small(n)
                | NumberWord::Tens(n)
                | NumberWord::Multiplier(n)
                | NumberWord::Digits(n),
                _,
            ) => {
                flush(&mut value, &mut out);
                Some(n)
            }
        };
    }
    flush(&mut value, &mut out);
    // Whisper writes a lone 1 as a word, for readability.
    for word in &mut out {
        match word.as_str() {
            "1" => *word = "one".to_owned(),
            "1s" => *word = "ones".to_owned(),
            _ => {}
        }
    }
    out.join(" ")
}
