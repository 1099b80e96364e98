#!/usr/bin/env bash
# Whole-process wall time and peak memory of `perceptd transcribe` against faster-whisper int8 on the
# same CTranslate2 weights, alternating runs on this machine (load, decode and exit included).
#
#   scripts/bench_process.sh [RUNS] [THREADS]      # defaults: 5 runs, 2 threads
#
# Needs what scripts/bench.sh makes (the release binary is built here): the faster-whisper venv and
# the CTranslate2 model directories under the bench output dir. Clips: the 11 s espeak-ng benchmark
# clip and a 30 s clip (the corpus' conversation, first 30 s). Prints one line per engine and clip:
# median wall time, median peak RSS, and the ratio to faster-whisper int8.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
threads="${2:-2}"

cargo build --locked -q --release -p perceptd
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/release/perceptd"
out="$target_dir/bench-out"
venv="${PERCEPTD_BENCH_VENV:-/var/tmp/perceptd-bench-venv}"
[ -x "$venv/bin/python" ] && [ -f "$out/ct2/tiny.en/model.bin" ] || {
  echo "run scripts/bench.sh first (it makes the faster-whisper venv and the CTranslate2 models)" >&2
  exit 1
}
mkdir -p "$out/process"
clip11="$out/speech/bench_11s.wav"
[ -f "$clip11" ] || scripts/make_speech.sh "$out/speech" >/dev/null
clip30="$out/process/conversation_30s.wav"
if [ ! -f "$clip30" ]; then
  python3 scripts/make_corpus.py "$out/process/corpus" --conditions conversation >/dev/null
  sox "$out/process/corpus/conversation.wav" "$clip30" trim 0 30
fi

# faster-whisper int8, greedy, the same options as bench_reference.py: CLIP THREADS MODEL_DIR
cat >"$out/process/fw.py" <<'PY'
import sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[3], device="cpu", compute_type="int8", cpu_threads=int(sys.argv[2]), num_workers=1)
segments, _ = model.transcribe(sys.argv[1], language="en", beam_size=1, best_of=1, temperature=0.0,
                               condition_on_previous_text=False, vad_filter=False)
print(" ".join(s.text.strip() for s in segments))
PY

measure() { # NAME CLIP CMD...: appends "wall_s rss_kb" to $out/process/NAME-CLIP.txt
  local name=$1 clip=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$out/process/time.txt" "$@" >"$out/process/last.out" 2>&1 ||
    { echo "failed: $*" >&2; cat "$out/process/last.out" >&2; exit 1; }
  cat "$out/process/time.txt" >>"$out/process/$name-$(basename "$clip" .wav).txt"
}

rm -f "$out"/process/*.txt
for clip in "$clip11" "$clip30"; do
  for _ in $(seq "$runs"); do
    measure faster-whisper-int8 "$clip" "$venv/bin/python" "$out/process/fw.py" "$clip" "$threads" "$out/ct2/tiny.en"
    for engine in "native int8" "native f32" "tract f32"; do
      set -- $engine
      measure "perceptd-$1-$2" "$clip" "$perceptd" transcribe --engine "$1" --precision "$2" --threads "$threads" "$clip"
    done
  done
done
python3 - "$out/process" <<'PY'
import pathlib, statistics, sys
d = pathlib.Path(sys.argv[1])
rows = {}
for f in sorted(d.glob("*.txt")):
    if f.name == "time.txt":
        continue
    name, clip = f.stem.rsplit("-", 1)[0], f.stem.rsplit("-", 1)[1]
    vals = [tuple(map(float, l.split())) for l in f.read_text().split("\n") if l.strip()]
    rows[(clip, name)] = (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals), len(vals))
for clip in sorted({c for c, _ in rows}):
    ref = rows.get((clip, "faster-whisper-int8"))
    for (c, name), (wall, rss, n) in sorted(rows.items()):
        if c != clip:
            continue
        ratio = f"{wall / ref[0]:.2f}x wall, {rss / ref[1]:.2f}x RSS" if ref else ""
        print(f"{clip:>20} {name:>22}: {wall:.2f} s, {rss / 1024:.0f} MiB peak RSS (median of {n}) {ratio}")
PY
