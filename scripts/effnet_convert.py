#!/usr/bin/env python3
"""Convert the EfficientNet-Lite0 torch checkpoint to ONNX, and write ImageNet labels.

Input: efficientnet-lite0-57934424.pth, a legacy (non-zip) torch state dict
in the EfficientNet-PyTorch layout, read without torch by torch_legacy.py.
The architecture is inferred from the tensor names and shapes (MBConv blocks:
optional expand 1x1, depthwise kxk, project 1x1; residual when the stride is 1
and the channel count is kept) and checked against the EfficientNet-Lite0
stage table, which also gives the strides (they are not in the weights).
Batch norm (eps 1e-3) is folded into each convolution; padding is TF "SAME",
computed for a 224x224 input (asymmetric: the extra pixel goes bottom/right);
ReLU6 is Clip(0, 6).

The output directory receives:

  model.onnx   input  f32 [1, 3, 224, 224] (NCHW, normalised RGB)
               -> logits    f32 [1, 1000]
                  embedding f32 [1, 1280]  (global average pool before the classifier)
  labels.txt   1000 lines, line i = the first lemma of ImageNet class i

The graph is opset 17 and uses only Conv, Clip, Add, GlobalAveragePool,
Flatten and Gemm. Unless --skip-self-check is given (or onnxruntime is not
importable), the graph is run with onnxruntime on a fixed-seed random input
and compared with the float64 numpy reference (effnet_numpy_ref.py); the
script exits non-zero if the largest absolute difference exceeds 1e-4.

Usage:
  effnet_convert.py --pth PATH/efficientnet-lite0-57934424.pth \
      --synsets PATH/imagenet_synsets.txt --lemmas PATH/imagenet_synset_to_lemma.txt --out DIR
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from effnet_numpy_ref import BN_EPS, EffnetReference, same_pads
from torch_legacy import LegacyFormatError, load_state_dict

OPSET = 17
IR_VERSION = 8
INPUT_SIZE = 224
NUM_CLASSES = 1000
EMBEDDING_DIM = 1280
EXPECTED_TENSORS = 296
SELF_CHECK_TOLERANCE = 1e-4
SELF_CHECK_SEED = 0

# EfficientNet-Lite0 stages: (kernel, output channels, repeats, stride of the first block).
LITE0_STAGES = [
    (3, 16, 1, 1),
    (3, 24, 2, 2),
    (5, 40, 2, 2),
    (3, 80, 3, 2),
    (5, 112, 3, 1),
    (5, 192, 4, 2),
    (3, 320, 1, 1),
]
STEM_CHANNELS = 32


class ConvertError(Exception):
    """The checkpoint does not look like EfficientNet-Lite0."""


# ---------------------------------------------------------------------------
# Architecture
# ---------------------------------------------------------------------------


def block_count(weights):
    """Number of _blocks.N entries."""
    ids = {int(name.split(".")[1]) for name in weights if name.startswith("_blocks.")}
    if ids != set(range(len(ids))):
        raise ConvertError(f"block indices are not contiguous: {sorted(ids)}")
    return len(ids)


def describe_block(weights, index):
    """Channels and kernel of one block, read from its weight shapes."""
    prefix = f"_blocks.{index}."
    depthwise = weights[prefix + "_depthwise_conv.weight"]
    project = weights[prefix + "_project_conv.weight"]
    expand = weights.get(prefix + "_expand_conv.weight")
    if prefix + "_se_reduce.weight" in weights:
        raise ConvertError(f"block {index} has squeeze-excitation: not an EfficientNet-Lite")
    mid, one, kernel, kernel_w = depthwise.shape
    if one != 1 or kernel != kernel_w:
        raise ConvertError(f"block {index}: depthwise weight shape {depthwise.shape} is not [C, 1, k, k]")
    in_ch = expand.shape[1] if expand is not None else mid
    return {"prefix": prefix, "expand": expand is not None, "kernel": kernel,
            "in": in_ch, "mid": mid, "out": project.shape[0]}


def infer_blocks(weights):
    """The MBConv blocks with stride and residual flags, checked against LITE0_STAGES."""
    blocks = [describe_block(weights, i) for i in range(block_count(weights))]
    expected = [(k, c) for k, c, repeats, _ in LITE0_STAGES for _ in range(repeats)]
    got = [(b["kernel"], b["out"]) for b in blocks]
    if got != expected:
        raise ConvertError(f"blocks (kernel, out) {got} do not match EfficientNet-Lite0 {expected}")
    channels = STEM_CHANNELS
    index = 0
    for _, _, repeats, stride in LITE0_STAGES:
        for repeat in range(repeats):
            block = blocks[index]
            if block["in"] != channels:
                raise ConvertError(f"block {index}: {block['in']} input channels, expected {channels}")
            block["stride"] = stride if repeat == 0 else 1
            block["residual"] = block["stride"] == 1 and block["in"] == block["out"]
            channels = block["out"]
            index += 1
    return blocks


# ---------------------------------------------------------------------------
# ONNX graph
# ---------------------------------------------------------------------------


def fold_bn(weights, conv, bn):
    """Conv weight and bias with the batch norm folded in, as float32."""
    weight = weights[conv + ".weight"].astype(np.float64)
    scale = weights[bn + ".weight"] / np.sqrt(weights[bn + ".running_var"].astype(np.float64) + BN_EPS)
    bias = weights[bn + ".bias"] - weights[bn + ".running_mean"] * scale
    return (weight * scale[:, None, None, None]).astype(np.float32), bias.astype(np.float32)


class GraphBuilder:
    """Collects nodes and initializers with unique names."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.count = 0

    def fresh(self, hint):
        """A new unique value name."""
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, array, hint):
        """Add an initializer and return its name."""
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, hint, output=None, **attrs):
        """Add a node and return its output name."""
        output = output or self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output


def add_conv(g, x, weights, conv, bn, size, stride=1, groups=1, act=True):
    """Conv (batch norm folded, TF SAME pads for a size x size input) and optional ReLU6."""
    weight, bias = fold_bn(weights, conv, bn)
    kernel = weight.shape[2]
    before, after = same_pads(size, kernel, stride)
    hint = conv.strip("_").replace(".", "_").replace("__", "_")
    y = g.op("Conv", [x, g.const(weight, hint + "_w"), g.const(bias, hint + "_b")], hint,
             kernel_shape=[kernel, kernel], strides=[stride, stride], group=groups,
             pads=[before, before, after, after])
    if not act:
        return y
    return g.op("Clip", [y, g.const(np.float32(0.0), "zero"), g.const(np.float32(6.0), "six")], hint + "_relu6")


def build_graph(weights, blocks):
    """The EfficientNet-Lite0 ONNX model with outputs logits and embedding."""
    g = GraphBuilder()
    size = INPUT_SIZE
    x = add_conv(g, "input", weights, "_conv_stem", "_bn0", size, stride=2)
    size = -(-size // 2)
    for block in blocks:
        p = block["prefix"]
        y = x
        if block["expand"]:
            y = add_conv(g, y, weights, p + "_expand_conv", p + "_bn0", size)
        y = add_conv(g, y, weights, p + "_depthwise_conv", p + "_bn1", size,
                     stride=block["stride"], groups=block["mid"])
        size = -(-size // block["stride"])
        y = add_conv(g, y, weights, p + "_project_conv", p + "_bn2", size, act=False)
        x = g.op("Add", [y, x], p.strip("_").replace(".", "_") + "residual") if block["residual"] else y
    x = add_conv(g, x, weights, "_conv_head", "_bn1", size)
    pooled = g.op("GlobalAveragePool", [x], "pool")
    g.op("Flatten", [pooled], "embedding", output="embedding", axis=1)
    fc_w = g.const(weights["_fc.weight"].astype(np.float32), "fc_w")
    fc_b = g.const(weights["_fc.bias"].astype(np.float32), "fc_b")
    g.op("Gemm", ["embedding", fc_w, fc_b], "logits", output="logits", transB=1)

    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, NUM_CLASSES]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, EMBEDDING_DIM])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="perceptd effnet_convert.py")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def read_labels(synsets_path, lemmas_path):
    """The first lemma of each ImageNet-1k class, in the synsets file's index order."""
    lemmas = {}
    for line in lemmas_path.read_text().splitlines():
        if line.strip():
            synset, _, lemma = line.partition("\t")
            lemmas[synset] = lemma.split(",")[0].strip()
    synsets = [s.strip() for s in synsets_path.read_text().splitlines() if s.strip()]
    if len(synsets) != NUM_CLASSES:
        raise ConvertError(f"{synsets_path}: must list {NUM_CLASSES} synsets, got {len(synsets)}")
    missing = [s for s in synsets if s not in lemmas]
    if missing:
        raise ConvertError(f"{lemmas_path}: no lemma for {missing[:5]}")
    return [lemmas[s] for s in synsets]


# ---------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------


def self_check(weights, blocks, model_path):
    """Compare onnxruntime with the numpy reference; returns the largest absolute difference."""
    import onnxruntime as ort

    image = np.random.default_rng(SELF_CHECK_SEED).standard_normal(
        (1, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    ref_logits, ref_embedding = EffnetReference(weights, blocks).forward(image)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    logits, embedding = session.run(["logits", "embedding"], {"input": image})
    return max(float(np.abs(logits - ref_logits).max()), float(np.abs(embedding - ref_embedding).max()))


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pth", required=True, type=Path, help="efficientnet-lite0 legacy torch checkpoint")
    parser.add_argument("--synsets", required=True, type=Path, help="timm imagenet_synsets.txt")
    parser.add_argument("--lemmas", required=True, type=Path, help="timm imagenet_synset_to_lemma.txt")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--skip-self-check", action="store_true", help="do not run the onnxruntime check")
    return parser.parse_args(argv)


def main(argv=None):
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        return convert(args)
    except (ConvertError, LegacyFormatError) as err:
        print(f"[convert] error: {err}", file=sys.stderr)
        return 1


def convert(args):
    """Convert, write the outputs and run the self-check; returns the exit status."""
    weights = load_state_dict(args.pth)
    if len(weights) != EXPECTED_TENSORS:
        raise ConvertError(f"{args.pth}: expected {EXPECTED_TENSORS} tensors, got {len(weights)}")
    blocks = infer_blocks(weights)
    model = build_graph(weights, blocks)
    labels = read_labels(args.synsets, args.lemmas)

    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "model.onnx"
    onnx.save(model, str(model_path))
    (args.out / "labels.txt").write_text("\n".join(labels) + "\n")
    params = sum(v.size for k, v in weights.items() if not k.endswith("num_batches_tracked"))
    print(f"[convert] {len(blocks)} blocks, {params} parameters -> {model_path}")

    if args.skip_self_check:
        return 0
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("[convert] onnxruntime not available: skipping self-check")
        return 0
    diff = self_check(weights, blocks, model_path)
    print(f"[convert] self-check: max abs difference onnxruntime vs numpy = {diff:.2e}")
    if diff > SELF_CHECK_TOLERANCE:
        print(f"[convert] self-check failed: {diff:.2e} > {SELF_CHECK_TOLERANCE:.0e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
