//! systemd's notification protocol (`Type=notify`, `WatchdogSec=`): datagrams to
//! `$NOTIFY_SOCKET`, no libsystemd. Does nothing when perceptd is not started by systemd.

use std::ffi::OsString;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where `READY=1`, `STATUS=…` and `WATCHDOG=1` go: systemd's socket, or nowhere.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    /// A path, or `@name` for an abstract socket; `None`: notifications are dropped.
    socket: Option<OsString>,
    /// Whether a failed send was logged at warn already (the rest go to debug: a ping every 15 s
    /// to a socket that went away must not fill the log).
    warned: Arc<AtomicBool>,
}

impl Notifier {
    /// The socket systemd names in `$NOTIFY_SOCKET`, if any.
    pub fn from_env() -> Self {
        Self {
            socket: std::env::var_os("NOTIFY_SOCKET").filter(|s| !s.is_empty()),
            warned: Arc::default(),
        }
    }

    /// Notifications to the datagram socket at `path` (a test's own socket).
    pub fn to_socket(path: impl Into<PathBuf>) -> Self {
        Self {
            socket: Some(path.into().into_os_string()),
            warned: Arc::default(),
        }
    }

    /// A notifier that drops everything.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether anyone is listening.
    pub fn is_enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends `state` (e.g. `READY=1`; several assignments are separated by newlines). Failures are
    /// never fatal: the first is logged at warn, later ones at debug.
    pub fn notify(&self, state: &str) {
        let Some(path) = &self.socket else {
            return;
        };
        let result = UnixDatagram::unbound().and_then(|socket| {
            let bytes = path.as_encoded_bytes();
            if let Some(name) = bytes.strip_prefix(b"@") {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(state.as_bytes(), &addr)
            } else {
                socket.send_to(state.as_bytes(), path)
            }
        });
        if let Err(e) = result {
            if self.warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(error = %e, state, "could not notify systemd");
            } else {
                tracing::warn!(
                    error = %e,
                    state,
                    "could not notify systemd (further failures are logged at debug)"
                );
            }
        }
    }
}

/// Sends `state` to `$NOTIFY_SOCKET`, if systemd is listening (see [`Notifier::from_env`]).
pub fn sd_notify(state: &str) {
    Notifier::from_env().notify(state);
}

/// The watchdog timeout systemd asks this process to honour (`WatchdogSec=`): `$WATCHDOG_USEC`,
/// unless `$WATCHDOG_PID` names another process. `None`: no watchdog.
pub fn watchdog_from_env() -> Option<Duration> {
    watchdog_timeout(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_from_env`] on given values (as `sd_watchdog_enabled(3)` reads them): a positive
/// number of microseconds, for this pid or any when no pid is given.
fn watchdog_timeout(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid.map(str::trim).filter(|p| !p.is_empty())
        && pid.parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_notifier_sends_nothing() {
        let notifier = Notifier::disabled();
        assert!(!notifier.is_enabled());
        notifier.notify("READY=1");
    }

    #[test]
    fn a_notifier_sends_each_state_as_one_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::to_socket(&path);
        notifier.notify("READY=1");
        notifier.notify("WATCHDOG=1\nSTATUS=running");
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1\nSTATUS=running");
    }

    #[test]
    fn a_socket_that_is_gone_is_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = Notifier::to_socket(dir.path().join("nobody-listens"));
        notifier.notify("WATCHDOG=1");
        notifier.notify("WATCHDOG=1");
        assert!(notifier.warned.load(Ordering::Relaxed));
    }

    #[test]
    fn the_watchdog_is_on_for_a_positive_usec_and_this_pid_or_none() {
        let two_s = Some(Duration::from_secs(2));
        assert_eq!(watchdog_timeout(Some("2000000"), None, 7), two_s);
        assert_eq!(watchdog_timeout(Some("2000000"), Some("7"), 7), two_s);
        assert_eq!(watchdog_timeout(Some("2000000"), Some(""), 7), two_s);
        assert_eq!(watchdog_timeout(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog_timeout(Some("0"), None, 7), None);
        assert_eq!(watchdog_timeout(Some("soon"), None, 7), None);
        assert_eq!(watchdog_timeout(None, Some("7"), 7), None);
    }
}
