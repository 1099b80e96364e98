//! The stages the watchdog watches: their names (as `STATUS=` and the stall log line show them)
//! and how long each may go without progress while active, and why.

use std::time::Duration;

use crate::health::{Heartbeat, Progress, Watch};

/// An audio source delivering blocks: a microphone delivers every 10–20 ms and a real-time file
/// every 100 ms, so 10 s of nothing from a source that is not waiting (on a full channel, on
/// stdin, in its restart backoff) means its device or thread is stuck.
pub const CAPTURE_BUDGET: Duration = Duration::from_secs(10);
/// The endpointer on one 20 ms block: milliseconds of VAD; 30 s leaves room for a box so short
/// of CPU that inference starves it (its wait for a full backlog counts as waiting).
pub const VAD_BUDGET: Duration = Duration::from_secs(30);
/// One inference job. The longest real one is a final of a full 30 s window falling through
/// all six temperatures: 6 × (encoder + 224 decoder steps) is about 18 s for tiny.en and about
/// 65 s for base on the 2-vCPU box of BENCHMARKS.md (encoder_30s 0.6 s, a step ~11 ms, base ~3.5×
/// tiny). 300 s is over four times that: a box slower still could not keep up with speech at
/// all (`max_backlog_ms` sheds new audio long before), so a job running longer is stuck.
pub const INFERENCE_BUDGET: Duration = Duration::from_secs(300);
/// One frame through the image model: 50–500 ms on this box, but the vision thread runs at
/// nice +10 and yields nine tenths of the CPU to speech; 120 s is ample even then.
pub const VISION_BUDGET: Duration = Duration::from_secs(120);
/// The MQTT driver's loop, which turns at least once per tick (half the watchdog period):
/// four ticks, and never less than 30 s.
pub fn publisher_budget(tick: Option<Duration>) -> Duration {
    tick.map_or(Duration::from_secs(30), |t| {
        (t * 4).max(Duration::from_secs(30))
    })
}

/// The heartbeat of audio source `name`'s capture thread.
pub fn capture(progress: &Progress, name: &str) -> Heartbeat {
    progress.register(format!("source {name}"), CAPTURE_BUDGET, Watch::WhileActive)
}

/// The heartbeat of audio source `name`'s endpointer thread.
pub fn vad(progress: &Progress, name: &str) -> Heartbeat {
    progress.register(format!("vad {name}"), VAD_BUDGET, Watch::WhileActive)
}

/// The inference worker's heartbeat.
pub fn inference(progress: &Progress) -> Heartbeat {
    progress.register("inference", INFERENCE_BUDGET, Watch::WhileActive)
}

/// The vision thread's heartbeat.
pub fn vision(progress: &Progress) -> Heartbeat {
    progress.register("vision", VISION_BUDGET, Watch::WhileActive)
}

/// Camera `name`'s heartbeat: degraded while it is reopened, never a stall (a camera that stops
/// delivering ends its run after `frames::camera::STALL_LIMIT` and is reopened; file sources are
/// paced by perceptd itself; and a source at 0.01 fps is quiet for 100 s by design).
pub fn camera(progress: &Progress, name: &str) -> Heartbeat {
    let heartbeat = progress.register(format!("camera {name}"), CAPTURE_BUDGET, Watch::WhileActive);
    heartbeat.waiting();
    heartbeat
}

/// The MQTT driver's heartbeat (checked in every state: its loop turns even while offline).
pub fn publisher(progress: &Progress, tick: Option<Duration>) -> Heartbeat {
    progress.register("mqtt", publisher_budget(tick), Watch::Always)
}
