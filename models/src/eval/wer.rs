//! Word error rate: word-level Levenshtein distance split into substitutions, deletions and
//! insertions, for one sentence ([`word_error_rate`]) or a corpus ([`wer_for_texts`]).

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::Serialize;

use super::{EnglishNormalizer, EvalError};

/// Edit counts from aligning a hypothesis to a reference. Counts from several sentences add up
/// (`+`, `+=`, `sum()`), which gives the corpus WER: total edits over total reference words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WerStats {
    /// Reference words replaced by a different hypothesis word.
    pub substitutions: usize,
    /// Reference words missing from the hypothesis.
    pub deletions: usize,
    /// Hypothesis words with no reference word.
    pub insertions: usize,
    /// Number of reference words.
    pub reference_words: usize,
}

impl WerStats {
    /// Substitutions + deletions + insertions.
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Reference words the hypothesis got right.
    pub fn correct(&self) -> usize {
        self.reference_words - self.substitutions - self.deletions
    }

    /// Word error rate, `errors / reference_words` (may exceed 1 with many insertions). With an
    /// empty reference it is 0 when there are no errors and infinite otherwise.
    pub fn wer(&self) -> f64 {
        match (self.errors(), self.reference_words) {
            (0, _) => 0.0,
            (_, 0) => f64::INFINITY,
            (e, n) => e as f64 / n as f64,
        }
    }
}

impl Add for WerStats {
    type Output = WerStats;
    fn add(mut self, other: WerStats) -> WerStats {
        self += other;
        self
    }
}

impl AddAssign for WerStats {
    fn add_assign(&mut self, other: WerStats) {
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_words += other.reference_words;
    }
}

impl Sum for WerStats {
    fn sum<I: Iterator<Item = WerStats>>(iter: I) -> WerStats {
        iter.fold(WerStats::default(), Add::add)
    }
}

/// Aligns `hypothesis` to `reference` word by word with the fewest edits (Levenshtein) and
/// counts them. Words are compared exactly: normalise first (see [`wer_for_text`]). Among
/// alignments with equally few edits, substitutions are preferred to a deletion plus an
/// insertion, so the split between the kinds is deterministic.
pub fn word_error_rate<R: AsRef<str>, H: AsRef<str>>(
    reference: &[R],
    hypothesis: &[H],
) -> WerStats {
    // One row of the edit-distance table: the cost and edit counts of aligning
    // reference[..i] to hypothesis[..j], for each j.
    #[derive(Clone, Copy, Default)]
    struct Cell {
        cost: usize,
        sub: usize,
        del: usize,
        ins: usize,
    }
    let mut prev: Vec<Cell> = (0..=hypothesis.len())
        .map(|j| Cell {
            cost: j,
            ins: j,
            ..Cell::default()
        })
        .collect();
    let mut row = prev.clone();
    for (i, r) in reference.iter().enumerate() {
        row[0] = Cell {
            cost: i + 1,
            del: i + 1,
            ..Cell::default()
        };
        for (j, h) in hypothesis.iter().enumerate() {
            let same = r.as_ref() == h.as_ref();
            let diagonal = prev[j];
            let mut best = Cell {
                cost: diagonal.cost + usize::from(!same),
                sub: diagonal.sub + usize::from(!same),
                ..diagonal
            };
            let up = prev[j + 1];
            if up.cost + 1 < best.cost {
                best = Cell {
                    cost: up.cost + 1,
                    del: up.del + 1,
                    ..up
                };
            }
            let left = row[j];
            if left.cost + 1 < best.cost {
                best = Cell {
                    cost: left.cost + 1,
                    ins: left.ins + 1,
                    ..left
                };
            }
            row[j + 1] = best;
        }
        std::mem::swap(&mut prev, &mut row);
    }
    let last = prev[hypothesis.len()];
    WerStats {
        substitutions: last.sub,
        deletions: last.del,
        insertions: last.ins,
        reference_words: reference.len(),
    }
}

/// Normalises both texts with `normalizer` and counts the word edits between them.
pub fn wer_for_text(normalizer: &EnglishNormalizer, reference: &str, hypothesis: &str) -> WerStats {
    word_error_rate(&normalizer.words(reference), &normalizer.words(hypothesis))
}

/// Corpus WER: normalises each reference/hypothesis pair, counts its edits and sums them, so
/// [`WerStats::wer`] is total edits over total reference words (long sentences weigh more).
pub fn wer_for_texts<R: AsRef<str>, H: AsRef<str>>(
    normalizer: &EnglishNormalizer,
    references: &[R],
    hypotheses: &[H],
) -> Result<WerStats, EvalError> {
    if references.len() != hypotheses.len() {
        return Err(EvalError::LengthMismatch {
            references: references.len(),
            hypotheses: hypotheses.len(),
        });
    }
    Ok(references
        .iter()
        .zip(hypotheses)
        .map(|(r, h)| wer_for_text(normalizer, r.as_ref(), h.as_ref()))
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    fn stats(reference: &str, hypothesis: &str) -> WerStats {
        word_error_rate(&words(reference), &words(hypothesis))
    }

    #[test]
    fn identical_sentences_have_no_errors() {
        let s = stats("the cat sat", "the cat sat");
        assert_eq!(
            s,
            WerStats {
                reference_words: 3,
                ..Default::default()
            }
        );
        assert_eq!(s.wer(), 0.0);
        assert_eq!(s.correct(), 3);
    }

    #[test]
    fn one_wrong_word_is_one_substitution() {
        let s = stats("the cat sat on the mat", "the cat sat on the hat");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (1, 0, 0));
        assert!((s.wer() - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn missing_words_are_deletions_and_extra_words_are_insertions() {
        let s = stats("please close the window now", "please the window");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (0, 2, 0));
        let s = stats("close the window", "oh close the big window please");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (0, 0, 3));
        assert_eq!(s.wer(), 1.0);
    }

    #[test]
    fn mixed_edits_are_counted_with_the_fewest_total() {
        let s = stats("a b c d", "a x c d e");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (1, 0, 1));
        let s = stats("a b c d e f", "b c x d f g");
        assert_eq!(s.errors(), 4);
        assert_eq!(s.reference_words, 6);
    }

    #[test]
    fn a_substitution_is_preferred_to_a_deletion_plus_an_insertion() {
        let s = stats("alpha", "beta");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (1, 0, 0));
    }

    #[test]
    fn an_empty_hypothesis_deletes_every_reference_word() {
        let s = stats("one two three", "");
        assert_eq!((s.substitutions, s.deletions, s.insertions), (0, 3, 0));
        assert_eq!(s.wer(), 1.0);
    }

    #[test]
    fn an_empty_reference_is_perfect_only_with_an_empty_hypothesis() {
        assert_eq!(stats("", "").wer(), 0.0);
        let s = stats("", "hello there");
        assert_eq!(s.insertions, 2);
        assert!(s.wer().is_infinite());
    }

    #[test]
    fn contractions_and_case_do_not_count_as_errors() {
        let n = EnglishNormalizer::new();
        let s = wer_for_text(
            &n,
            "We can't find the keys, so we're walking.",
            "we can not find the keys so we are walking",
        );
        assert_eq!(s.errors(), 0);
        assert_eq!(s.reference_words, 10);
    }

    #[test]
    fn corpus_rate_is_total_edits_over_total_reference_words() {
        let n = EnglishNormalizer::new();
        let refs = [
            "The cat sat quietly.",
            "A gentle wind moved through the tall grass.",
        ];
        let hyps = ["the cat sat", "a gentle wind moved through the tall grass"];
        let s = wer_for_texts(&n, &refs, &hyps).unwrap();
        assert_eq!(
            s,
            WerStats {
                deletions: 1,
                reference_words: 12,
                ..Default::default()
            }
        );
        assert!((s.wer() - 1.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn mismatched_corpus_lengths_are_an_error() {
        let n = EnglishNormalizer::new();
        let err = wer_for_texts(&n, &["a", "b"], &["a"]).unwrap_err();
        assert!(matches!(
            err,
            EvalError::LengthMismatch {
                references: 2,
                hypotheses: 1
            }
        ));
    }
}
