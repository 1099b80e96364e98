//! One module per command; [`run`] dispatches.

pub mod bench;
pub mod bench_vision;
pub mod capture;
pub mod classify;
pub mod config;
pub mod embed;
pub mod models;
pub mod outbox;
pub mod run;
pub mod transcribe;
mod vision_model;

pub use percept_models::clip::DEFAULT_VOCAB;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Transcribe(args) => transcribe::run(&args),
        Command::Models(command) => models::run(&command),
        Command::Bench(args) => bench::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Config(command) => config::run(&command),
        Command::Capture(args) => capture::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Embed(args) => embed::run(&args),
        Command::BenchVision(args) => bench_vision::run(&args),
        Command::Outbox(command) => outbox::run(&command),
    }
}
