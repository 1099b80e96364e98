#!/usr/bin/env bash
# The main job: the daemon on its demo config. Installs what is needed, fetches the real Whisper
# tiny.en, Silero VAD and EfficientNet-Lite0 weights (and the reference photo), then runs
# `perceptd run` with no config: an embedded MQTT broker on 127.0.0.1, the default microphone (or,
# when none works, a bundled spoken clip looping in real time), the photo as a camera, and every
# published message logged so you see transcripts and labels scroll by. Ctrl-C stops it cleanly.
# DEMO_SECONDS=N stops it after N seconds (SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The same build as scripts/test.sh (tests and binary in one feature set), so running both on one
# machine compiles tract once.
cargo build --locked --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/debug/perceptd"
"$perceptd" models fetch
if [ -n "${DEMO_SECONDS:-}" ]; then
  exec timeout --signal=TERM --preserve-status "$DEMO_SECONDS" "$perceptd" run
fi
exec "$perceptd" run
