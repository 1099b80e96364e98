#!/usr/bin/env python3
"""Plain numpy forward pass of Whisper, straight from CTranslate2 weights.

This is the reference the ONNX graphs are checked against. It is written
independently of the ONNX builder in whisper_convert.py: it follows
openai-whisper's model.py directly, recomputes the whole token sequence on
every call (no KV cache), and works in float64.

Weights are a {name: array} dict as returned by
whisper_convert.read_ct2_model (CTranslate2 variable names, linear weights
stored [out, in], fused q;k;v self-attention and fused k;v cross-attention
projections).

    ref = WhisperReference(weights)
    audio = ref.encode(mel)                         # [1, frames/2, d]
    logits = ref.decode_logits(tokens, audio)       # [1, len(tokens), n_vocab]
"""

import math

import numpy as np

EPS = 1e-5

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """Exact (erf) GELU, as torch.nn.GELU() with its default approximation='none'."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta):
    """LayerNorm over the last axis, biased variance, eps 1e-5."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * gamma + beta


def softmax(x):
    """Numerically stable softmax over the last axis."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def conv1d(x, weight, bias, stride, padding):
    """1-D convolution of x [C_in, L] with weight [C_out, C_in, K]; returns [C_out, L_out]."""
    c_out, c_in, kernel = weight.shape
    padded = np.pad(x, ((0, 0), (padding, padding)))
    l_out = (padded.shape[1] - kernel) // stride + 1
    out = np.zeros((c_out, l_out))
    for j in range(kernel):
        # Input columns seen by tap j of every output position.
        taps = padded[:, j : j + stride * (l_out - 1) + 1 : stride]  # [C_in, L_out]
        out += weight[:, :, j] @ taps
    return out + bias[:, None]


class WhisperReference:
    """Whisper encoder and decoder evaluated with numpy in float64."""

    def __init__(self, weights):
        self.w = weights
        self.n_audio_head = int(weights["encoder/num_heads"])
        self.n_text_head = int(weights["decoder/num_heads"])
        self.n_audio_layer = self._count_layers("encoder")
        self.n_text_layer = self._count_layers("decoder")

    def _count_layers(self, prefix):
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in self.w:
            n += 1
        return n

    def p(self, name):
        """A weight as a float64 array."""
        return np.asarray(self.w[name], dtype=np.float64)

    def linear(self, x, prefix):
        """x @ W^T + b for the linear layer `prefix`."""
        return x @ self.p(prefix + "/weight").T + self.p(prefix + "/bias")

    def norm(self, x, prefix):
        """LayerNorm with the gamma/beta stored under `prefix`."""
        return layer_norm(x, self.p(prefix + "/gamma"), self.p(prefix + "/beta"))

    @staticmethod
    def attend(q, k, v, n_head, mask=None):
        """Multi-head scaled dot-product attention on [L, d] matrices."""
        lq, d = q.shape
        lk = k.shape[0]
        dh = d // n_head
        out = np.zeros((lq, d))
        for h in range(n_head):
            cols = slice(h * dh, (h + 1) * dh)
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(dh)
            if mask is not None:
                scores = scores + mask[:lq, :lk]
            out[:, cols] = softmax(scores) @ v[:, cols]
        return out

    def self_attention(self, x, prefix, n_head, mask=None):
        """Pre-LN self-attention branch (without the residual add)."""
        h = self.norm(x, prefix + "/layer_norm")
        qkv = self.linear(h, prefix + "/linear_0")
        q, k, v = np.split(qkv, 3, axis=-1)
        return self.linear(self.attend(q, k, v, n_head, mask), prefix + "/linear_1")

    def cross_attention(self, x, audio, prefix, n_head):
        """Pre-LN cross-attention branch over the encoder output."""
        h = self.norm(x, prefix + "/layer_norm")
        q = self.linear(h, prefix + "/linear_0")
        kv = self.linear(audio, prefix + "/linear_1")
        k, v = np.split(kv, 2, axis=-1)
        return self.linear(self.attend(q, k, v, n_head), prefix + "/linear_2")

    def mlp(self, x, prefix):
        """Pre-LN feed-forward branch."""
        h = self.norm(x, prefix + "/layer_norm")
        return self.linear(gelu(self.linear(h, prefix + "/linear_0")), prefix + "/linear_1")

    def encode(self, mel):
        """mel [1, n_mels, frames] -> audio features [1, frames/2, d] (float64)."""
        x = np.asarray(mel, dtype=np.float64)[0]
        x = gelu(conv1d(x, self.p("encoder/conv1/weight"), self.p("encoder/conv1/bias"), 1, 1))
        x = gelu(conv1d(x, self.p("encoder/conv2/weight"), self.p("encoder/conv2/bias"), 2, 1))
        x = x.T  # [T, d]
        x = x + self.p("encoder/position_encodings/encodings")[: x.shape[0]]
        for i in range(self.n_audio_layer):
            layer = f"encoder/layer_{i}"
            x = x + self.self_attention(x, layer + "/self_attention", self.n_audio_head)
            x = x + self.mlp(x, layer + "/ffn")
        return self.norm(x, "encoder/layer_norm")[None]

    def decode_logits(self, tokens, audio_features):
        """Logits [1, n, n_vocab] (float64) for all n tokens, recomputed from scratch."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        audio = np.asarray(audio_features, dtype=np.float64)[0]
        n = len(tokens)
        embedding = self.p("decoder/embeddings/weight")
        x = embedding[tokens] + self.p("decoder/position_encodings/encodings")[:n]
        causal = np.triu(np.full((n, n), -np.inf), k=1)
        for i in range(self.n_text_layer):
            layer = f"decoder/layer_{i}"
            x = x + self.self_attention(x, layer + "/self_attention", self.n_text_head, causal)
            x = x + self.cross_attention(x, audio, layer + "/attention", self.n_text_head)
            x = x + self.mlp(x, layer + "/ffn")
        x = self.norm(x, "decoder/layer_norm")
        return (x @ embedding.T)[None]
