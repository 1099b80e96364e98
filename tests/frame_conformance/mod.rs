//! The conformance check every `FrameSource` must pass, written once and run against the
//! images, synthetic and y4m sources (the camera's decode path is tested with synthesised
//! buffers in its unit tests; there is no /dev/video here).
#![allow(dead_code)]

pub mod fixtures;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percept_dsp::RgbImage;
use perceptd::frames::{
    Frame, FrameContext, FrameEnd, FramePolicy, FrameReceiver, FrameSource, FrameSourceError,
    RecvError,
};
use perceptd::health::{Counter, Metrics};
use perceptd::shutdown::Shutdown;

/// Upper bound on any wait, so a broken source fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// How long a source may take to return after shutdown (a bounded wait, not a timing claim).
const STOP_PATIENCE: Duration = Duration::from_secs(5);

/// A source running on its own thread.
pub struct Running {
    pub rx: FrameReceiver,
    pub shutdown: Shutdown,
    pub metrics: Arc<Metrics>,
    pub thread: JoinHandle<Result<FrameEnd, FrameSourceError>>,
}

/// Starts `source` with a channel of `capacity` frames and `policy`.
pub fn start(source: Box<dyn FrameSource>, capacity: usize, policy: FramePolicy) -> Running {
    let shutdown = Shutdown::new();
    let metrics = Metrics::new();
    let (cx, rx) = FrameContext::new(
        "test-source",
        capacity,
        policy,
        shutdown.clone(),
        metrics.clone(),
    )
    .expect("valid policy");
    let thread = std::thread::spawn(move || source.run(cx));
    Running {
        rx,
        shutdown,
        metrics,
        thread,
    }
}

impl Running {
    /// The next frame, or `None` once the source has ended and the channel is drained.
    pub fn recv(&self) -> Option<Frame> {
        match self.rx.recv_timeout(PATIENCE) {
            Ok(frame) => Some(frame),
            Err(RecvError::Disconnected) => None,
            Err(RecvError::Timeout) => panic!("no frame within {PATIENCE:?}"),
        }
    }

    /// Every frame until the source ends, and how it ended.
    pub fn drain(self) -> (Vec<Frame>, FrameEnd, Arc<Metrics>) {
        let mut frames = Vec::new();
        while let Some(frame) = self.recv() {
            frames.push(frame);
        }
        let end = self
            .thread
            .join()
            .expect("source thread panicked")
            .expect("run failed");
        (frames, end, self.metrics)
    }

    /// Waits (bounded) for `run` to return after something made it stop.
    pub fn join_within(self, patience: Duration) -> Result<FrameEnd, FrameSourceError> {
        let deadline = Instant::now() + patience;
        while !self.thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "run did not return within {patience:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.thread.join().expect("source thread panicked")
    }
}

/// What a finite source must deliver.
pub struct Expected<'a> {
    /// The frame size every frame has.
    pub size: (usize, usize),
    /// The exact pictures, in order, when known (decoded files, converted video frames);
    /// otherwise only the count is checked.
    pub images: Option<&'a [RgbImage]>,
    /// How many frames.
    pub count: usize,
}

/// Runs sources through the conformance check:
/// - drained to the end, `finite()` delivers `expected.count` frames of the right size (and
///   content), numbered 0, 1, 2… under the test's source name, then ends with `EndOfInput`;
///   the counters agree (captured = sent = count, no errors, skips or drops);
/// - `endless()` (the same input, looped or unbounded) stops promptly on shutdown while nobody
///   drains its channel, and the channel never holds more than its capacity;
/// - `endless()` ends with `ReceiverClosed` when the consumer goes away.
pub fn check_frame_source(
    finite: &dyn Fn() -> Box<dyn FrameSource>,
    endless: &dyn Fn() -> Box<dyn FrameSource>,
    expected: &Expected,
) {
    if let Some(size) = finite().spec().size {
        assert_eq!(size, expected.size, "spec size");
    }

    // 1. Drained to the end.
    let (frames, end, metrics) = start(finite(), 64, FramePolicy::default()).drain();
    assert_eq!(end, FrameEnd::EndOfInput);
    assert_eq!(frames.len(), expected.count, "frame count");
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame.seq, index as u64, "frames are numbered in order");
        assert_eq!(&*frame.source, "test-source");
        let image = &frame.image;
        assert_eq!(
            (image.width, image.height),
            expected.size,
            "frame {index} size"
        );
        assert_eq!(image.data.len(), image.width * image.height * 3);
        if let Some(images) = expected.images {
            assert!(image == &images[index], "frame {index} content differs");
        }
    }
    let count = expected.count as u64;
    assert_eq!(metrics.get(Counter::FramesCaptured), count);
    assert_eq!(metrics.get(Counter::FramesSent), count);
    for counter in [
        Counter::FrameErrors,
        Counter::FramesSkippedMotion,
        Counter::FramesSkippedRate,
        Counter::FramesDropped,
    ] {
        assert_eq!(metrics.get(counter), 0, "{}", counter.name());
    }

    // 2. Shutdown stops it promptly while the channel is full and nobody drains it.
    let running = start(endless(), 2, FramePolicy::default());
    let first = running.recv().expect("a first frame");
    assert_eq!(first.seq, 0);
    let deadline = Instant::now() + PATIENCE;
    while running.metrics.get(Counter::FramesDropped) == 0 {
        assert!(Instant::now() < deadline, "the channel never filled up");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(running.rx.len() <= 2, "the channel grew past its capacity");
    running.shutdown.trigger();
    assert_eq!(
        running.join_within(STOP_PATIENCE).expect("run failed"),
        FrameEnd::Shutdown
    );

    // 3. A consumer that goes away ends the source.
    let running = start(endless(), 2, FramePolicy::default());
    assert!(running.recv().is_some());
    let Running { rx, thread, .. } = running;
    drop(rx);
    let end = thread
        .join()
        .expect("source thread panicked")
        .expect("run failed");
    assert_eq!(end, FrameEnd::ReceiverClosed);
}

/// A static scene costs one inference: a source delivering 100 identical frames through a
/// motion gate sends exactly one, and counts the other 99 as motion skips.
pub fn check_static_scene_sends_one_frame(make: &dyn Fn() -> Box<dyn FrameSource>) {
    let policy = FramePolicy {
        max_fps: None,
        motion_threshold: 0.01,
    };
    let (frames, end, metrics) = start(make(), 4, policy).drain();
    assert_eq!(end, FrameEnd::EndOfInput);
    assert_eq!(frames.len(), 1, "frames sent");
    assert_eq!(metrics.get(Counter::FramesCaptured), 100);
    assert_eq!(metrics.get(Counter::FramesSkippedMotion), 99);
    assert_eq!(metrics.get(Counter::FramesSent), 1);
}
