//! One supervisor for every source that can come back (a microphone, a camera): a source that
//! fails to open or stops with an error is reported, counted and reopened after its
//! [`RestartPolicy`]'s delay, until it ends normally or shutdown fires.
//!
//! Audio sources (`sources::run_supervised`) and frame sources (`frames::run_frame_supervised`)
//! plug in through [`Supervised`] and [`SupervisedContext`].

mod events;
mod policy;

use std::fmt::Display;
use std::time::Instant;

pub use policy::RestartPolicy;

use crate::health::{Heartbeat, Metrics};
use crate::shutdown::Shutdown;
use events::{Failure, SourceRestarting};

/// A source the supervisor can run and reopen.
pub(crate) trait Supervised {
    /// What each run is given (cloned per attempt).
    type Context: SupervisedContext<End = Self::End>;
    /// How a run ends without failing.
    type End;
    /// Why an open or a run failed.
    type Error: Display;
    /// How restart lines name the kind of source ("audio source", "frame source").
    const KIND: &'static str;

    /// The source's name, for the restart line.
    fn name(&self) -> String;

    /// Runs the source until it ends or fails.
    fn run(self, cx: Self::Context) -> Result<Self::End, Self::Error>;
}

/// What the supervisor reads from a source's context.
pub(crate) trait SupervisedContext: Clone {
    /// How the supervisor returns when told to stop.
    type End;

    /// Why nothing more should be opened, if nothing should.
    fn stopped(&self) -> Option<Self::End>;

    /// Cuts the wait before the next attempt short.
    fn shutdown(&self) -> &Shutdown;

    /// Where restarts are counted.
    fn metrics(&self) -> &Metrics;

    /// The `source` field of restart lines, if they carry one.
    fn log_source(&self) -> Option<&str>;

    /// The source's progress: degraded while it waits to be reopened.
    fn heartbeat(&self) -> &Heartbeat;

    /// The source opened (again): its heartbeat leaves the degraded state.
    fn opened(&self);
}

/// Runs the source that `open` opens until it ends normally or `cx` says stop, reopening it
/// after every failure.
///
/// Each failure (open error or run error) is one `warn` line and one `SourceRestarts`; the wait
/// before the next attempt is interrupted by shutdown. Every error is retried, so give it
/// sources whose errors can pass (a device that may come back), not a file that will stay
/// corrupt.
pub(crate) fn supervise<S: Supervised>(
    mut open: impl FnMut() -> Result<S, S::Error>,
    cx: S::Context,
    policy: RestartPolicy,
) -> S::End {
    let mut restarts = policy.restarts();
    loop {
        if let Some(end) = cx.stopped() {
            return end;
        }
        let started = Instant::now();
        let (failure, ran_for) = match open() {
            Ok(source) => {
                cx.opened();
                let name = source.name();
                match source.run(cx.clone()) {
                    Ok(end) => return end,
                    Err(error) => (Failure::Failed { name, error }, Some(started.elapsed())),
                }
            }
            Err(error) => (Failure::CannotStart(error), None),
        };
        let retry_in = restarts.next_delay(ran_for);
        SourceRestarting {
            kind: S::KIND,
            source: cx.log_source(),
            failure: &failure,
            retry_in,
        }
        .emit(cx.metrics());
        // Degraded, not stalled: the watchdog keeps pinging while a device may come back.
        cx.heartbeat().degraded("restarting");
        // A shutdown during the wait is seen at the top of the loop.
        cx.shutdown().sleep(retry_in);
    }
}
