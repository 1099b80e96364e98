#!/usr/bin/env python3
"""Write a CTranslate2 Whisper model's weights for perceptd's native engine (safetensors).

Called by whisper_convert.py; needs only numpy. Two files go into the model directory:

  native-f16.safetensors   every tensor in float16, exactly as CTranslate2 stores them
                           (the native engine's `precision = "f32"` widens them at load)
  native-int8.safetensors  every decoder linear weight (and the tied embedding) quantized once,
                           per output row: `<name>.q8` int8 [n, k] and `<name>.scale` float32 [n],
                           scale = max|row| / 127, q = round-half-even(w / scale) clamped to
                           -127..127; every other tensor float16 as above, the encoder's linear
                           weights included (the engine runs the encoder in f32: with int8
                           products whisper-base's encoder lost the meaning of a German test
                           sentence, see BENCHMARKS.md)

Tensor names (per layer i; `.weight` is [out, in], PyTorch/CTranslate2 layout):

  encoder.conv1.weight [d, n_mels, 3], encoder.conv1.bias, encoder.conv2.weight [d, d, 3], .bias
  encoder.pos [n_audio_ctx, d]
  encoder.{i}.attn_ln.gamma/.beta, encoder.{i}.qkv.weight [3d, d]/.bias,
  encoder.{i}.attn_out.weight/.bias, encoder.{i}.mlp_ln.gamma/.beta,
  encoder.{i}.fc1.weight [4d, d]/.bias, encoder.{i}.fc2.weight [d, 4d]/.bias
  encoder.ln.gamma/.beta
  decoder.embed [n_vocab, d] (tied: also the output projection), decoder.pos [n_text_ctx, d]
  decoder.{i}.self_ln, decoder.{i}.self_qkv, decoder.{i}.self_out,
  decoder.{i}.cross_ln, decoder.{i}.cross_q, decoder.{i}.cross_kv [2d, d], decoder.{i}.cross_out,
  decoder.{i}.mlp_ln, decoder.{i}.fc1, decoder.{i}.fc2
  decoder.ln.gamma/.beta

The attention scale 1/sqrt(d_head) is folded into the query rows (qkv rows 0..d, cross_q); with
d_head = 64 it is 1/8, a power of two, so the float16 values stay exact. The key projections have
no bias in Whisper: their bias rows are zeros.

The header's __metadata__ holds "format": "perceptd-whisper-native", "version": "1" and
"precision". safetensors layout: u64 little-endian header length, the JSON header, then the data,
each tensor 64-byte aligned.
"""

import json
import struct

import numpy as np

FORMAT = "perceptd-whisper-native"
VERSION = "1"
ALIGN = 64
DTYPES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.int8): "I8"}


def f16(array):
    """A float16 copy (CTranslate2 weights are already float16: exact)."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.float32).astype(np.float16))


def quantize_rows(weight):
    """Per-output-row symmetric int8: (q int8 [n, k], scale float32 [n])."""
    w = np.asarray(weight, dtype=np.float32)
    amax = np.max(np.abs(w), axis=1)
    scale = (amax / 127.0).astype(np.float32)
    inv = np.where(amax > 0, 127.0 / np.where(amax > 0, amax, 1.0), 0.0).astype(np.float32)
    q = np.clip(np.round(w * inv[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q), scale


def native_tensors(weights, dims):
    """{name: (kind, array)} with kind "linear" (quantized in the int8 file) or "plain"."""
    out = {}
    d_head = dims["n_text_state"] // dims["n_text_head"]
    scale = np.float32(d_head ** -0.5)

    def plain(name, array):
        out[name] = ("plain", np.asarray(array, dtype=np.float32))

    def linear(name, weight, bias, q_rows=0):
        w = np.array(weight, dtype=np.float32)
        b = np.array(bias, dtype=np.float32) if bias is not None else np.zeros(w.shape[0], np.float32)
        w[:q_rows] *= scale
        b[:q_rows] *= scale
        out[name + ".weight"] = ("linear", w)
        out[name + ".bias"] = ("plain", b)

    def norm(name, prefix):
        plain(name + ".gamma", weights[prefix + "/gamma"])
        plain(name + ".beta", weights[prefix + "/beta"])

    def ct2_linear(name, prefix, q_rows=0):
        linear(name, weights[prefix + "/weight"], weights.get(prefix + "/bias"), q_rows)

    for conv in ("conv1", "conv2"):
        plain(f"encoder.{conv}.weight", weights[f"encoder/{conv}/weight"])
        plain(f"encoder.{conv}.bias", weights[f"encoder/{conv}/bias"])
    plain("encoder.pos", weights["encoder/position_encodings/encodings"])
    d = dims["n_audio_state"]
    for i in range(dims["n_audio_layer"]):
        p = f"encoder/layer_{i}"
        norm(f"encoder.{i}.attn_ln", p + "/self_attention/layer_norm")
        ct2_linear(f"encoder.{i}.qkv", p + "/self_attention/linear_0", q_rows=d)
        ct2_linear(f"encoder.{i}.attn_out", p + "/self_attention/linear_1")
        norm(f"encoder.{i}.mlp_ln", p + "/ffn/layer_norm")
        ct2_linear(f"encoder.{i}.fc1", p + "/ffn/linear_0")
        ct2_linear(f"encoder.{i}.fc2", p + "/ffn/linear_1")
    norm("encoder.ln", "encoder/layer_norm")

    out["decoder.embed"] = ("linear", np.asarray(weights["decoder/embeddings/weight"], np.float32))
    plain("decoder.pos", weights["decoder/position_encodings/encodings"])
    d = dims["n_text_state"]
    for i in range(dims["n_text_layer"]):
        p = f"decoder/layer_{i}"
        norm(f"decoder.{i}.self_ln", p + "/self_attention/layer_norm")
        ct2_linear(f"decoder.{i}.self_qkv", p + "/self_attention/linear_0", q_rows=d)
        ct2_linear(f"decoder.{i}.self_out", p + "/self_attention/linear_1")
        norm(f"decoder.{i}.cross_ln", p + "/attention/layer_norm")
        ct2_linear(f"decoder.{i}.cross_q", p + "/attention/linear_0", q_rows=d)
        ct2_linear(f"decoder.{i}.cross_kv", p + "/attention/linear_1")
        ct2_linear(f"decoder.{i}.cross_out", p + "/attention/linear_2")
        norm(f"decoder.{i}.mlp_ln", p + "/ffn/layer_norm")
        ct2_linear(f"decoder.{i}.fc1", p + "/ffn/linear_0")
        ct2_linear(f"decoder.{i}.fc2", p + "/ffn/linear_1")
    norm("decoder.ln", "decoder/layer_norm")
    return out


def write_safetensors(path, tensors, metadata):
    """Write {name: array} as safetensors, each tensor's data 64-byte aligned."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        pad = (-offset) % ALIGN
        blobs.append(b"\0" * pad)
        offset += pad
        data = array.tobytes()
        header[name] = {"dtype": DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((-(8 + len(raw))) % ALIGN)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def write_native(weights, dims, out_dir):
    """Write native-f16.safetensors and native-int8.safetensors into out_dir."""
    tensors = native_tensors(weights, dims)
    meta = {"format": FORMAT, "version": VERSION, "model": dims["name"]}
    full = {name: f16(array) for name, (_, array) in tensors.items()}
    write_safetensors(out_dir / "native-f16.safetensors", full, {**meta, "precision": "f16"})
    int8 = {}
    for name, (kind, array) in tensors.items():
        if kind == "linear" and name.startswith("decoder."):
            # Quantize what the f16 file holds, so both precisions start from the same values.
            int8[name + ".q8"], int8[name + ".scale"] = quantize_rows(full[name])
        else:
            int8[name] = full[name]
    write_safetensors(out_dir / "native-int8.safetensors", int8, {**meta, "precision": "int8"})
    for name in ("native-f16.safetensors", "native-int8.safetensors"):
        size = (out_dir / name).stat().st_size
        print(f"[convert] wrote {out_dir / name} ({size / 1e6:.1f} MB)")
