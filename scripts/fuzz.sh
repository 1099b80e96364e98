#!/usr/bin/env bash
# The hostile-input campaign (tests/fuzz.rs) for longer than CI's 2 s per harness.
#   scripts/fuzz.sh [MINUTES per harness, default 10] [harness name filter]
# Runs two harnesses at a time (JOBS=2, one per core); prints executions per second per harness.
# A finding fails its harness, names its seed (PERCEPTD_FUZZ_SEED reproduces the run) and is
# saved under target/fuzz-findings/<harness>/: fix it, then commit the input to
# tests/fuzz/corpus/<harness>/ so every later run (CI included) replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
filter="${2:-}"
cargo build --locked --workspace --all-targets
PERCEPTD_FUZZ_SECS=$((minutes * 60)) cargo test --locked --workspace --test fuzz -- \
  --nocapture --test-threads "${JOBS:-2}" $filter 2>&1 | grep -E "fuzz [a-z0-9]+:|panicked|saved|test result"
