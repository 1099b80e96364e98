#!/usr/bin/env bash
# Long files for BENCHMARKS.md: `perceptd transcribe` cut at speech (--vad auto, the default) and the
# reference's 30 s windows (--vad off) against faster-whisper on the same CTranslate2 weights with
# vad_filter off and on, on the long conditions of scripts/make_corpus.py (long_gaps, long_telephone,
# long_conversation). Wall time of the whole process and WER (lower case, punctuation stripped; the
# tests' Whisper normaliser gives slightly different figures), median of RUNS runs.
#
#   scripts/bench_long.sh [RUNS] [THREADS]      # defaults: 3 runs, 2 threads; BENCH_LONG_MODELS="tiny.en"
#
# Greedy decoding with temperature fallback and conditioning on previous text for all (faster-whisper:
# beam_size=1, best_of=1, compute_type int8 — its fastest on this CPU; perceptd: native int8).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
threads="${2:-2}"

cargo build --locked -q --release -p perceptd
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/release/perceptd"
out="$target_dir/bench-out"
models="${PERCEPTD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/perceptd/models}"
source scripts/bench_env.sh
long="$out/long"
mkdir -p "$long"
[ -f "$long/long_conversation.json" ] || python3 scripts/make_corpus.py "$long" --conditions long >/dev/null

cat >"$long/fw.py" <<'PY'
import sys
from faster_whisper import WhisperModel
wav, threads, model_dir, vad = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "on"
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
segments, _ = model.transcribe(wav, language="en", beam_size=1, best_of=1, vad_filter=vad)
print(" ".join(s.text.strip() for s in segments))
PY

rows="$long/rows.txt"
: >"$rows"
for model in ${BENCH_LONG_MODELS:-tiny.en base}; do
  for cond in long_gaps long_telephone long_conversation; do
    wav="$long/$cond.wav"
    for run in $(seq "$runs"); do
      for vad in auto off; do
        /usr/bin/time -f "%e" -o "$long/t.txt" "$perceptd" transcribe --model "$model" --threads "$threads" \
          --vad "$vad" --models-dir "$models" "$wav" >"$long/out.txt"
        echo "$model $cond perceptd-vad-$vad $(cat "$long/t.txt") $long/out-$model-$cond-p$vad.txt" >>"$rows"
        cp "$long/out.txt" "$long/out-$model-$cond-p$vad.txt"
      done
      for vad in off on; do
        /usr/bin/time -f "%e" -o "$long/t.txt" "$venv/bin/python" "$long/fw.py" "$wav" "$threads" "$ct2/$model" \
          "$vad" >"$long/out.txt" 2>/dev/null
        echo "$model $cond faster-whisper-vad-$vad $(cat "$long/t.txt") $long/out-$model-$cond-fw$vad.txt" >>"$rows"
        cp "$long/out.txt" "$long/out-$model-$cond-fw$vad.txt"
      done
    done
  done
done

python3 - "$long" "$rows" <<'PY'
import json, pathlib, re, statistics, sys
long, rows = pathlib.Path(sys.argv[1]), sys.argv[2]
def words(t):
    return re.sub(r"[^a-z0-9' ]", " ", t.lower().replace("-", " ")).split()
def wer(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))
table = {}
for line in open(rows):
    model, cond, who, secs, path = line.split()
    table.setdefault((model, cond, who), {"t": [], "path": path})["t"].append(float(secs))
print("| model | file | what | WER | wall (median) |")
print("|---|---|---|---|---|")
for (model, cond, who), v in table.items():
    ref = [w for p in json.loads((long / f"{cond}.json").read_text())["pieces"] for w in words(p["text"])]
    hyp = words(pathlib.Path(v["path"]).read_text())
    print(f"| {model} | {cond} | {who} | {100 * wer(ref, hyp):.1f} % | {statistics.median(v['t']):.2f} s |")
PY
