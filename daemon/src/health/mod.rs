//! Health: counters that every stage bumps when something happens, and the events that log and
//! count in one call, so logs and metrics cannot drift apart; every stage's progress, and the
//! systemd watchdog that reads it; `/metrics` for Prometheus.

pub mod exposition;
pub mod histograms;
pub mod metrics;
pub mod notify;
pub mod progress;
pub mod serve;
pub mod watchdog;

pub use histograms::InferenceKind;
pub use metrics::{Counter, Gauge, Metrics};
pub use notify::Notifier;
pub use progress::{Heartbeat, Progress, Watch};
