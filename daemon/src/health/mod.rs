//! Health: counters that every stage bumps when something happens, and the events that log and
//! count in one call, so logs and metrics cannot drift apart; every stage's progress, and the
//! systemd watchdog that reads it.

pub mod metrics;
pub mod notify;
pub mod progress;
pub mod watchdog;

pub use metrics::{Counter, Gauge, Metrics};
pub use notify::Notifier;
pub use progress::{Heartbeat, Progress, Watch};
