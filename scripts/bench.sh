#!/usr/bin/env bash
# Side-by-side speed run for BENCHMARKS.md: perceptd (native int8, native f32, tract f32) against
# faster-whisper (CTranslate2, the same weights) and onnxruntime (the same ONNX graphs), all on this
# machine in one go.
#
#   scripts/bench.sh [OUT_DIR]        # default: target dir/bench-out
#
# Writes perceptd-<model>-<engine>-<precision>-t<threads>.json and reference-<model>.json to OUT_DIR
# and prints a summary. Needs the models
# (`perceptd models fetch --with base`); makes its own venv for faster-whisper + onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -q -p perceptd
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/debug/perceptd"
out="${1:-$target_dir/bench-out}"
mkdir -p "$out"
models="${PERCEPTD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/perceptd/models}"
"$perceptd" models fetch --with base >/dev/null

scripts/make_speech.sh "$out/speech" >/dev/null
clip="$out/speech/bench_11s.wav"

# The faster-whisper + onnxruntime venv ($venv) and the CTranslate2 models ($ct2).
source scripts/bench_env.sh

echo "[bench] load: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in tiny.en base; do
  dir=whisper-$model
  for engine in "native int8" "native f32" "tract f32"; do
    set -- $engine
    for threads in 1 2; do
      "$perceptd" bench --model "$model" --clip "$clip" --engine "$1" --precision "$2" --threads "$threads" \
        --json >"$out/perceptd-$model-$1-$2-t$threads.json"
    done
  done
  "$venv/bin/python" scripts/bench_reference.py --audio "$clip" --ct2-dir "$ct2/$model" \
    --onnx-dir "$models/$dir" --threads 2 --timestamps >"$out/reference-$model.json"
done
echo "[bench] load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 scripts/bench_summary.py "$out"
