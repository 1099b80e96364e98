//! The `perceptd` command line. Every failure ends as one `perceptd: error: …` line on stderr and
//! a non-zero exit status.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = perceptd::cli::Cli::parse();
    // `perceptd run` sets up logging once it has read its config (`log.format`).
    if !matches!(cli.command, perceptd::cli::Command::Run(_)) {
        perceptd::logging::init(cli.verbose, perceptd::logging::LogFormat::Text);
    }
    match perceptd::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            perceptd::logging::print_error(&format!("perceptd: error: {error:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
