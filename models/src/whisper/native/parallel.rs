//! Fork-join over scoped threads: the engine splits one product or attention into a few jobs.
//!
//! Threads are started per call (tens of µs) rather than kept in a pool: the encoder's calls take
//! milliseconds each, a decoding step starts at most one, and an idle daemon holds no spinning
//! workers.

/// Runs every job, all but the last on their own scoped threads and the last on the calling
/// thread, and returns the first error (after every job has finished).
pub(crate) fn run_all<E: Send>(jobs: Vec<impl FnOnce() -> Result<(), E> + Send>) -> Result<(), E> {
    let mut jobs = jobs;
    let Some(last) = jobs.pop() else {
        return Ok(());
    };
    if jobs.is_empty() {
        return last();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|job| s.spawn(job)).collect();
        let here = last();
        handles.into_iter().fold(here, |acc, h| {
            let r = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            acc.and(r)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_and_the_first_error_is_returned() {
        let mut out = vec![0u32; 4];
        let jobs: Vec<_> = out
            .chunks_mut(1)
            .enumerate()
            .map(|(i, c)| {
                move || {
                    c[0] = i as u32 + 1;
                    if i == 1 { Err(i) } else { Ok(()) }
                }
            })
            .collect();
        assert_eq!(run_all(jobs), Err(1));
        assert_eq!(out, vec![1, 2, 3, 4]);
        let none: Vec<fn() -> Result<(), ()>> = Vec::new();
        assert_eq!(run_all(none), Ok(()));
    }
}
