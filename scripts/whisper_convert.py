#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model (model.bin, spec format v6) to ONNX graphs.

Needs only numpy and onnx. The output directory receives:

  encoder.onnx   mel [1, n_mels, frames]            -> audio_features [1, frames/2, d]
  cross_kv.onnx  audio_features [1, T, d]           -> cross_k, cross_v [n_layer, 1, T, d]
  decoder.onnx   tokens [1, n], positions [n],
                 self_k, self_v [n_layer, 1, past, d],
                 cross_k, cross_v [n_layer, 1, T, d],
                 mask [n, past + n]                  -> logits [1, n, n_vocab],
                                                        new_self_k, new_self_v [n_layer, 1, past + n, d]
  model.json     model dimensions
  native-f16.safetensors, native-int8.safetensors
                 the same weights for the native engine (whisper_native.py)
  <vocab>.tiktoken and english.json, copied in

All graphs are opset 17, float32, and use only plain ops (MatMul, Add, Mul,
Erf, Softmax, LayerNormalization, Reshape, Transpose, Concat, Gather, Slice,
Shape, Conv, Unsqueeze) so that tract-onnx can run them.

If onnxruntime is importable, the graphs are then checked against the
independent numpy reference (whisper_numpy_ref.py) on a small random input,
decoding step by step with the KV cache; the script exits non-zero if the
largest absolute difference exceeds 1e-3.

Usage:
  whisper_convert.py --ct2-model PATH/model.bin --name tiny.en \
      --vocab PATH/gpt2.tiktoken --english-json PATH/english.json --out DIR
"""

import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from whisper_native import write_native  # noqa: E402

OPSET = 17
# IR version 8 is the one that goes with opset 17; older readers accept it.
IR_VERSION = 8
LAYER_NORM_EPS = 1e-5
SELF_CHECK_TOLERANCE = 1e-3
# A large negative number used for masked attention positions.
MASK_NEG = -1e9

# ---------------------------------------------------------------------------
# CTranslate2 model.bin reader
# ---------------------------------------------------------------------------

CT2_DTYPES = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
}


class Ct2Reader:
    """Sequential little-endian reader over the bytes of a model.bin file."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, fmt):
        """Read one struct-formatted value (little-endian)."""
        size = struct.calcsize("<" + fmt)
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return value

    def read_string(self):
        """Read a uint16-length-prefixed string that ends with a NUL byte."""
        length = self.read("H")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.rstrip(b"\0").decode("utf-8")

    def read_bytes(self, count):
        """Read `count` raw bytes."""
        raw = self.data[self.pos : self.pos + count]
        if len(raw) != count:
            raise ValueError("model.bin is truncated")
        self.pos += count
        return raw


def read_ct2_model(path):
    """Read a CTranslate2 v6 model.bin and return {variable name: numpy array}.

    Arrays keep their stored dtype (float16 weights, int16/int8 scalars).
    Aliases (e.g. the tied decoder/projection/weight) are resolved to the
    same array object as their target.
    """
    reader = Ct2Reader(Path(path).read_bytes())
    version = reader.read("I")
    if version != 6:
        raise ValueError(f"unsupported CTranslate2 model version {version} (expected 6)")
    spec_name = reader.read_string()
    if spec_name != "WhisperSpec":
        raise ValueError(f"not a Whisper model: spec is {spec_name!r}")
    reader.read("I")  # spec revision
    variables = {}
    for _ in range(reader.read("I")):
        name = reader.read_string()
        rank = reader.read("B")
        dims = [reader.read("I") for _ in range(rank)]
        dtype_id = reader.read("B")
        num_bytes = reader.read("I")
        if dtype_id not in CT2_DTYPES:
            raise ValueError(f"variable {name}: unsupported dtype id {dtype_id}")
        array = np.frombuffer(reader.read_bytes(num_bytes), dtype=CT2_DTYPES[dtype_id])
        variables[name] = array.reshape(dims)
    for _ in range(reader.read("I")):
        alias = reader.read_string()
        target = reader.read_string()
        variables[alias] = variables[target]
    if reader.pos != len(reader.data):
        raise ValueError("trailing bytes after the alias table in model.bin")
    return variables


def model_dims(weights, name, vocab_file):
    """Derive the model.json dimensions from the weights."""
    n_vocab, n_text_state = weights["decoder/embeddings/weight"].shape
    n_audio_state, n_mels, _ = weights["encoder/conv1/weight"].shape
    return {
        "name": name,
        "n_mels": int(n_mels),
        "n_vocab": int(n_vocab),
        "n_audio_ctx": int(weights["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": int(weights["encoder/num_heads"]),
        "n_audio_layer": count_layers(weights, "encoder"),
        "n_text_ctx": int(weights["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": int(weights["decoder/num_heads"]),
        "n_text_layer": count_layers(weights, "decoder"),
        "multilingual": bool(n_vocab >= 51865),
        "vocab_file": vocab_file,
    }


def count_layers(weights, prefix):
    """Count the layer_<i> blocks under `prefix` (encoder or decoder)."""
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in weights:
        count += 1
    return count


def check_whisper_flags(weights):
    """Reject CTranslate2 options this converter does not implement."""
    expected = {
        "decoder/pre_norm": 1,
        "decoder/scale_embeddings": 0,
        "decoder/alibi": 0,
        "decoder/start_from_zero_embedding": 0,
    }
    for name, value in expected.items():
        if name in weights and int(weights[name]) != value:
            raise ValueError(f"unsupported model option {name}={int(weights[name])}")


def f32(array):
    """Return a float32 copy of a weight array."""
    return np.asarray(array, dtype=np.float32)


# ---------------------------------------------------------------------------
# ONNX graph building
# ---------------------------------------------------------------------------


class GraphBuilder:
    """Collects ONNX nodes and initializers with unique, readable names."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def fresh(self, hint):
        """A new unique tensor name."""
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, array, hint):
        """Add a constant tensor (initializer) and return its name."""
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def const_i64(self, values, hint="shape"):
        """Add an int64 constant (a shape, axes, index...)."""
        return self.const(np.array(values, dtype=np.int64), hint)

    def op(self, op_type, inputs, hint=None, output=None, **attrs):
        """Add one node with a single output and return the output name."""
        out = output or self.fresh(hint or op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=self.fresh("n_" + op_type), **attrs)
        )
        return out

    def to_model(self, name, inputs, outputs):
        """Assemble and check the final ModelProto."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="perceptd-whisper-convert",
        )
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model


def tensor_input(name, elem_type, dims):
    """A graph input/output declaration; string dims are symbolic."""
    return helper.make_tensor_value_info(name, elem_type, dims)


def add_layer_norm(g, x, weights, prefix, output=None):
    """LayerNormalization over the last axis with gamma/beta from `prefix`."""
    gamma = g.const(f32(weights[prefix + "/gamma"]), "ln_gamma")
    beta = g.const(f32(weights[prefix + "/beta"]), "ln_beta")
    return g.op("LayerNormalization", [x, gamma, beta], "ln", output=output,
                axis=-1, epsilon=LAYER_NORM_EPS)


def add_linear(g, x, weight, bias, hint):
    """y = x @ weight^T + bias, with weight stored [out, in] as in CTranslate2.

    The bias is skipped when it is all zeros (Whisper's key projections).
    """
    y = g.op("MatMul", [x, g.const(f32(weight).T.copy(), hint + "_w")], hint)
    if bias is not None and np.any(bias):
        y = g.op("Add", [y, g.const(f32(bias), hint + "_b")], hint)
    return y


def add_gelu(g, x):
    """Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))."""
    scaled = g.op("Mul", [x, g.const(np.array(1.0 / np.sqrt(2.0), np.float32), "inv_sqrt2")])
    erf = g.op("Erf", [scaled])
    one_plus = g.op("Add", [erf, g.const(np.array(1.0, np.float32), "one")])
    half_x = g.op("Mul", [x, g.const(np.array(0.5, np.float32), "half")])
    return g.op("Mul", [half_x, one_plus], "gelu")


def split_heads(g, x, n_head, d_head):
    """[1, L, d] -> [1, H, L, dh]."""
    shaped = g.op("Reshape", [x, g.const_i64([0, -1, n_head, d_head])], "heads")
    return g.op("Transpose", [shaped], "heads_t", perm=[0, 2, 1, 3])


def merge_heads(g, x, d_model):
    """[1, H, L, dh] -> [1, L, d]."""
    swapped = g.op("Transpose", [x], "merge_t", perm=[0, 2, 1, 3])
    return g.op("Reshape", [swapped, g.const_i64([0, -1, d_model])], "merged")


def add_attention(g, q, k, v, n_head, d_model, mask=None, few_queries=False):
    """Multi-head attention on already projected q, k, v, each [1, L, d].

    The 1/sqrt(d_head) scale must already be folded into q. `mask`, if
    given, is added to the [1, H, Lq, Lk] scores.

    With few_queries (the decoder: a few new tokens against a long audio or
    cache), the scores are computed as (K_h q_h^T)^T, so only the small
    query and score tensors are transposed, never the long keys. In tract
    0.23.9 this made a tiny.en decoder step about 1.3x faster. The encoder,
    where queries and keys are equally long, uses q_h K_h^T directly.

    Returns the merged heads [1, Lq, d] before the output projection.
    """
    d_head = d_model // n_head
    qh = split_heads(g, q, n_head, d_head)  # [1, H, Lq, dh]
    kh = split_heads(g, k, n_head, d_head)  # [1, H, Lk, dh]
    vh = split_heads(g, v, n_head, d_head)  # [1, H, Lk, dh]
    if few_queries:
        q_t = g.op("Transpose", [qh], "q_t", perm=[0, 1, 3, 2])  # [1, H, dh, Lq]
        scores_t = g.op("MatMul", [kh, q_t], "scores_t")  # [1, H, Lk, Lq]
        scores = g.op("Transpose", [scores_t], "scores", perm=[0, 1, 3, 2])
    else:
        k_t = g.op("Transpose", [kh], "k_t", perm=[0, 1, 3, 2])  # [1, H, dh, Lk]
        scores = g.op("MatMul", [qh, k_t], "scores")  # [1, H, Lq, Lk]
    if mask is not None:
        scores = g.op("Add", [scores, mask], "scores_masked")
    probs = g.op("Softmax", [scores], "probs", axis=-1)
    return merge_heads(g, g.op("MatMul", [probs, vh], "context"), d_model)


def split_fused(weight, bias, parts):
    """Split a fused [parts*d, d] projection (and its bias) into `parts` pieces."""
    weights = np.split(f32(weight), parts, axis=0)
    biases = np.split(f32(bias), parts, axis=0)
    return list(zip(weights, biases))


def add_ffn(g, x, weights, prefix):
    """Pre-LN feed-forward residual branch: linear_1(GELU(linear_0(LN(x))))."""
    h = add_layer_norm(g, x, weights, prefix + "/layer_norm")
    h = add_linear(g, h, weights[prefix + "/linear_0/weight"], weights[prefix + "/linear_0/bias"], "ffn_up")
    h = add_gelu(g, h)
    return add_linear(g, h, weights[prefix + "/linear_1/weight"], weights[prefix + "/linear_1/bias"], "ffn_down")


def build_encoder(weights, dims):
    """encoder.onnx: mel [1, n_mels, frames] -> audio_features [1, frames/2, d]."""
    g = GraphBuilder()
    d, n_head = dims["n_audio_state"], dims["n_audio_head"]
    scale = (d // n_head) ** -0.5

    x = g.op(
        "Conv",
        ["mel", g.const(f32(weights["encoder/conv1/weight"]), "conv1_w"),
         g.const(f32(weights["encoder/conv1/bias"]), "conv1_b")],
        "conv1", kernel_shape=[3], pads=[1, 1], strides=[1],
    )
    x = add_gelu(g, x)
    x = g.op(
        "Conv",
        [x, g.const(f32(weights["encoder/conv2/weight"]), "conv2_w"),
         g.const(f32(weights["encoder/conv2/bias"]), "conv2_b")],
        "conv2", kernel_shape=[3], pads=[1, 1], strides=[2],
    )
    x = add_gelu(g, x)
    x = g.op("Transpose", [x], "frames_first", perm=[0, 2, 1])  # [1, T, d]

    # Positional encodings sliced to the actual number of frames T.
    t_len = g.op("Gather", [g.op("Shape", [x]), g.const_i64([1], "axis1")], "t_len", axis=0)
    positions = g.op(
        "Slice",
        [g.const(f32(weights["encoder/position_encodings/encodings"]), "enc_pos"),
         g.const_i64([0], "zero"), t_len, g.const_i64([0], "axis0")],
        "pos_slice",
    )
    x = g.op("Add", [x, positions], "x_pos")

    for i in range(dims["n_audio_layer"]):
        prefix = f"encoder/layer_{i}"
        att = prefix + "/self_attention"
        h = add_layer_norm(g, x, weights, att + "/layer_norm")
        (wq, bq), (wk, bk), (wv, bv) = split_fused(
            weights[att + "/linear_0/weight"], weights[att + "/linear_0/bias"], 3)
        q = add_linear(g, h, wq * scale, bq * scale, "q")
        k = add_linear(g, h, wk, bk, "k")
        v = add_linear(g, h, wv, bv, "v")
        ctx = add_attention(g, q, k, v, n_head, d)
        out = add_linear(g, ctx, weights[att + "/linear_1/weight"], weights[att + "/linear_1/bias"], "attn_out")
        x = g.op("Add", [x, out], "res_attn")
        x = g.op("Add", [x, add_ffn(g, x, weights, prefix + "/ffn")], "res_ffn")

    add_layer_norm(g, x, weights, "encoder/layer_norm", output="audio_features")
    return g.to_model(
        "whisper_encoder",
        [tensor_input("mel", TensorProto.FLOAT, [1, dims["n_mels"], "frames"])],
        # Conv arithmetic: floor((frames - 1) / 2) + 1, i.e. frames/2 for even frames.
        [tensor_input("audio_features", TensorProto.FLOAT, [1, "floor(frames/2 - 1/2) + 1", d])],
    )


def cross_kv_weights(weights, layer):
    """The (k, v) weight/bias pairs of one decoder layer's cross-attention."""
    prefix = f"decoder/layer_{layer}/attention/linear_1"
    return split_fused(weights[prefix + "/weight"], weights[prefix + "/bias"], 2)


def build_cross_kv(weights, dims):
    """cross_kv.onnx: audio_features [1, T, d] -> per decoder layer i, cross_k_i [H, dh, T] (keys,
    already transposed for q.k^T) and cross_v_i [H, T, dh].

    The heads are split once per window here, so a decoder step reads each layer's keys and values
    in place: no per-step slice, reshape or transpose of the T x d audio tensors.
    """
    g = GraphBuilder()
    d, n_head = dims["n_text_state"], dims["n_text_head"]
    d_head = d // n_head
    outputs = []
    for i in range(dims["n_text_layer"]):
        (wk, bk), (wv, bv) = cross_kv_weights(weights, i)
        k = g.op("Reshape", [add_linear(g, "audio_features", wk, bk, "xk"), g.const_i64([-1, n_head, d_head])], "xk_h")
        g.op("Transpose", [k], output=f"cross_k_{i}", perm=[1, 2, 0])  # [H, dh, T]
        v = g.op("Reshape", [add_linear(g, "audio_features", wv, bv, "xv"), g.const_i64([-1, n_head, d_head])], "xv_h")
        g.op("Transpose", [v], output=f"cross_v_{i}", perm=[1, 0, 2])  # [H, T, dh]
        outputs += [tensor_input(f"cross_k_{i}", TensorProto.FLOAT, [n_head, d_head, "T"]),
                    tensor_input(f"cross_v_{i}", TensorProto.FLOAT, [n_head, "T", d_head])]
    return g.to_model(
        "whisper_cross_kv",
        [tensor_input("audio_features", TensorProto.FLOAT, [1, "T", d])],
        outputs,
    )


def add_cross_attention(g, q, layer, n_head, d_model):
    """Attention of q [1, n, d] (scale folded in) over layer `layer`'s head-split audio keys and
    values (cross_k_i [H, dh, T], cross_v_i [H, T, dh]); returns [1, n, d]."""
    d_head = d_model // n_head
    qh = g.op("Reshape", [q, g.const_i64([-1, n_head, d_head])], "xq_h")  # [n, H, dh]
    qh = g.op("Transpose", [qh], "xq_t", perm=[1, 0, 2])  # [H, n, dh]
    scores = g.op("MatMul", [qh, f"cross_k_{layer}"], "x_scores")  # [H, n, T]
    probs = g.op("Softmax", [scores], "x_probs", axis=-1)
    ctx = g.op("MatMul", [probs, f"cross_v_{layer}"], "x_ctx")  # [H, n, dh]
    ctx = g.op("Transpose", [ctx], "x_ctx_t", perm=[1, 0, 2])  # [n, H, dh]
    return g.op("Reshape", [ctx, g.const_i64([1, -1, d_model])], "x_merged")


def build_decoder(weights, dims):
    """decoder.onnx: one incremental decoding call over n new tokens.

    The tied token embedding is stored twice: [n_vocab, d] for the input
    lookup (Gather) and transposed, [d, n_vocab], for the output projection.
    tract only pre-packs a MatMul weight that no other op uses; sharing one
    constant between the Gather and the MatMul (directly or through a
    Transpose) made the logits MatMul ~20x slower (a whole tiny.en decoder
    step ~4x slower) in tract 0.23.9.
    """
    g = GraphBuilder()
    d, n_head = dims["n_text_state"], dims["n_text_head"]
    n_layer, n_vocab = dims["n_text_layer"], dims["n_vocab"]
    scale = (d // n_head) ** -0.5

    embedding = f32(weights["decoder/embeddings/weight"])  # [n_vocab, d]
    tok = g.op("Gather", [g.const(embedding, "embed"), "tokens"], "tok_emb", axis=0)  # [1, n, d]
    pos = g.op(
        "Gather",
        [g.const(f32(weights["decoder/position_encodings/encodings"]), "dec_pos"), "positions"],
        "pos_emb", axis=0,
    )  # [n, d]
    x = g.op("Add", [tok, pos], "x_emb")

    axis0 = g.const_i64([0], "axis0")
    new_ks, new_vs = [], []
    for i in range(n_layer):
        prefix = f"decoder/layer_{i}"
        layer_index = g.const(np.array(i, dtype=np.int64), "layer")

        # Causal self-attention with the KV cache.
        att = prefix + "/self_attention"
        h = add_layer_norm(g, x, weights, att + "/layer_norm")
        (wq, bq), (wk, bk), (wv, bv) = split_fused(
            weights[att + "/linear_0/weight"], weights[att + "/linear_0/bias"], 3)
        q = add_linear(g, h, wq * scale, bq * scale, "q")
        k_new = add_linear(g, h, wk, bk, "k")
        v_new = add_linear(g, h, wv, bv, "v")
        k_past = g.op("Gather", ["self_k", layer_index], "k_past", axis=0)  # [1, past, d]
        v_past = g.op("Gather", ["self_v", layer_index], "v_past", axis=0)
        k_all = g.op("Concat", [k_past, k_new], "k_all", axis=1)  # [1, past + n, d]
        v_all = g.op("Concat", [v_past, v_new], "v_all", axis=1)
        new_ks.append(g.op("Unsqueeze", [k_all, axis0], "k_all_l"))
        new_vs.append(g.op("Unsqueeze", [v_all, axis0], "v_all_l"))
        ctx = add_attention(g, q, k_all, v_all, n_head, d, mask="mask", few_queries=True)
        out = add_linear(g, ctx, weights[att + "/linear_1/weight"], weights[att + "/linear_1/bias"], "self_out")
        x = g.op("Add", [x, out], "res_self")

        # Cross-attention over the precomputed audio keys/values.
        cross = prefix + "/attention"
        h = add_layer_norm(g, x, weights, cross + "/layer_norm")
        q = add_linear(g, h, f32(weights[cross + "/linear_0/weight"]) * scale,
                       f32(weights[cross + "/linear_0/bias"]) * scale, "xq")
        ctx = add_cross_attention(g, q, i, n_head, d)
        out = add_linear(g, ctx, weights[cross + "/linear_2/weight"], weights[cross + "/linear_2/bias"], "cross_out")
        x = g.op("Add", [x, out], "res_cross")

        x = g.op("Add", [x, add_ffn(g, x, weights, prefix + "/ffn")], "res_ffn")

    x = add_layer_norm(g, x, weights, "decoder/layer_norm")
    g.op("MatMul", [x, g.const(embedding.T.copy(), "embed_t")], output="logits")
    g.op("Concat", new_ks, output="new_self_k", axis=0)
    g.op("Concat", new_vs, output="new_self_v", axis=0)

    return g.to_model(
        "whisper_decoder",
        [
            tensor_input("tokens", TensorProto.INT64, [1, "n"]),
            tensor_input("positions", TensorProto.INT64, ["n"]),
            tensor_input("self_k", TensorProto.FLOAT, [n_layer, 1, "past", d]),
            tensor_input("self_v", TensorProto.FLOAT, [n_layer, 1, "past", d]),
            tensor_input("mask", TensorProto.FLOAT, ["n", "past + n"]),
        ] + [
            tensor_input(f"cross_{kind}_{i}", TensorProto.FLOAT,
                         [n_head, d // n_head, "T"] if kind == "k" else [n_head, "T", d // n_head])
            for i in range(n_layer) for kind in ("k", "v")
        ],
        [
            tensor_input("logits", TensorProto.FLOAT, [1, "n", n_vocab]),
            tensor_input("new_self_k", TensorProto.FLOAT, [n_layer, 1, "past + n", d]),
            tensor_input("new_self_v", TensorProto.FLOAT, [n_layer, 1, "past + n", d]),
        ],
    )


# ---------------------------------------------------------------------------
# Self-check with onnxruntime
# ---------------------------------------------------------------------------


def causal_mask(n_new, past):
    """Additive mask [n_new, past + n_new]: new token i sees cache and tokens <= i."""
    mask = np.zeros((n_new, past + n_new), dtype=np.float32)
    for i in range(n_new):
        mask[i, past + i + 1 :] = MASK_NEG
    return mask


def run_onnx_decode(sessions, dims, mel, tokens, prompt_len=2):
    """Run encoder, cross_kv and decoder step by step with onnxruntime.

    The first `prompt_len` tokens go in one decoder call with an empty cache
    (past = 0); every further token is its own call over one position.
    Returns (audio_features [1, T, d], logits [1, len(tokens), n_vocab]).
    """
    (audio,) = sessions["encoder"].run(None, {"mel": mel})
    cross_names = [o.name for o in sessions["cross_kv"].get_outputs()]
    cross = dict(zip(cross_names, sessions["cross_kv"].run(None, {"audio_features": audio})))
    n_layer, d = dims["n_text_layer"], dims["n_text_state"]
    self_k = np.zeros((n_layer, 1, 0, d), dtype=np.float32)
    self_v = np.zeros((n_layer, 1, 0, d), dtype=np.float32)
    chunks = [tokens[:prompt_len]] + [[t] for t in tokens[prompt_len:]]
    all_logits = []
    past = 0
    for chunk in chunks:
        n = len(chunk)
        logits, self_k, self_v = sessions["decoder"].run(None, {
            "tokens": np.array([chunk], dtype=np.int64),
            "positions": np.arange(past, past + n, dtype=np.int64),
            "self_k": self_k,
            "self_v": self_v,
            "mask": causal_mask(n, past),
            **cross,
        })
        all_logits.append(logits)
        past += n
    return audio, np.concatenate(all_logits, axis=1)


def load_sessions(out_dir, threads=1):
    """Open the three graphs of a converted model with onnxruntime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return {
        part: ort.InferenceSession(str(Path(out_dir) / f"{part}.onnx"), options,
                                   providers=["CPUExecutionProvider"])
        for part in ("encoder", "cross_kv", "decoder")
    }


def self_check(weights, dims, out_dir):
    """Compare the ONNX graphs with the numpy reference; return True if they agree."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("[convert] onnxruntime not available: skipping self-check")
        return True
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from whisper_numpy_ref import WhisperReference

    rng = np.random.default_rng(1234)
    mel = rng.normal(-0.2, 0.4, size=(1, dims["n_mels"], 60)).astype(np.float32)
    sot = 50258 if dims["multilingual"] else 50257
    tokens = [sot] + [int(t) for t in rng.integers(0, 50000, size=4)]

    reference = WhisperReference(weights)
    ref_audio = reference.encode(mel)
    ref_logits = reference.decode_logits(tokens, ref_audio)
    audio, logits = run_onnx_decode(load_sessions(out_dir), dims, mel, tokens)

    audio_err = float(np.max(np.abs(audio - ref_audio)))
    logits_err = float(np.max(np.abs(logits - ref_logits)))
    print(f"[convert] self-check: audio_features max abs err {audio_err:.3g}, "
          f"logits max abs err {logits_err:.3g} (tolerance {SELF_CHECK_TOLERANCE})")
    return max(audio_err, logits_err) <= SELF_CHECK_TOLERANCE


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def save_model(model, path):
    """Write an ONNX model to disk."""
    onnx.save_model(model, str(path))
    print(f"[convert] wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ct2-model", required=True, type=Path, help="CTranslate2 model.bin")
    parser.add_argument("--name", required=True, help="model name, e.g. tiny.en")
    parser.add_argument("--vocab", required=True, type=Path, help="tiktoken vocabulary file to copy in")
    parser.add_argument("--english-json", required=True, type=Path, help="whisper english.json to copy in")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--skip-self-check", action="store_true", help="do not run the onnxruntime check")
    return parser.parse_args(argv)


def main(argv=None):
    """Convert, write the output directory, and self-check."""
    args = parse_args(argv)
    weights = read_ct2_model(args.ct2_model)
    check_whisper_flags(weights)
    dims = model_dims(weights, args.name, args.vocab.name)
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"[convert] {args.name}: {dims['n_audio_layer']}+{dims['n_text_layer']} layers, "
          f"d={dims['n_text_state']}, vocab {dims['n_vocab']}")
    save_model(build_encoder(weights, dims), args.out / "encoder.onnx")
    save_model(build_cross_kv(weights, dims), args.out / "cross_kv.onnx")
    save_model(build_decoder(weights, dims), args.out / "decoder.onnx")
    (args.out / "model.json").write_text(json.dumps(dims, indent=2) + "\n")
    write_native(weights, dims, args.out)
    shutil.copyfile(args.vocab, args.out / args.vocab.name)
    shutil.copyfile(args.english_json, args.out / "english.json")

    if not args.skip_self_check and not self_check(weights, dims, args.out):
        print("[convert] error: ONNX graphs disagree with the numpy reference", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
