#!/usr/bin/env bash
# The main job as it stands: install what is needed, fetch the real Whisper tiny.en weights,
# speak a passage with espeak-ng and transcribe it with perceptd.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --locked -p perceptd
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/debug/perceptd"
"$perceptd" models fetch
speech="$target_dir/demo-speech"
scripts/make_speech.sh "$speech" >/dev/null
echo "[demo] reference: $(cat tests/speech/bench_11s.txt)"
echo "[demo] perceptd:  $("$perceptd" transcribe "$speech/bench_11s.wav")"
"$perceptd" transcribe --json "$speech/bench_11s.wav"
