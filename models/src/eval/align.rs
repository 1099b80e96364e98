//! Word alignment with its edits, for WER per piece of a long reference: which hypothesis word
//! stands for which reference word, so a corpus of many pieces (sentences, phrases, turns) can
//! be scored piece by piece from one transcript of the whole recording.

use super::WerStats;

/// One step of an alignment; indices are into the reference and the hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The same word.
    Match {
        /// Reference index.
        reference: usize,
        /// Hypothesis index.
        hypothesis: usize,
    },
    /// A different word in its place.
    Substitute {
        /// Reference index.
        reference: usize,
        /// Hypothesis index.
        hypothesis: usize,
    },
    /// A reference word with no hypothesis word.
    Delete {
        /// Reference index.
        reference: usize,
    },
    /// A hypothesis word with no reference word.
    Insert {
        /// Hypothesis index.
        hypothesis: usize,
    },
}

/// Aligns `hypothesis` to `reference` with the fewest edits (the same costs and the same
/// preference for substitutions as [`super::word_error_rate`], so the counts agree), in order.
pub fn align_words<R: AsRef<str>, H: AsRef<str>>(reference: &[R], hypothesis: &[H]) -> Vec<Edit> {
    let (n, m) = (reference.len(), hypothesis.len());
    let width = m + 1;
    // cost[i][j]: fewest edits aligning reference[..i] with hypothesis[..j].
    let mut cost = vec![0usize; (n + 1) * width];
    for (j, c) in cost.iter_mut().take(width).enumerate() {
        *c = j;
    }
    for i in 1..=n {
        cost[i * width] = i;
        for j in 1..=m {
            let same = reference[i - 1].as_ref() == hypothesis[j - 1].as_ref();
            let diagonal = cost[(i - 1) * width + j - 1] + usize::from(!same);
            let up = cost[(i - 1) * width + j] + 1;
            let left = cost[i * width + j - 1] + 1;
            cost[i * width + j] = diagonal.min(up).min(left);
        }
    }
    let mut edits = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let here = cost[i * width + j];
        if i > 0 && j > 0 {
            let same = reference[i - 1].as_ref() == hypothesis[j - 1].as_ref();
            if cost[(i - 1) * width + j - 1] + usize::from(!same) == here {
                i -= 1;
                j -= 1;
                edits.push(if same {
                    Edit::Match {
                        reference: i,
                        hypothesis: j,
                    }
                } else {
                    Edit::Substitute {
                        reference: i,
                        hypothesis: j,
                    }
                });
                continue;
            }
        }
        if i > 0 && cost[(i - 1) * width + j] + 1 == here {
            i -= 1;
            edits.push(Edit::Delete { reference: i });
        } else {
            j -= 1;
            edits.push(Edit::Insert { hypothesis: j });
        }
    }
    edits.reverse();
    edits
}

/// Edit counts per piece: `piece_of[r]` is the piece of reference word `r` (pieces numbered
/// 0..`pieces`, in order). An inserted word counts against the piece of the reference word
/// before it (the first piece when there is none). The counts add up to the whole alignment's.
pub fn stats_per_piece(edits: &[Edit], piece_of: &[usize], pieces: usize) -> Vec<WerStats> {
    let mut stats = vec![WerStats::default(); pieces];
    for &p in piece_of {
        stats[p].reference_words += 1;
    }
    let mut current = 0;
    for edit in edits {
        match *edit {
            Edit::Match { reference, .. } => current = piece_of[reference],
            Edit::Substitute { reference, .. } => {
                current = piece_of[reference];
                stats[current].substitutions += 1;
            }
            Edit::Delete { reference } => {
                current = piece_of[reference];
                stats[current].deletions += 1;
            }
            Edit::Insert { .. } => {
                if pieces > 0 {
                    stats[current].insertions += 1;
                }
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::eval::word_error_rate;

    #[test]
    fn a_substitution_a_deletion_and_an_insertion_are_found_in_order() {
        let reference = ["the", "cat", "sat", "down"];
        let hypothesis = ["the", "bat", "sat", "down", "now"];
        let edits = align_words(&reference, &hypothesis);
        assert_eq!(
            edits,
            [
                Edit::Match {
                    reference: 0,
                    hypothesis: 0
                },
                Edit::Substitute {
                    reference: 1,
                    hypothesis: 1
                },
                Edit::Match {
                    reference: 2,
                    hypothesis: 2
                },
                Edit::Match {
                    reference: 3,
                    hypothesis: 3
                },
                Edit::Insert { hypothesis: 4 },
            ]
        );
        let per_piece = stats_per_piece(&edits, &[0, 0, 1, 1], 2);
        assert_eq!(per_piece[0].substitutions, 1);
        assert_eq!(per_piece[1].insertions, 1);
        assert_eq!(per_piece[1].reference_words, 2);
        assert_eq!(
            align_words(&reference, &["the", "sat", "down"])[1],
            Edit::Delete { reference: 1 }
        );
    }

    fn words() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..30)
            .prop_map(|w| w.into_iter().map(String::from).collect())
    }

    proptest! {
        #[test]
        fn per_piece_counts_add_up_to_the_word_error_rate(
            reference in words(),
            hypothesis in words(),
            cuts in prop::collection::vec(0usize..30, 0..4),
        ) {
            let edits = align_words(&reference, &hypothesis);
            let mut piece_of = Vec::new();
            let mut piece = 0;
            for r in 0..reference.len() {
                if cuts.contains(&r) && r > 0 {
                    piece += 1;
                }
                piece_of.push(piece);
            }
            let pieces = piece + 1;
            let total: WerStats = stats_per_piece(&edits, &piece_of, pieces).into_iter().sum();
            let whole = word_error_rate(&reference, &hypothesis);
            prop_assert_eq!(total.errors(), whole.errors());
            prop_assert_eq!(total.reference_words, whole.reference_words);
            // Every word appears exactly once, in order.
            let refs: Vec<usize> = edits.iter().filter_map(|e| match *e {
                Edit::Match { reference, .. } | Edit::Substitute { reference, .. }
                | Edit::Delete { reference } => Some(reference),
                Edit::Insert { .. } => None,
            }).collect();
            prop_assert_eq!(refs, (0..reference.len()).collect::<Vec<_>>());
        }
    }
}
