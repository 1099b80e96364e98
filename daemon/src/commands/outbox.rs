//! `perceptd outbox inspect`: what waits in the durable outbox.

use anyhow::{Context, Result};

use crate::cli::OutboxCommand;
use crate::config::Config;
use crate::outbox::{OUTBOX_DIR, default_state_dir, summarize};

/// Runs the command.
pub fn run(command: &OutboxCommand) -> Result<()> {
    match command {
        OutboxCommand::Inspect { state_dir, config } => {
            let state_dir = match (state_dir, config) {
                (Some(dir), _) => dir.clone(),
                (None, Some(file)) => Config::from_file(file)?.state_dir,
                (None, None) => default_state_dir(),
            };
            let dir = state_dir.join(OUTBOX_DIR);
            let summary = summarize(&dir)
                .with_context(|| format!("reading the outbox in {}", dir.display()))?;
            println!("outbox: {}", dir.display());
            print!("{summary}");
            Ok(())
        }
    }
}
