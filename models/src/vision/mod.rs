//! Image models: what every family produces (scored labels and an embedding) and
//! [`ImageModel`], the one loader and runner for all of them (symmetric with
//! [`crate::whisper::Transcriber`]).

use std::sync::Arc;

pub mod image_model;

pub use image_model::{
    ClipSettings, ImageModel, ImageModelError, SYNTHETIC_MARKER, VisionModel, VisionSettings,
};

/// One label and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    /// The label's name (an ImageNet lemma, or a zero-shot label as configured).
    pub label: Arc<str>,
    /// Probability in [0, 1] (softmax over all labels).
    pub probability: f32,
}

/// The result of running an image model on one preprocessed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageAnalysis {
    /// Labels by decreasing probability (at most the requested top-k).
    pub labels: Vec<LabelScore>,
    /// The image embedding exactly as the model outputs it (not normalised).
    pub embedding: Vec<f32>,
}

/// Softmax of `logits` into a new vector (numerically stable; empty in, empty out).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// `v / |v|`; a zero vector stays zero.
pub fn l2_normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

/// The `k` best of `probabilities` with their labels, by decreasing probability.
pub fn top_k(labels: &[Arc<str>], probabilities: &[f32], k: usize) -> Vec<LabelScore> {
    let mut order: Vec<usize> = (0..probabilities.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    order
        .into_iter()
        .take(k)
        .map(|i| LabelScore {
            label: labels[i].clone(),
            probability: probabilities[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 3.0, 2.0, 10.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > 0.99 && p[1] > p[2] && p[2] > p[0]);
        assert_eq!(
            softmax(&[0.0, 1000.0])[1],
            1.0,
            "large logits do not overflow"
        );
    }

    #[test]
    fn top_k_picks_the_most_probable_labels_in_order() {
        let labels: Vec<Arc<str>> = ["a", "b", "c"].into_iter().map(Arc::from).collect();
        let top = top_k(&labels, &[0.2, 0.5, 0.3], 2);
        assert_eq!(&*top[0].label, "b");
        assert_eq!(&*top[1].label, "c");
        assert_eq!(top.len(), 2);
    }

    #[test]
    fn l2_normalized_has_unit_length_and_zero_stays_zero() {
        let v = l2_normalized(&[3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert_eq!(l2_normalized(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
