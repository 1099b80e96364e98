//! The SIGHUP task of `perceptd run`: each SIGHUP reloads the config file (see
//! [`crate::reload`]). Installed even without a file, so a SIGHUP never kills the daemon.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::speech::SpeechThreads;
use crate::reload::Reloader;

/// Catches SIGHUP from now on (a signal before [`spawn`] waits for it).
pub fn listen() -> Result<Signal> {
    signal(SignalKind::hangup()).context("installing the SIGHUP handler")
}

/// Starts the task; abort it at shutdown.
pub fn spawn(
    mut hangup: Signal,
    config_file: Option<PathBuf>,
    models_dir: Option<PathBuf>,
    speech: &SpeechThreads,
) -> tokio::task::JoinHandle<()> {
    let mut reloader = config_file.map(|path| Reloader {
        text: std::fs::read_to_string(&path).unwrap_or_default(),
        path,
        models_dir,
        decoding: speech.decoding.clone(),
    });
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match &mut reloader {
                Some(reloader) => {
                    tracing::info!(file = %reloader.path.display(), "SIGHUP: reloading the config");
                    reloader.reload();
                }
                None => tracing::warn!(
                    "SIGHUP ignored: running on the built-in demo config, there is no file to reload"
                ),
            }
        }
    })
}
