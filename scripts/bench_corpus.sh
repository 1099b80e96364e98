#!/usr/bin/env bash
# bench_corpus.sh — the whole real-speech corpus (scripts/make_corpus.py) in real time, for
# BENCHMARKS.md: per condition the batch WER of `perceptd transcribe`, the WER of the daemon's
# streamed finals, and end-of-speech -> final latency measured outside the daemon (the
# subscriber's receive time minus the end of the last piece a final covers, in file time).
#
# Usage: scripts/bench_corpus.sh [REPORT.json]      (about 25 minutes: the corpus plays in real time)
# Env:   CORPUS_CONDITIONS=conversation,oratory     a subset
#        CORPUS_REALTIME=0                          as fast as it goes (WER only: latency is meaningless)
#        PERCEPTD_TEST_BIN=/path/to/perceptd        another build (e.g. the commit before a change);
#                                                   it must accept the config the test writes.
#                                                   Default: this tree's release build (what users run)
#        CORPUS_VERBOSE=1                           one line per final (its latency, the daemon's own)
#        CORPUS_SPEECH_EXTRA / CORPUS_VAD_EXTRA     extra lines for [speech] / [vad]
# Needs what the tests need (scripts/setup.sh, models fetched, Mosquitto on 127.0.0.1:1883).
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(realpath -m "${1:-corpus-report.json}")
if [ -z "${PERCEPTD_TEST_BIN:-}" ]; then
  cargo build --locked --release -p perceptd
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  export PERCEPTD_TEST_BIN="$target_dir/release/perceptd"
fi
echo "[bench_corpus] daemon: $PERCEPTD_TEST_BIN"
CORPUS_REPORT="$report" cargo test --locked --workspace --test speech_corpus -- \
  --ignored --nocapture --exact corpus_benchmark_in_real_time
python3 scripts/corpus_table.py "$report"
