#!/usr/bin/env bash
# The camera path's speed for BENCHMARKS.md: perceptd (tract) next to onnxruntime on the same ONNX
# graphs, in the same run on this machine: EfficientNet-Lite0 (real weights) and the SYNTHETIC
# CLIP at full ViT-B/32 size (random weights, real architecture; its image tower).
#
#   scripts/bench_vision.sh [OUT_DIR]     # default: target dir/bench-out
#
# Needs `perceptd models fetch` (EfficientNet-Lite0, clip-assets and the tools venv).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -q --workspace
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
perceptd="$target_dir/debug/perceptd"
out="${1:-$target_dir/bench-out}"
mkdir -p "$out"
models="${PERCEPTD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/perceptd/models}"
"$perceptd" models fetch >/dev/null
py="$models/.tools-venv/bin/python"
image="$models/clip-assets/franz-kafka.jpg"

clip="$out/clip-synthetic-vit-b32"
if [ ! -f "$clip/vision_model.onnx" ]; then
  "$py" scripts/make_synthetic_clip.py --preset vit-b32 --out "$clip"
fi

echo "[bench] load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$perceptd" bench-vision --model efficientnet-lite0 --image "$image" --repeat 20 >"$out/vision-effnet.json"
"$py" scripts/bench_vision_reference.py --onnx "$models/efficientnet-lite0/model.onnx" --input input \
  --repeat 20 >"$out/vision-effnet-ort.json"
"$perceptd" bench-vision --model "$clip" --image "$image" --repeat 5 >"$out/vision-clip.json"
"$py" scripts/bench_vision_reference.py --onnx "$clip/vision_model.onnx" --input pixel_values \
  --repeat 5 >"$out/vision-clip-ort.json"
echo "[bench] load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name in ("effnet", "clip"):
    ours = json.loads((out / f"vision-{name}.json").read_text())
    ort = json.loads((out / f"vision-{name}-ort.json").read_text())
    print(f"{ours['model']}: preprocess {ours['preprocess_ms']:.2f} ms, decode {ours['decode_ms']:.2f} ms")
    for key, ort_key in (("model_single_thread_ms", "single_thread_ms"), ("model_pooled_ms", "pooled_ms")):
        print(f"  {key}: tract {ours[key]:.1f} ms, onnxruntime {ort[ort_key]:.1f} ms, "
              f"ratio {ours[key] / ort[ort_key]:.2f}x")
    print(f"  fps single thread {ours['fps_single_thread']:.1f}, pooled {ours['fps_pooled']:.1f}; "
          f"top label {ours['top_label']!r}")
PY
