"""Plain numpy forward pass of EfficientNet-Lite0, straight from the torch state dict.

This is the reference the ONNX graph made by effnet_convert.py is checked
against. It is written independently of the ONNX builder: batch norm is
applied as its own step (not folded into the convolutions), convolutions are
sums of shifted slices computed in float64, and TF "SAME" padding is worked
out per layer from the actual input size.

Weights are the {name: array} dict of torch_legacy.load_state_dict (names
as in the EfficientNet-PyTorch layout: _conv_stem, _bn0, _blocks.N.*,
_conv_head, _bn1, _fc). The block list comes from
effnet_convert.infer_blocks.

    ref = EffnetReference(weights, blocks)
    logits, embedding = ref.forward(image)   # image f32 [1, 3, 224, 224]
"""

import math

import numpy as np

# EfficientNet (TF and its torch ports) uses batch-norm epsilon 1e-3.
BN_EPS = 1e-3


def same_pads(size, kernel, stride):
    """TF "SAME" padding for one axis: (before, after); the extra pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_same(x, weight, stride, depthwise):
    """Conv2d with TF "SAME" padding, no bias. x [N, C, H, W], weight [O, C/g, k, k]."""
    _, _, height, width = x.shape
    kernel = weight.shape[2]
    top, bottom = same_pads(height, kernel, stride)
    left, right = same_pads(width, kernel, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    out_h = math.ceil(height / stride)
    out_w = math.ceil(width / stride)
    out = np.zeros((x.shape[0], weight.shape[0], out_h, out_w), dtype=np.float64)
    for ky in range(kernel):
        for kx in range(kernel):
            patch = padded[:, :, ky : ky + stride * out_h : stride, kx : kx + stride * out_w : stride]
            if depthwise:
                out += patch * weight[:, 0, ky, kx][None, :, None, None]
            else:
                out += np.einsum("oc,nchw->nohw", weight[:, :, ky, kx], patch)
    return out


def batch_norm(x, weights, prefix):
    """Inference batch norm with running statistics."""
    scale = weights[prefix + ".weight"] / np.sqrt(weights[prefix + ".running_var"] + BN_EPS)
    shift = weights[prefix + ".bias"] - weights[prefix + ".running_mean"] * scale
    return x * scale[None, :, None, None] + shift[None, :, None, None]


def relu6(x):
    """min(max(x, 0), 6)."""
    return np.minimum(np.maximum(x, 0.0), 6.0)


class EffnetReference:
    """EfficientNet-Lite0 forward pass in float64 numpy."""

    def __init__(self, weights, blocks):
        self.w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        self.blocks = blocks

    def conv_bn(self, x, conv, bn, stride=1, depthwise=False, act=True):
        """Convolution, batch norm and (optionally) ReLU6."""
        y = batch_norm(conv2d_same(x, self.w[conv + ".weight"], stride, depthwise), self.w, bn)
        return relu6(y) if act else y

    def block(self, x, block):
        """One MBConv block: [expand 1x1], depthwise kxk, project 1x1, [residual]."""
        p = block["prefix"]
        y = x
        if block["expand"]:
            y = self.conv_bn(y, p + "_expand_conv", p + "_bn0")
        y = self.conv_bn(y, p + "_depthwise_conv", p + "_bn1", block["stride"], depthwise=True)
        y = self.conv_bn(y, p + "_project_conv", p + "_bn2", act=False)
        return y + x if block["residual"] else y

    def forward(self, image):
        """(logits [1, 1000], embedding [1, 1280]) for an NCHW image, both float64."""
        x = self.conv_bn(np.asarray(image, dtype=np.float64), "_conv_stem", "_bn0", stride=2)
        for block in self.blocks:
            x = self.block(x, block)
        x = self.conv_bn(x, "_conv_head", "_bn1")
        embedding = x.mean(axis=(2, 3))
        logits = embedding @ self.w["_fc.weight"].T + self.w["_fc.bias"]
        return logits, embedding
