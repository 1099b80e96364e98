#!/usr/bin/env python3
"""Make the Silero VAD golden fixture with onnxruntime, the reference runtime.

The fixture (default: models/tests/fixtures/silero_vad/) holds:

  speech_16k.wav  16 kHz mono 16-bit speech: an espeak-ng sentence, resampled by
                  sox, with 0.5 s of digital silence before and after
  fixture.json    the speech probability of every 512-sample chunk, computed by
                  onnxruntime on the installed model, and how it was made

The audio is stored so the test does not depend on the local espeak-ng, sox or
resampler. Each call gets the previous 64 samples (zeros at first) followed by
the 512 new ones as `input` [1, 576], and the previous call's `stateN` as
`state` [2, 1, 128] (zeros at first), as upstream's own wrapper does. The last
chunk is zero-padded to 512 samples.

Usage (with the tools venv, which has numpy and onnxruntime):
  $PERCEPTD_MODELS/.tools-venv/bin/python scripts/make_vad_fixture.py \
      --model $PERCEPTD_MODELS/silero-vad/silero_vad_openvino_16k.onnx [--out DIR]
"""

import argparse
import hashlib
import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import onnxruntime

TEXT = "The quick brown fox jumps, then it rests."
CHUNK = 512
CONTEXT = 64


def make_audio(out_wav):
    """espeak-ng at its own rate, then sox to 16 kHz 16-bit mono with 0.5 s padding."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), TEXT], check=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out_wav),
                        "pad", "0.5", "0.5"], check=True)


def read_wav(path):
    """Samples of a 16-bit mono WAV as float32 in [-1, 1)."""
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def probabilities(model, samples):
    """Speech probability per 512-sample chunk, feeding context and state back."""
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    padded = np.concatenate([samples, np.zeros(-len(samples) % CHUNK, np.float32)])
    context = np.zeros(CONTEXT, np.float32)
    state = np.zeros((2, 1, 128), np.float32)
    probs = []
    for start in range(0, len(padded), CHUNK):
        window = np.concatenate([context, padded[start:start + CHUNK]])[None, :]
        out, state = session.run(None, {"input": window, "state": state})
        probs.append(float(out[0, 0]))
        context = window[0, -CONTEXT:]
    return probs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent
                        / "models/tests/fixtures/silero_vad")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    wav = args.out / "speech_16k.wav"
    make_audio(wav)
    probs = probabilities(args.model, read_wav(wav))
    fixture = {
        "made_by": "scripts/make_vad_fixture.py",
        "text": TEXT,
        "audio": {"file": wav.name, "sha256": hashlib.sha256(wav.read_bytes()).hexdigest()},
        "model_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
        "onnxruntime": onnxruntime.__version__,
        "chunk_samples": CHUNK,
        "tolerance": 1e-4,
        "probabilities": [round(p, 7) for p in probs],
    }
    (args.out / "fixture.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"{len(probs)} chunks, max probability {max(probs):.3f}, written to {args.out}")


if __name__ == "__main__":
    main()
