#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, fetches the real Whisper
# weights (tiny.en and base; a second fetch is a no-op), then runs fmt, clippy and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The integration tests publish to the Mosquitto on 127.0.0.1:1883 (and start private ones).
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "[test] starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
# One build for everything: the test binaries and the perceptd binary they drive (a plain
# `cargo build` would resolve features without dev-dependencies and build tract a second time).
cargo test --locked --workspace --no-run
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/perceptd" models fetch --with base
"$target_dir/debug/perceptd" models verify
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace
