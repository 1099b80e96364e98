//! A one-slot mailbox: the reloader posts new settings, the thread that uses them takes them
//! between jobs (no lock on the hot path beyond one uncontended check).

use std::sync::{Arc, Mutex};

/// Shared slot; clones post to and take from the same one. A newer post replaces an older one.
#[derive(Debug)]
pub struct Mailbox<T>(Arc<Mutex<Option<T>>>);

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }
}

impl<T> Mailbox<T> {
    /// Leaves `value` for the next [`take`](Self::take).
    pub fn post(&self, value: T) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
    }

    /// The latest posted value, if one came since the last take.
    pub fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_post_is_taken_once() {
        let mailbox = Mailbox::default();
        assert_eq!(mailbox.take(), None);
        let other = mailbox.clone();
        other.post(1);
        other.post(2);
        assert_eq!(mailbox.take(), Some(2));
        assert_eq!(mailbox.take(), None);
    }
}
