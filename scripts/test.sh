#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, fetches the real Whisper
# weights (tiny.en and base; a second fetch is a no-op), then runs fmt, clippy and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# cargo-deb, for tests/package.rs (a staged package of the debug binary; no release build).
scripts/install_cargo_deb.sh
# The integration tests publish to the Mosquitto on 127.0.0.1:1883 (and start private ones).
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "[test] starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
# One build for everything: the test binaries (the tests/ crate) and the perceptd binary they
# drive, in one feature set. `cargo test` alone would not build the binary (it is another
# package's), and a plain `cargo build -p perceptd` would resolve other features and build tract
# a second time; the tests refuse a perceptd older than the sources.
cargo build --locked --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/perceptd" models fetch --with base
"$target_dir/debug/perceptd" models verify
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace
