//! What a running frame source holds: the latest-wins sender, the shutdown token, the counters,
//! and the frame policy (`max_fps` and the motion gate) applied to every frame before it is sent.

use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use percept_dsp::RgbImage;
use percept_dsp::image::MotionGate;

use super::channel::{FrameReceiver, FrameSender, Pushed, latest_channel};
use super::events::FrameSkipped;
use super::{Frame, FrameEnd, FrameSourceError};
use crate::health::{Counter, Heartbeat, Metrics};
use crate::shutdown::Shutdown;

/// Share of `1 / max_fps` a frame may come early and still pass the rate limit, so a source
/// paced at exactly `max_fps` is not halved by scheduling jitter.
const RATE_SLACK: f64 = 0.1;

/// Which frames go on to the consumer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePolicy {
    /// At most this many frames per second are sent; `None` sends every frame. A frame coming
    /// sooner than `0.9 / max_fps` after the last frame sent is skipped and counted.
    pub max_fps: Option<f64>,
    /// Motion gate threshold in 0..=1 (mean absolute difference of 32x24 grey thumbnails
    /// against the last frame sent); 0 disables the gate. A frame scoring below it is skipped
    /// and counted, so a static scene costs one inference.
    pub motion_threshold: f32,
}

impl Default for FramePolicy {
    /// Every frame is sent.
    fn default() -> Self {
        Self {
            max_fps: None,
            motion_threshold: 0.0,
        }
    }
}

/// What the policy decided for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateDecision {
    /// Send it.
    Pass,
    /// Too soon after the last frame sent.
    SkipRate,
    /// Too similar to the last frame sent.
    SkipMotion,
}

/// The frame policy's state: when the last frame went out, and the motion reference.
#[derive(Debug)]
pub struct FrameGate {
    min_interval: Option<Duration>,
    last_sent: Option<Instant>,
    motion: Option<MotionGate>,
}

impl FrameGate {
    /// A gate for `policy`; invalid values are refused with the rule they break.
    pub fn new(policy: &FramePolicy) -> Result<Self, FrameSourceError> {
        let min_interval = match policy.max_fps {
            None => None,
            Some(fps) if fps > 0.0 && fps.is_finite() => {
                Some(Duration::from_secs_f64((1.0 - RATE_SLACK) / fps))
            }
            Some(fps) => {
                return Err(FrameSourceError::InvalidConfig {
                    rule: format!("max_fps must be > 0 and finite, got {fps}"),
                });
            }
        };
        let motion = if policy.motion_threshold == 0.0 {
            None
        } else {
            Some(MotionGate::new(policy.motion_threshold).map_err(|e| {
                FrameSourceError::InvalidConfig {
                    rule: e.to_string(),
                }
            })?)
        };
        Ok(Self {
            min_interval,
            last_sent: None,
            motion,
        })
    }

    /// Decides for a frame captured at `at`; a passing frame becomes the new reference.
    pub fn check(&mut self, at: Instant, image: &RgbImage) -> GateDecision {
        if let (Some(min), Some(last)) = (self.min_interval, self.last_sent)
            && at.saturating_duration_since(last) < min
        {
            return GateDecision::SkipRate;
        }
        if let Some(motion) = &mut self.motion
            && !motion.check(image).accepted()
        {
            return GateDecision::SkipMotion;
        }
        self.last_sent = Some(at);
        GateDecision::Pass
    }
}

/// What happened to an offered frame.
#[derive(Debug)]
pub enum Offered {
    /// Sent to the consumer.
    Sent,
    /// Skipped by the policy; the image is given back so its buffer can be reused.
    Skipped(RgbImage),
    /// The source must stop.
    Stop(FrameEnd),
}

#[derive(Debug)]
struct GateState {
    gate: FrameGate,
    next_seq: u64,
}

/// Everything a running frame source needs. Cloning shares the policy state and the sequence
/// numbers, so a restarted source continues where the failed one stopped.
#[derive(Debug, Clone)]
pub struct FrameContext {
    source: Arc<str>,
    tx: FrameSender,
    shutdown: Shutdown,
    metrics: Arc<Metrics>,
    state: Arc<Mutex<GateState>>,
    heartbeat: Heartbeat,
}

impl FrameContext {
    /// A context for the source named `source` (the name frames carry), with a latest-wins
    /// channel of `capacity` frames, and the channel's receiving end.
    pub fn new(
        source: &str,
        capacity: usize,
        policy: FramePolicy,
        shutdown: Shutdown,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, FrameReceiver), FrameSourceError> {
        let gate = FrameGate::new(&policy)?;
        let (tx, rx) = latest_channel(capacity);
        Ok((
            Self {
                source: source.into(),
                tx,
                shutdown,
                metrics,
                state: Arc::new(Mutex::new(GateState { gate, next_seq: 0 })),
                heartbeat: Heartbeat::detached(),
            },
            rx,
        ))
    }

    /// The source name frames carry.
    pub fn source(&self) -> &Arc<str> {
        &self.source
    }

    /// The shutdown token (check it between frames; sleep with it).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The source's progress (degraded while it is reopened); detached by default.
    pub fn heartbeat(&self) -> &Heartbeat {
        &self.heartbeat
    }

    /// The same context, reporting progress to `heartbeat`.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Why the source should stop now, if it should: shutdown, or the consumer went away.
    pub fn stopped(&self) -> Option<FrameEnd> {
        if self.shutdown.is_triggered() {
            Some(FrameEnd::Shutdown)
        } else if self.tx.is_closed() {
            Some(FrameEnd::ReceiverClosed)
        } else {
            None
        }
    }

    /// Offers a frame captured now. Never waits.
    pub fn offer(&self, image: RgbImage) -> Offered {
        self.offer_at(image, Instant::now(), SystemTime::now())
    }

    /// Offers a frame captured at `at` (monotonic, for the rate limit) / `captured_at` (wall
    /// clock, for the frame's timestamp): counts it, applies the policy, and sends it if it
    /// passes. A full channel drops its oldest frame (counted in `FramesDropped`).
    pub fn offer_at(&self, image: RgbImage, at: Instant, captured_at: SystemTime) -> Offered {
        if let Some(end) = self.stopped() {
            return Offered::Stop(end);
        }
        self.metrics.incr(Counter::FramesCaptured);
        let mut state = self.lock();
        match state.gate.check(at, &image) {
            GateDecision::SkipRate => {
                self.metrics.incr(Counter::FramesSkippedRate);
                return Offered::Skipped(image);
            }
            GateDecision::SkipMotion => {
                self.metrics.incr(Counter::FramesSkippedMotion);
                return Offered::Skipped(image);
            }
            GateDecision::Pass => {}
        }
        let frame = Frame {
            source: Arc::clone(&self.source),
            seq: state.next_seq,
            captured_at,
            image,
        };
        match self.tx.push(frame) {
            Pushed::Queued => {}
            Pushed::ReplacedOldest => self.metrics.incr(Counter::FramesDropped),
            Pushed::Closed(_) => return Offered::Stop(FrameEnd::ReceiverClosed),
        }
        state.next_seq += 1;
        self.metrics.incr(Counter::FramesSent);
        Offered::Sent
    }

    /// Reports a frame that could not be read or decoded: one `warn` line naming the source
    /// and `item` (a path, a frame number), and one `FrameErrors`. The source carries on.
    pub fn frame_error(&self, item: &str, error: &dyn Display) {
        FrameSkipped {
            source: &self.source,
            item,
            error,
        }
        .emit(&self.metrics);
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state is a gate and a counter; a panic while holding it leaves both usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(grey: u8) -> RgbImage {
        RgbImage::filled(32, 24, [grey, grey, grey])
    }

    #[test]
    fn max_fps_skips_frames_closer_than_its_interval_to_the_last_one_sent() {
        let policy = FramePolicy {
            max_fps: Some(10.0),
            motion_threshold: 0.0,
        };
        let mut gate = FrameGate::new(&policy).unwrap();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let decisions: Vec<GateDecision> = [0, 40, 80, 95, 130, 190, 230]
            .into_iter()
            .map(|ms| gate.check(at(ms), &solid(0)))
            .collect();
        use GateDecision::{Pass, SkipRate};
        // 95 ms is within the 10 % slack of 100 ms; 190 is 95 after 95.
        assert_eq!(
            decisions,
            vec![Pass, SkipRate, SkipRate, Pass, SkipRate, Pass, SkipRate]
        );
    }

    #[test]
    fn the_motion_gate_runs_only_on_frames_the_rate_limit_let_through() {
        let policy = FramePolicy {
            max_fps: Some(10.0),
            motion_threshold: 0.05,
        };
        let mut gate = FrameGate::new(&policy).unwrap();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(gate.check(at(0), &solid(0)), GateDecision::Pass);
        assert_eq!(gate.check(at(10), &solid(255)), GateDecision::SkipRate);
        assert_eq!(gate.check(at(200), &solid(1)), GateDecision::SkipMotion);
        assert_eq!(gate.check(at(400), &solid(255)), GateDecision::Pass);
    }

    #[test]
    fn invalid_policies_are_refused_with_their_rule() {
        let bad_fps = FramePolicy {
            max_fps: Some(0.0),
            motion_threshold: 0.0,
        };
        assert_eq!(
            FrameGate::new(&bad_fps).unwrap_err().to_string(),
            "max_fps must be > 0 and finite, got 0"
        );
        let bad_motion = FramePolicy {
            max_fps: None,
            motion_threshold: 3.0,
        };
        assert_eq!(
            FrameGate::new(&bad_motion).unwrap_err().to_string(),
            "motion threshold must be within 0..=1, got 3"
        );
    }

    #[test]
    fn offered_frames_are_counted_numbered_and_skips_give_the_image_back() {
        let metrics = Metrics::new();
        let policy = FramePolicy {
            max_fps: None,
            motion_threshold: 0.01,
        };
        let (cx, rx) =
            FrameContext::new("cam", 1, policy, Shutdown::new(), metrics.clone()).unwrap();
        assert!(matches!(cx.offer(solid(0)), Offered::Sent));
        assert!(matches!(cx.offer(solid(0)), Offered::Skipped(image) if image == solid(0)));
        assert!(matches!(cx.offer(solid(200)), Offered::Sent));
        let frame = rx.try_recv().unwrap();
        assert_eq!((frame.seq, &*frame.source), (1, "cam"));
        assert_eq!(metrics.get(Counter::FramesCaptured), 3);
        assert_eq!(metrics.get(Counter::FramesSkippedMotion), 1);
        assert_eq!(metrics.get(Counter::FramesSent), 2);
        assert_eq!(metrics.get(Counter::FramesDropped), 1);
        drop(rx);
        assert!(matches!(
            cx.offer(solid(90)),
            Offered::Stop(FrameEnd::ReceiverClosed)
        ));
        cx.frame_error("x.jpg", &"bad");
        assert_eq!(metrics.get(Counter::FrameErrors), 1);
    }
}
