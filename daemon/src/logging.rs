//! tracing setup: human-readable logs on stderr, filtered by `RUST_LOG` (default `warn`, or
//! `info` with `-v` and for `perceptd run`). The embedded broker's per-connection chatter is
//! kept at `warn` unless `RUST_LOG` asks for it.

/// Installs the global subscriber once.
pub fn init(verbose: bool) {
    let default = if verbose {
        "info,rumqttd=off,rumqttc=warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
