//! A short caption from the top labels ("suit, Windsor tie"), published when it changes.

use percept_models::vision::LabelScore;

/// How captions are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptionPolicy {
    /// At most this many labels.
    pub top_k: usize,
    /// Labels below this probability are left out.
    pub min_probability: f32,
}

/// A caption and the labels it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    /// The label names joined with ", ".
    pub text: String,
    /// The labels used, most probable first.
    pub labels: Vec<LabelScore>,
}

/// The caption of one frame's labels (most probable first), or `None` when no label qualifies.
pub fn caption_for(labels: &[LabelScore], policy: CaptionPolicy) -> Option<Caption> {
    let used: Vec<LabelScore> = labels
        .iter()
        .filter(|l| l.probability >= policy.min_probability)
        .take(policy.top_k)
        .cloned()
        .collect();
    if used.is_empty() {
        return None;
    }
    let names: Vec<&str> = used.iter().map(|l| &*l.label).collect();
    Some(Caption {
        text: names.join(", "),
        labels: used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn caption_joins_the_qualifying_top_labels() {
        let labels: Vec<LabelScore> = [("suit", 0.8), ("Windsor tie", 0.1), ("cat", 0.01)]
            .iter()
            .map(|(l, p)| LabelScore {
                label: Arc::from(*l),
                probability: *p,
            })
            .collect();
        let policy = CaptionPolicy {
            top_k: 3,
            min_probability: 0.05,
        };
        let caption = caption_for(&labels, policy).unwrap();
        assert_eq!(caption.text, "suit, Windsor tie");
        assert_eq!(caption.labels.len(), 2);
        let strict = CaptionPolicy {
            min_probability: 0.9,
            ..policy
        };
        assert_eq!(caption_for(&labels, strict), None);
    }
}
