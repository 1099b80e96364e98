//! Health: counters that every stage bumps when something happens, and the events that log and
//! count in one call, so logs and metrics cannot drift apart.

pub mod metrics;
pub mod notify;

pub use metrics::{Counter, Gauge, Metrics};
