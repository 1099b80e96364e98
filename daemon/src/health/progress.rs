//! Progress of every stage, for the systemd watchdog ([`super::watchdog`]): each stage holds a
//! [`Heartbeat`] and says what it is doing, cheaply (a few relaxed atomics, no lock on the hot
//! path); the watchdog reads them all with [`Progress::check`].
//!
//! A stage is in one of four states:
//! * **active**: working, and expected to beat again within its budget (a capture thread
//!   delivering blocks, the worker inside a job). An active stage quiet for longer is *stalled*.
//! * **waiting**: blocked on something another stage or the outside provides (no job queued, no
//!   block, a full channel downstream, stdin silent). Never stalled by itself: the stage it waits
//!   on is watched instead.
//! * **degraded**: running without something it needs (the broker is down, a device is
//!   reopening with backoff). Reported in `STATUS=`, never a stall, except for stages registered
//!   with [`Watch::Always`], whose loop keeps turning while degraded.
//! * **done**: finished (a file source at its end).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a stage's quiet time counts against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Only while active.
    WhileActive,
    /// In every state but done: the stage's loop beats even while it waits (the MQTT driver).
    Always,
}

const ACTIVE: u8 = 0;
const WAITING: u8 = 1;
const DEGRADED: u8 = 2;
const DONE: u8 = 3;

#[derive(Debug)]
struct Entry {
    name: String,
    budget: Duration,
    watch: Watch,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last beat or change of state.
    last_ms: AtomicU64,
    beats: AtomicU64,
    state: AtomicU8,
    /// Why it is degraded (only written on the way into that state).
    reason: Mutex<String>,
    stalled_for_test: AtomicBool,
}

impl Entry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn set(&self, state: u8) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
        self.beats.fetch_add(1, Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }
}

/// One stage's handle on its progress. Cloning shares it (a restarted source keeps its handle).
/// A detached heartbeat (the [`Default`]) belongs to no registry and costs nothing.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    entry: Option<Arc<Entry>>,
}

impl Heartbeat {
    /// A heartbeat nobody watches (stages run outside `perceptd run`, unit tests).
    pub fn detached() -> Self {
        Self::default()
    }

    /// Progress, in whatever state the stage is.
    pub fn beat(&self) {
        if let Some(e) = &self.entry {
            e.last_ms.store(e.now_ms(), Ordering::Relaxed);
            e.beats.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Working (and progress): the stage must beat again within its budget.
    pub fn active(&self) {
        if let Some(e) = &self.entry {
            e.set(ACTIVE);
        }
    }

    /// Blocked on another stage or on the outside; not watched until the next [`active`](Self::active).
    pub fn waiting(&self) {
        if let Some(e) = &self.entry {
            e.set(WAITING);
        }
    }

    /// Running without something it needs; `reason` follows the stage's name in `STATUS=`
    /// (`mqtt` + `broker unreachable (mqtt://…)`).
    pub fn degraded(&self, reason: impl Into<String>) {
        if let Some(e) = &self.entry {
            *e.reason.lock().unwrap_or_else(|p| p.into_inner()) = reason.into();
            e.set(DEGRADED);
        }
    }

    /// Finished for good.
    pub fn done(&self) {
        if let Some(e) = &self.entry {
            e.set(DONE);
        }
    }

    /// Test seam: from now on the stage counts as stalled whatever it does, as a stage stuck
    /// past its budget would (the watchdog stops pinging). Nothing in perceptd calls it.
    pub fn stall_for_test(&self) {
        if let Some(e) = &self.entry {
            e.stalled_for_test.store(true, Ordering::Relaxed);
        }
    }

    /// How many beats and changes of state so far (0 when detached).
    pub fn beats(&self) -> u64 {
        self.entry
            .as_ref()
            .map_or(0, |e| e.beats.load(Ordering::Relaxed))
    }
}

/// A stage found stuck by [`Progress::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The stage's name.
    pub stage: String,
    /// How long since it last showed progress.
    pub quiet_for: Duration,
    /// Its budget.
    pub budget: Duration,
}

/// What [`Progress::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Stages stuck past their budget, in registration order.
    pub stalled: Vec<Stall>,
    /// `"{stage} {reason}"` of every degraded stage, in registration order.
    pub degraded: Vec<String>,
    /// The status while the daemon is not ready yet (`starting`, `not ready: waiting for
    /// models …`), if it is not.
    pub not_ready: Option<String>,
}

impl Report {
    /// The `STATUS=` text: `running`, `degraded: a; b`, the not-ready status, or
    /// `stalled: stage (no progress for N s)`.
    pub fn status(&self) -> String {
        if let (true, Some(status)) = (self.stalled.is_empty(), &self.not_ready) {
            return status.clone();
        }
        if !self.stalled.is_empty() {
            let stalls: Vec<String> = self
                .stalled
                .iter()
                .map(|s| format!("{} (no progress for {} s)", s.stage, s.quiet_for.as_secs()))
                .collect();
            format!("stalled: {}", stalls.join("; "))
        } else if !self.degraded.is_empty() {
            format!("degraded: {}", self.degraded.join("; "))
        } else {
            "running".into()
        }
    }
}

/// How one stage looks now, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct StageView {
    /// The stage's name.
    pub stage: String,
    /// Time since its last beat or change of state.
    pub quiet_for: Duration,
    /// `active`, `waiting`, `degraded` or `done`.
    pub state: &'static str,
}

/// Every stage's heartbeat; shared by the stages (which register) and the watchdog (which checks).
#[derive(Debug)]
pub struct Progress {
    epoch: Instant,
    stages: Mutex<Vec<Arc<Entry>>>,
    not_ready: Mutex<Option<String>>,
}

impl Progress {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            stages: Mutex::new(Vec::new()),
            not_ready: Mutex::new(None),
        })
    }

    /// Marks the daemon not ready, with the `STATUS=` text to show meanwhile (`starting`,
    /// `not ready: waiting for models …`), or ready (`None`). Not ready is not a stall: the
    /// watchdog keeps pinging.
    pub fn set_not_ready(&self, status: Option<String>) {
        *self.not_ready.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// Registers a stage, active from now, that must show progress within `budget` (as `watch`
    /// says).
    pub fn register(&self, name: impl Into<String>, budget: Duration, watch: Watch) -> Heartbeat {
        let entry = Arc::new(Entry {
            name: name.into(),
            budget,
            watch,
            epoch: self.epoch,
            last_ms: AtomicU64::new(0),
            beats: AtomicU64::new(0),
            state: AtomicU8::new(ACTIVE),
            reason: Mutex::new(String::new()),
            stalled_for_test: AtomicBool::new(false),
        });
        entry.set(ACTIVE);
        self.lock().push(entry.clone());
        Heartbeat { entry: Some(entry) }
    }

    /// The heartbeat of the stage called `name`, if one is registered (for tests: see
    /// [`Heartbeat::stall_for_test`]).
    pub fn heartbeat(&self, name: &str) -> Option<Heartbeat> {
        self.lock()
            .iter()
            .find(|e| e.name == name)
            .map(|e| Heartbeat {
                entry: Some(e.clone()),
            })
    }

    /// The names of every registered stage, in registration order.
    pub fn stage_names(&self) -> Vec<String> {
        self.lock().iter().map(|e| e.name.clone()).collect()
    }

    /// Which stages are stalled (only when `stalls` is true: the budgets assume the watchdog's
    /// ticks) and which are degraded.
    pub fn check(&self, stalls: bool) -> Report {
        let mut report = Report {
            not_ready: self
                .not_ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            ..Report::default()
        };
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        for e in self.lock().iter() {
            let state = e.state.load(Ordering::Acquire);
            let quiet_for =
                Duration::from_millis(now.saturating_sub(e.last_ms.load(Ordering::Relaxed)));
            let watched = match (state, e.watch) {
                (DONE, _) => false,
                (ACTIVE, _) | (_, Watch::Always) => true,
                _ => false,
            };
            let forced = e.stalled_for_test.load(Ordering::Relaxed);
            if stalls && (forced || (watched && quiet_for > e.budget)) {
                report.stalled.push(Stall {
                    stage: e.name.clone(),
                    quiet_for,
                    budget: e.budget,
                });
            }
            if state == DEGRADED {
                let reason = e.reason.lock().unwrap_or_else(|p| p.into_inner());
                report.degraded.push(format!("{} {reason}", e.name));
            }
        }
        report
    }

    /// Every stage's state and time since its last progress.
    pub fn view(&self) -> Vec<StageView> {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.lock()
            .iter()
            .map(|e| StageView {
                stage: e.name.clone(),
                quiet_for: Duration::from_millis(
                    now.saturating_sub(e.last_ms.load(Ordering::Relaxed)),
                ),
                state: match e.state.load(Ordering::Acquire) {
                    ACTIVE => "active",
                    WAITING => "waiting",
                    DEGRADED => "degraded",
                    _ => "done",
                },
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Entry>>> {
        self.stages.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(30);

    fn past_short_budget() {
        std::thread::sleep(SHORT * 3);
    }

    #[test]
    fn an_active_stage_quiet_past_its_budget_is_stalled_and_a_beat_clears_it() {
        let progress = Progress::new();
        let hb = progress.register("inference", SHORT, Watch::WhileActive);
        assert_eq!(progress.check(true), Report::default());
        past_short_budget();
        let report = progress.check(true);
        assert_eq!(report.stalled.len(), 1);
        assert_eq!(report.stalled[0].stage, "inference");
        assert!(report.stalled[0].quiet_for > SHORT);
        assert!(
            report
                .status()
                .starts_with("stalled: inference (no progress for 0 s)")
        );
        assert!(
            progress.check(false).stalled.is_empty(),
            "stalls only when asked"
        );
        hb.beat();
        assert!(progress.check(true).stalled.is_empty());
    }

    #[test]
    fn waiting_done_and_degraded_stages_are_not_stalled_unless_watched_always() {
        let progress = Progress::new();
        let waiting = progress.register("vad mic", SHORT, Watch::WhileActive);
        let done = progress.register("source file", SHORT, Watch::WhileActive);
        let restarting = progress.register("source mic", SHORT, Watch::WhileActive);
        let mqtt = progress.register("mqtt", SHORT, Watch::Always);
        waiting.waiting();
        done.done();
        restarting.degraded("restarting");
        mqtt.degraded("broker unreachable (mqtt://127.0.0.1:1)");
        past_short_budget();
        let report = progress.check(true);
        let stalled: Vec<&str> = report.stalled.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(stalled, ["mqtt"]);
        mqtt.beat();
        let report = progress.check(true);
        assert!(report.stalled.is_empty());
        assert_eq!(
            report.status(),
            "degraded: source mic restarting; mqtt broker unreachable (mqtt://127.0.0.1:1)"
        );
        restarting.active();
        mqtt.active();
        assert_eq!(progress.check(true).status(), "running");
    }

    #[test]
    fn a_stage_stalled_for_a_test_stays_stalled_whatever_it_does() {
        let progress = Progress::new();
        let hb = progress.register("vision", Duration::from_secs(60), Watch::WhileActive);
        progress.heartbeat("vision").unwrap().stall_for_test();
        hb.waiting();
        hb.beat();
        assert_eq!(progress.check(true).stalled[0].stage, "vision");
        assert!(progress.heartbeat("nothing").is_none());
    }

    #[test]
    fn not_ready_comes_before_degraded_and_after_a_stall() {
        let progress = Progress::new();
        let mqtt = progress.register("mqtt", Duration::from_secs(60), Watch::Always);
        mqtt.degraded("broker unreachable (mqtt://h:1)");
        progress.set_not_ready(Some("not ready: waiting for models in /m".into()));
        assert_eq!(
            progress.check(true).status(),
            "not ready: waiting for models in /m"
        );
        mqtt.stall_for_test();
        assert!(progress.check(true).status().starts_with("stalled: mqtt"));
        progress.set_not_ready(None);
        assert!(progress.check(false).status().starts_with("degraded: mqtt"));
    }

    #[test]
    fn a_detached_heartbeat_does_nothing() {
        let hb = Heartbeat::detached();
        hb.active();
        hb.degraded("x");
        hb.stall_for_test();
        assert_eq!(hb.beats(), 0);
    }

    #[test]
    fn the_view_names_each_state() {
        let progress = Progress::new();
        progress.register("a", SHORT, Watch::WhileActive).waiting();
        progress.register("b", SHORT, Watch::WhileActive);
        let states: Vec<&str> = progress.view().iter().map(|v| v.state).collect();
        assert_eq!(states, ["waiting", "active"]);
        assert_eq!(progress.stage_names(), ["a", "b"]);
    }
}
