//! `perceptd config check FILE`: parse and validate, print every problem with its key path.

use anyhow::Result;

use crate::cli::ConfigCommand;
use crate::config::Config;

/// Runs the command.
pub fn run(command: &ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Check { file } => {
            let config = Config::from_file(file)?;
            let sources = if config.sources.is_empty() {
                "the default microphone (else the demo clip)".to_string()
            } else {
                config
                    .sources
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let broker = config
                .mqtt
                .url
                .clone()
                .unwrap_or_else(|| "embedded broker".into());
            println!(
                "{}: ok (device {}, model {}, broker {broker}, sources: {sources})",
                file.display(),
                config.device,
                config.speech.model
            );
            Ok(())
        }
    }
}
