//! The embedding envelope: a vector as base64 little-endian f16 or f32, with what a subscriber
//! needs to decode and compare it.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// How embedding values are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingDtype {
    /// IEEE half precision, 2 bytes per value (relative error about 1e-3).
    F16,
    /// IEEE single precision, 4 bytes per value (exact).
    F32,
}

impl std::str::FromStr for EmbeddingDtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f16" => Ok(Self::F16),
            "f32" => Ok(Self::F32),
            other => Err(format!("must be \"f16\" or \"f32\", got {other:?}")),
        }
    }
}

/// The `.../embedding` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingEnvelope {
    /// The model's name.
    pub model: String,
    /// True when the model has synthetic (random, untrained) weights.
    pub synthetic: bool,
    /// Number of values.
    pub dim: usize,
    /// `f16` or `f32`.
    pub dtype: EmbeddingDtype,
    /// Whether the vector was scaled to unit length.
    pub l2_normalized: bool,
    /// The values, little-endian, base64 (standard alphabet, padded).
    pub data: String,
    /// Wall-clock capture time of the frame, RFC 3339 UTC.
    pub timestamp: String,
    /// The camera source's name.
    pub source: String,
    /// The frame's sequence number within its source.
    pub frame_seq: u64,
}

/// At most one embedding per interval: the first frame is always due.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddingLimiter {
    interval: Duration,
    last: Option<Instant>,
}

impl EmbeddingLimiter {
    /// A limiter with this minimum interval (zero: every frame is due).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
        }
    }

    /// Whether an embedding is due at `now`; if so, `now` becomes the last one.
    pub fn due(&mut self, now: Instant) -> bool {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last = Some(now);
        }
        due
    }
}

/// Encodes `values` as little-endian bytes of `dtype`, base64.
pub fn encode_vector(values: &[f32], dtype: EmbeddingDtype) -> String {
    let mut bytes = Vec::with_capacity(values.len() * 4);
    for &v in values {
        match dtype {
            EmbeddingDtype::F16 => bytes.extend_from_slice(&half::f16::from_f32(v).to_le_bytes()),
            EmbeddingDtype::F32 => bytes.extend_from_slice(&v.to_le_bytes()),
        }
    }
    STANDARD.encode(bytes)
}

/// Decodes [`encode_vector`]'s output back into f32 values.
pub fn decode_vector(data: &str, dtype: EmbeddingDtype) -> Result<Vec<f32>, String> {
    let bytes = STANDARD.decode(data).map_err(|e| e.to_string())?;
    let width = match dtype {
        EmbeddingDtype::F16 => 2,
        EmbeddingDtype::F32 => 4,
    };
    if bytes.len() % width != 0 {
        return Err(format!(
            "{} bytes is not a whole number of {width}-byte values",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(width)
        .map(|c| match dtype {
            EmbeddingDtype::F16 => half::f16::from_le_bytes([c[0], c[1]]).to_f32(),
            EmbeddingDtype::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_vectors_round_trip_exactly() {
        let v = vec![0.25, -1.5, 3.0e-7, 1234.5];
        assert_eq!(
            decode_vector(&encode_vector(&v, EmbeddingDtype::F32), EmbeddingDtype::F32).unwrap(),
            v
        );
    }

    #[test]
    fn f16_vectors_round_trip_within_half_precision() {
        let v = vec![0.1, -0.75, 0.033, 0.9];
        let back =
            decode_vector(&encode_vector(&v, EmbeddingDtype::F16), EmbeddingDtype::F16).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= 1e-3 * a.abs().max(1e-2), "{a} vs {b}");
        }
    }

    #[test]
    fn embeddings_are_due_once_per_interval_and_the_first_at_once() {
        let mut limiter = EmbeddingLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(limiter.due(t0));
        assert!(!limiter.due(t0 + Duration::from_secs(9)));
        assert!(limiter.due(t0 + Duration::from_secs(10)));
        assert!(!limiter.due(t0 + Duration::from_secs(15)));
        let mut every = EmbeddingLimiter::new(Duration::ZERO);
        assert!(every.due(t0) && every.due(t0));
    }

    #[test]
    fn decoding_rejects_a_partial_value() {
        let data = STANDARD.encode([1u8, 2, 3]);
        assert!(decode_vector(&data, EmbeddingDtype::F32).is_err());
    }
}
