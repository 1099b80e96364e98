//! `perceptd run`: the daemon. SIGINT/SIGTERM shut it down cleanly (exit 0).

use anyhow::{Context, Result};

use crate::app;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::shutdown::Shutdown;

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<()> {
    let models_dir = args.models.models_dir.as_deref();
    let config = match &args.config {
        Some(path) => Config::load(path, models_dir)?,
        None => app::demo_config(models_dir)?,
    };
    // Nothing is logged before this point: a config that does not load is the one error line.
    crate::logging::init(true, config.log.format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = Shutdown::new();
        spawn_signal_handler(shutdown.clone())?;
        app::run_reloadable(config, args.config.clone(), shutdown)
            .await
            .map(|_| ())
    })
}

/// Fires `shutdown` on the first SIGINT or SIGTERM.
fn spawn_signal_handler(shutdown: Shutdown) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutdown requested");
        shutdown.trigger();
    });
    Ok(())
}
