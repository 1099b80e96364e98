//! The motion gate: lets a frame through only when it differs enough from the last frame that
//! was let through, so a static scene costs one inference instead of one per frame.
//!
//! Each frame is reduced to a small grey thumbnail ([`THUMB_WIDTH`] x [`THUMB_HEIGHT`] by
//! default) by box-averaging, and compared with the thumbnail of the last *accepted* frame
//! (not the previous frame, so a slow drift still adds up to a change). The score is the mean
//! absolute difference of the thumbnails in 0..=1 (0: identical, 1: black vs white).

use super::RgbImage;
use super::error::ImageError;

/// Default thumbnail width.
pub const THUMB_WIDTH: usize = 32;
/// Default thumbnail height.
pub const THUMB_HEIGHT: usize = 24;

/// What the gate decided for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MotionDecision {
    /// Process the frame; it becomes the new reference.
    Accept {
        /// Difference to the previous reference (1.0 for the first frame or a size change).
        score: f32,
    },
    /// Skip the frame; the reference stays.
    Skip {
        /// Difference to the reference, below the threshold.
        score: f32,
    },
}

impl MotionDecision {
    /// Whether the frame should be processed.
    pub fn accepted(self) -> bool {
        matches!(self, MotionDecision::Accept { .. })
    }

    /// The difference score.
    pub fn score(self) -> f32 {
        match self {
            MotionDecision::Accept { score } | MotionDecision::Skip { score } => score,
        }
    }
}

/// Compares frames against the last accepted one. No allocation per frame once it has seen
/// one frame of the current size.
#[derive(Debug, Clone)]
pub struct MotionGate {
    threshold: f32,
    thumb_width: usize,
    thumb_height: usize,
    /// Thumbnail of the last accepted frame (grey, 0..=1); empty before the first frame.
    reference: Vec<f32>,
    /// Thumbnail of the frame being checked.
    current: Vec<f32>,
    /// Size of the frames the column ranges were computed for.
    frame_size: Option<(usize, usize)>,
    /// Source column range `[start, end)` of each thumbnail column.
    columns: Vec<(usize, usize)>,
    /// Per-thumbnail-column sums for the thumbnail row being built.
    sums: Vec<u32>,
}

impl MotionGate {
    /// A gate with the default thumbnail. `threshold` in 0..=1: frames scoring below it are
    /// skipped; 0 accepts every frame.
    pub fn new(threshold: f32) -> Result<Self, ImageError> {
        Self::with_thumbnail(threshold, THUMB_WIDTH, THUMB_HEIGHT)
    }

    /// A gate comparing `thumb_width` x `thumb_height` thumbnails.
    pub fn with_thumbnail(
        threshold: f32,
        thumb_width: usize,
        thumb_height: usize,
    ) -> Result<Self, ImageError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ImageError::InvalidParameter {
                rule: format!("motion threshold must be within 0..=1, got {threshold}"),
            });
        }
        if thumb_width == 0 || thumb_height == 0 {
            return Err(ImageError::InvalidParameter {
                rule: format!(
                    "motion thumbnail width and height must be > 0, got {thumb_width}x{thumb_height}"
                ),
            });
        }
        Ok(Self {
            threshold,
            thumb_width,
            thumb_height,
            reference: Vec::new(),
            current: Vec::with_capacity(thumb_width * thumb_height),
            frame_size: None,
            columns: Vec::with_capacity(thumb_width),
            sums: vec![0; thumb_width],
        })
    }

    /// The threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Forgets the reference: the next frame is accepted.
    pub fn reset(&mut self) {
        self.reference.clear();
    }

    /// Decides whether `frame` differs enough from the last accepted frame. The first frame,
    /// and the first after a size change or [`reset`](Self::reset), is always accepted (score 1).
    /// A frame whose buffer does not match its size is accepted and resets the gate (it cannot
    /// be compared; the consumer will reject it).
    pub fn check(&mut self, frame: &RgbImage) -> MotionDecision {
        let size = (frame.width, frame.height);
        if frame.width == 0
            || frame.height == 0
            || frame.data.len() != frame.width * frame.height * 3
        {
            self.reset();
            self.frame_size = None;
            return MotionDecision::Accept { score: 1.0 };
        }
        if self.frame_size != Some(size) {
            self.reference.clear();
            self.set_columns(frame.width);
            self.frame_size = Some(size);
        }
        self.thumbnail(frame);
        if self.reference.len() != self.current.len() {
            std::mem::swap(&mut self.reference, &mut self.current);
            return MotionDecision::Accept { score: 1.0 };
        }
        let total: f32 = self
            .reference
            .iter()
            .zip(&self.current)
            .map(|(a, b)| (a - b).abs())
            .sum();
        let score = total / self.current.len() as f32;
        if self.threshold > 0.0 && score < self.threshold {
            MotionDecision::Skip { score }
        } else {
            std::mem::swap(&mut self.reference, &mut self.current);
            MotionDecision::Accept { score }
        }
    }

    /// Source column ranges per thumbnail column; each covers at least one pixel (a frame
    /// narrower than the thumbnail repeats pixels).
    fn set_columns(&mut self, width: usize) {
        self.columns.clear();
        self.columns
            .extend((0..self.thumb_width).map(|t| span(t, self.thumb_width, width)));
    }

    /// Box-averages `frame` into `self.current` (grey, 0..=1).
    fn thumbnail(&mut self, frame: &RgbImage) {
        self.current.clear();
        let row_bytes = frame.width * 3;
        for ty in 0..self.thumb_height {
            let (y0, y1) = span(ty, self.thumb_height, frame.height);
            self.sums.fill(0);
            for row in frame.data[y0 * row_bytes..y1 * row_bytes].chunks_exact(row_bytes) {
                for (sum, &(x0, x1)) in self.sums.iter_mut().zip(&self.columns) {
                    for pixel in row[x0 * 3..x1 * 3].chunks_exact(3) {
                        // BT.601 luma weights in 8-bit fixed point (sum 256).
                        *sum += (77 * u32::from(pixel[0])
                            + 150 * u32::from(pixel[1])
                            + 29 * u32::from(pixel[2]))
                            >> 8;
                    }
                }
            }
            let rows = (y1 - y0) as f32;
            for (&sum, &(x0, x1)) in self.sums.iter().zip(&self.columns) {
                let count = rows * (x1 - x0) as f32;
                self.current.push(sum as f32 / count / 255.0);
            }
        }
    }
}

/// The source range `[start, end)` of thumbnail cell `index` of `cells` over `len` pixels,
/// never empty.
fn span(index: usize, cells: usize, len: usize) -> (usize, usize) {
    let start = (index * len / cells).min(len - 1);
    let end = ((index + 1) * len / cells).max(start + 1);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_square(x: usize, y: usize, size: usize) -> RgbImage {
        let mut image = RgbImage::filled(160, 120, [30, 30, 30]);
        for yy in y..y + size {
            for xx in x..x + size {
                let i = (yy * 160 + xx) * 3;
                image.data[i..i + 3].copy_from_slice(&[250, 250, 250]);
            }
        }
        image
    }

    #[test]
    fn the_first_frame_is_accepted_and_identical_frames_are_skipped() {
        let mut gate = MotionGate::new(0.01).unwrap();
        let frame = with_square(10, 10, 20);
        assert_eq!(gate.check(&frame), MotionDecision::Accept { score: 1.0 });
        for _ in 0..99 {
            assert_eq!(gate.check(&frame), MotionDecision::Skip { score: 0.0 });
        }
    }

    #[test]
    fn a_moved_object_scores_above_the_threshold_and_becomes_the_reference() {
        let mut gate = MotionGate::new(0.01).unwrap();
        assert!(gate.check(&with_square(10, 10, 30)).accepted());
        let moved = gate.check(&with_square(100, 60, 30));
        assert!(moved.accepted(), "{moved:?}");
        assert!(moved.score() > 0.05, "{moved:?}");
        assert!(!gate.check(&with_square(100, 60, 30)).accepted());
    }

    #[test]
    fn a_slow_drift_is_compared_with_the_last_accepted_frame_and_eventually_passes() {
        let mut gate = MotionGate::new(0.02).unwrap();
        assert!(
            gate.check(&RgbImage::filled(64, 48, [100, 100, 100]))
                .accepted()
        );
        let mut accepted_at = None;
        for step in 1..=20u8 {
            let grey = 100 + step;
            if gate
                .check(&RgbImage::filled(64, 48, [grey, grey, grey]))
                .accepted()
            {
                accepted_at = Some(step);
                break;
            }
        }
        // 0.02 of 255 is 5.1 grey levels: the sixth step of one level is the first to pass.
        assert_eq!(accepted_at, Some(6));
    }

    #[test]
    fn a_zero_threshold_accepts_every_frame_with_its_score() {
        let mut gate = MotionGate::new(0.0).unwrap();
        let frame = RgbImage::filled(8, 8, [0, 0, 0]);
        assert!(gate.check(&frame).accepted());
        assert_eq!(gate.check(&frame), MotionDecision::Accept { score: 0.0 });
    }

    #[test]
    fn a_size_change_is_accepted() {
        let mut gate = MotionGate::new(0.5).unwrap();
        assert!(gate.check(&RgbImage::filled(64, 48, [0, 0, 0])).accepted());
        assert!(gate.check(&RgbImage::filled(32, 48, [0, 0, 0])).accepted());
        assert!(!gate.check(&RgbImage::filled(32, 48, [0, 0, 0])).accepted());
    }

    #[test]
    fn frames_smaller_than_the_thumbnail_and_broken_buffers_do_not_panic() {
        let mut gate = MotionGate::new(0.1).unwrap();
        assert!(gate.check(&RgbImage::filled(1, 1, [9, 9, 9])).accepted());
        assert!(!gate.check(&RgbImage::filled(1, 1, [9, 9, 9])).accepted());
        let broken = RgbImage {
            width: 10,
            height: 10,
            data: vec![0; 7],
        };
        assert!(gate.check(&broken).accepted());
        assert!(gate.check(&RgbImage::default()).accepted());
    }

    #[test]
    fn black_against_white_scores_one() {
        let mut gate = MotionGate::new(0.0).unwrap();
        gate.check(&RgbImage::filled(64, 48, [0, 0, 0]));
        let score = gate
            .check(&RgbImage::filled(64, 48, [255, 255, 255]))
            .score();
        assert!((score - 1.0).abs() < 1e-6, "{score}");
    }

    #[test]
    fn thresholds_outside_zero_to_one_are_refused() {
        for bad in [-0.1, 1.5, f32::NAN] {
            let error = MotionGate::new(bad).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with("motion threshold must be within 0..=1")
            );
        }
        assert!(MotionGate::with_thumbnail(0.1, 0, 4).is_err());
    }

    #[test]
    fn checking_a_warmed_up_gate_does_not_reallocate() {
        let mut gate = MotionGate::new(0.01).unwrap();
        let frame = with_square(0, 0, 8);
        gate.check(&frame);
        gate.check(&with_square(50, 50, 8));
        let pointers = (gate.reference.as_ptr(), gate.current.as_ptr());
        for step in 0..10 {
            gate.check(&with_square(step * 10, 20, 8));
            let now = (gate.reference.as_ptr(), gate.current.as_ptr());
            assert!(now == pointers || now == (pointers.1, pointers.0));
        }
    }
}
