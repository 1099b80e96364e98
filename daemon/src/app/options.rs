//! How `perceptd run` talks to its supervisor: systemd's notification socket, the watchdog
//! timeout, and the progress registry every stage reports to; and the file to reload on SIGHUP.
//! [`RunOptions::from_env`] reads the first two as systemd sets them; a test passes its own
//! (environment variables are process-wide).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::health::notify::watchdog_from_env;
use crate::health::{Notifier, Progress};

/// What [`super::run_with`] reports to, and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where `READY=1`, `STATUS=`, `WATCHDOG=1` and `STOPPING=1` go.
    pub notifier: Notifier,
    /// The watchdog timeout (`WatchdogSec=`, as `$WATCHDOG_USEC`): pings every half of it while
    /// every stage shows progress. `None`: no pings and no stall checks.
    pub watchdog: Option<Duration>,
    /// Every stage's heartbeat; keep a clone to look at them (or stall one in a test).
    pub progress: Arc<Progress>,
    /// The config file SIGHUP reloads; `None`: a SIGHUP is logged and ignored.
    pub config_file: Option<PathBuf>,
}

impl RunOptions {
    /// `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` (unless `$WATCHDOG_PID` names another process), a
    /// fresh registry, no file to reload.
    pub fn from_env() -> Self {
        Self {
            notifier: Notifier::from_env(),
            watchdog: watchdog_from_env(),
            progress: Progress::new(),
            config_file: None,
        }
    }
}
