#!/usr/bin/env python3
"""Regenerate the Pillow resize / preprocessing fixtures in dsp/tests/fixtures/resize/.

What it writes (raw little-endian files, sizes in manifest.json):
  * input_64x48.rgb, input_61x53.rgb, input_56x53.rgb: deterministic RGB test images (u8,
    rows top to bottom, R G B interleaved): gradients, hard edges, a checkerboard and seeded
    noise, so both the smooth and the ringing behaviour of the filters are exercised;
  * resize_{filter}_{W}x{H}.rgb: input_64x48 resized with Pillow's `Image.resize` (BICUBIC and
    BILINEAR) to down-, up- and one-axis-only sizes. percept-dsp must match these byte for byte;
  * preprocess_{W}x{H}.f32: torchvision-style preprocessing of the 61x53 and 56x53 inputs with
    resize_shortest=20, crop=16, ImageNet mean/std, BICUBIC, as float32 NCHW [1, 3, 16, 16]:
    Pillow resize of the shorter side to 20 (longer side int(20 * long / short)), centre crop
    with top/left = int(round((size - 16) / 2.0)) (Python's round: 61x53 -> left 4 from 3.5,
    56x53 -> left 2 from 2.5), then (v / 255 - mean) / std in float32.

Pillow is only needed here, for the reference; run it from a scratch venv that has it:
    python3 -m venv /var/tmp/pillow-venv && /var/tmp/pillow-venv/bin/pip install pillow numpy
    /var/tmp/pillow-venv/bin/python scripts/make_resize_fixture.py
Then run `cargo test -p percept-dsp --test resize_pillow_fixture`.
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image, __version__ as pillow_version

OUT_DIR = Path(__file__).resolve().parent.parent / "dsp" / "tests" / "fixtures" / "resize"
RESIZE_SIZES = [(30, 22), (13, 7), (100, 75), (64, 20), (20, 48), (1, 1), (3, 200), (63, 47)]
FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
PREPROCESS_INPUTS = [(61, 53), (56, 53)]
RESIZE_SHORTEST = 20
CROP = 16
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def test_image(width: int, height: int, seed: int) -> np.ndarray:
    """A u8 [height, width, 3] image with gradients, edges, a checkerboard and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    red = x * 255.0 / max(width - 1, 1)
    green = np.where((x // 4 + y // 4) % 2 == 0, 230.0, 20.0)
    blue = np.where(x < width // 3, 255.0, np.where(y > height // 2, 0.0, 128.0))
    image = np.stack([red, green, blue], axis=-1)
    image += rng.normal(0.0, 12.0, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def torchvision_preprocess(image: np.ndarray) -> np.ndarray:
    """Resize(20) + CenterCrop(16) + ToTensor + Normalize(ImageNet), as torchvision on PIL."""
    height, width = image.shape[:2]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = RESIZE_SHORTEST, int(RESIZE_SHORTEST * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.BICUBIC))
    top = int(round((new_h - CROP) / 2.0))
    left = int(round((new_w - CROP) / 2.0))
    crop = resized[top : top + CROP, left : left + CROP, :]
    scaled = crop.astype(np.float32) / np.float32(255.0)
    normalised = (scaled - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]).astype("<f4")


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    manifest = {"pillow": pillow_version, "inputs": {}, "resize": [], "preprocess": []}

    source = test_image(64, 48, seed=1)
    (OUT_DIR / "input_64x48.rgb").write_bytes(source.tobytes())
    manifest["inputs"]["input_64x48.rgb"] = [64, 48]
    for name, flag in FILTERS.items():
        for width, height in RESIZE_SIZES:
            out = np.asarray(Image.fromarray(source).resize((width, height), flag))
            file = f"resize_{name}_{width}x{height}.rgb"
            (OUT_DIR / file).write_bytes(out.tobytes())
            manifest["resize"].append({"file": file, "filter": name, "size": [width, height]})

    for seed, (width, height) in enumerate(PREPROCESS_INPUTS, start=2):
        image = test_image(width, height, seed=seed)
        input_file = f"input_{width}x{height}.rgb"
        (OUT_DIR / input_file).write_bytes(image.tobytes())
        manifest["inputs"][input_file] = [width, height]
        file = f"preprocess_{width}x{height}.f32"
        (OUT_DIR / file).write_bytes(torchvision_preprocess(image).tobytes())
        manifest["preprocess"].append(
            {"file": file, "input": input_file, "resize_shortest": RESIZE_SHORTEST, "crop": CROP}
        )

    (OUT_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(manifest['resize']) + len(manifest['preprocess'])} cases to {OUT_DIR}")


if __name__ == "__main__":
    main()
