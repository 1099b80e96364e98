//! The `perceptd` command line. Every failure ends as one `perceptd: error: …` line on stderr and
//! a non-zero exit status.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = perceptd::cli::Cli::parse();
    let daemon = matches!(cli.command, perceptd::cli::Command::Run(_));
    perceptd::logging::init(cli.verbose || daemon);
    match perceptd::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("perceptd: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
