//! The shutdown token every stage holds: set once (SIGINT/SIGTERM, or a test), seen by blocking
//! threads through [`Shutdown::is_triggered`] / [`Shutdown::sleep`] and by async code through
//! [`Shutdown::wait`].

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A cloneable, one-way shutdown signal.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: Mutex<bool>,
    wake_threads: Condvar,
    wake_tasks: tokio::sync::Notify,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

impl Shutdown {
    /// A token that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the token; every waiter wakes. Idempotent.
    pub fn trigger(&self) {
        let mut triggered = lock(&self.inner.triggered);
        *triggered = true;
        self.inner.wake_threads.notify_all();
        self.inner.wake_tasks.notify_waiters();
    }

    /// Whether the token has fired.
    pub fn is_triggered(&self) -> bool {
        *lock(&self.inner.triggered)
    }

    /// Blocks the calling thread for `duration` or until shutdown; returns true on shutdown.
    pub fn sleep(&self, duration: Duration) -> bool {
        let guard = lock(&self.inner.triggered);
        let (guard, _) = self
            .inner
            .wake_threads
            .wait_timeout_while(guard, duration, |triggered| !*triggered)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard
    }

    /// Resolves once the token has fired.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.wake_tasks.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// Locks a mutex whose data (a bool) is valid even if a holder panicked.
fn lock(mutex: &Mutex<bool>) -> std::sync::MutexGuard<'_, bool> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_early_when_triggered_from_another_thread() {
        let shutdown = Shutdown::new();
        let other = shutdown.clone();
        let started = std::time::Instant::now();
        let handle = std::thread::spawn(move || other.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        shutdown.trigger();
        assert!(handle.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn sleep_without_trigger_returns_false() {
        assert!(!Shutdown::new().sleep(Duration::from_millis(1)));
    }

    #[tokio::test]
    async fn wait_resolves_after_trigger() {
        let shutdown = Shutdown::new();
        let other = shutdown.clone();
        let task = tokio::spawn(async move { other.wait().await });
        tokio::task::yield_now().await;
        shutdown.trigger();
        task.await.unwrap();
        shutdown.wait().await; // already fired: returns at once
    }
}
