//! Which labels are "present" in a camera's view, with hysteresis: a label enters when its
//! probability reaches `enter_threshold`, and leaves only when it falls below `exit_threshold`
//! after it has been present for at least `min_dwell`. A label event is due whenever the set
//! of present labels changes, so a flickering score does not flood subscribers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use percept_models::vision::LabelScore;

/// The tracker's thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelPolicy {
    /// Probability at or above which a label enters.
    pub enter_threshold: f32,
    /// Probability below which a present label may leave (at most `enter_threshold`).
    pub exit_threshold: f32,
    /// How long a label stays present at least, once it entered.
    pub min_dwell: Duration,
}

/// A change of the present set.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelChange {
    /// Every present label after the change with its latest probability, most probable first.
    pub present: Vec<LabelScore>,
    /// Labels that entered with this frame.
    pub entered: Vec<Arc<str>>,
    /// Labels that left with this frame.
    pub exited: Vec<Arc<str>>,
}

#[derive(Debug, Clone)]
struct Present {
    since: Instant,
    probability: f32,
}

/// The present labels of one camera source.
#[derive(Debug)]
pub struct LabelTracker {
    policy: LabelPolicy,
    present: BTreeMap<Arc<str>, Present>,
}

impl LabelTracker {
    /// A tracker with nothing present.
    pub fn new(policy: LabelPolicy) -> Self {
        Self {
            policy,
            present: BTreeMap::new(),
        }
    }

    /// Feeds one frame's label scores (labels absent from `scores` count as probability 0) seen
    /// at `now`; returns the change when the present set changed.
    pub fn update(&mut self, scores: &[LabelScore], now: Instant) -> Option<LabelChange> {
        let score_of = |label: &str| {
            scores
                .iter()
                .find(|s| &*s.label == label)
                .map_or(0.0, |s| s.probability)
        };
        let mut exited = Vec::new();
        for (label, state) in self.present.iter_mut() {
            state.probability = score_of(label);
        }
        self.present.retain(|label, state| {
            let dwelt = now.saturating_duration_since(state.since) >= self.policy.min_dwell;
            let leaves = dwelt && state.probability < self.policy.exit_threshold;
            if leaves {
                exited.push(label.clone());
            }
            !leaves
        });
        let mut entered = Vec::new();
        for score in scores {
            if score.probability >= self.policy.enter_threshold
                && !self.present.contains_key(&score.label)
            {
                self.present.insert(
                    score.label.clone(),
                    Present {
                        since: now,
                        probability: score.probability,
                    },
                );
                entered.push(score.label.clone());
            }
        }
        if entered.is_empty() && exited.is_empty() {
            return None;
        }
        Some(LabelChange {
            present: self.present_labels(),
            entered,
            exited,
        })
    }

    /// The present labels, most probable first.
    pub fn present_labels(&self) -> Vec<LabelScore> {
        let mut present: Vec<LabelScore> = self
            .present
            .iter()
            .map(|(label, state)| LabelScore {
                label: label.clone(),
                probability: state.probability,
            })
            .collect();
        present.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        present
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(pairs: &[(&str, f32)]) -> Vec<LabelScore> {
        pairs
            .iter()
            .map(|(l, p)| LabelScore {
                label: Arc::from(*l),
                probability: *p,
            })
            .collect()
    }

    fn tracker() -> LabelTracker {
        LabelTracker::new(LabelPolicy {
            enter_threshold: 0.5,
            exit_threshold: 0.3,
            min_dwell: Duration::from_secs(2),
        })
    }

    #[test]
    fn a_label_enters_at_the_enter_threshold_once() {
        let mut t = tracker();
        let now = Instant::now();
        let change = t.update(&scores(&[("suit", 0.9)]), now).unwrap();
        assert_eq!(change.entered, vec![Arc::from("suit")]);
        assert!(t.update(&scores(&[("suit", 0.8)]), now).is_none());
    }

    #[test]
    fn a_score_between_the_thresholds_neither_enters_nor_leaves() {
        let mut t = tracker();
        let now = Instant::now();
        assert!(t.update(&scores(&[("cat", 0.4)]), now).is_none());
        t.update(&scores(&[("cat", 0.6)]), now).unwrap();
        let later = now + Duration::from_secs(10);
        assert!(t.update(&scores(&[("cat", 0.4)]), later).is_none());
    }

    #[test]
    fn a_label_stays_for_the_minimum_dwell_then_leaves_below_the_exit_threshold() {
        let mut t = tracker();
        let now = Instant::now();
        t.update(&scores(&[("cat", 0.9)]), now).unwrap();
        assert!(t.update(&[], now + Duration::from_secs(1)).is_none());
        let change = t.update(&[], now + Duration::from_secs(3)).unwrap();
        assert_eq!(change.exited, vec![Arc::from("cat")]);
        assert!(change.present.is_empty());
    }

    #[test]
    fn present_labels_are_sorted_by_probability() {
        let mut t = tracker();
        let change = t
            .update(&scores(&[("a", 0.55), ("b", 0.95)]), Instant::now())
            .unwrap();
        let names: Vec<&str> = change.present.iter().map(|s| &*s.label).collect();
        assert_eq!(names, ["b", "a"]);
    }
}
