#!/usr/bin/env python3
"""Make the Whisper tiny.en golden fixture with the numpy reference.

The fixture (default: models/tests/fixtures/whisper_tiny_en/) holds:

  mel.f32             input log-mel [1, 80, 200] (raw little-endian float32)
  audio_features.f32  reference encoder output [1, 100, 384]
  logits_subset.f32   reference decoder logits [n_tokens, len(vocab_ids)]
                      at vocab ids 0, 101, 202, ... (every 101st id)
  fixture.json        shapes, token ids, vocab ids, per-position argmax id
                      and value, and how the input was made

The mel is stored so that tests do not depend on any mel code. It is made
from an espeak-ng utterance when espeak-ng is installed, else from a
deterministic synthetic signal. Logits come from a full recompute over the
token sequence [50257, 50363] (<|startoftranscript|>, <|0.00|> in the
English-only vocabulary) followed by three greedy (argmax) tokens.

With --check-onnx MODEL_DIR, instead verifies a converted model directory
against the stored fixture with onnxruntime, decoding step by step with
the KV cache (2-token prompt at past = 0, then one token per call).

Usage:
  make_whisper_fixture.py --ct2-model PATH/model.bin --mel-filters PATH/mel_filters.npz \
      [--vocab PATH/gpt2.tiktoken] [--out DIR]
  make_whisper_fixture.py --check-onnx MODELS/whisper-tiny.en [--out DIR]
"""

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import whisper_convert  # noqa: E402
from whisper_numpy_ref import WhisperReference  # noqa: E402

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_FRAMES = 200
SOT = 50257  # <|startoftranscript|> in the English-only (tiny.en) vocabulary
# The prompt's second token. In the English-only vocabulary 50363 is <|0.00|>
# (the first timestamp token; <|notimestamps|> is 50362 there, while it is
# 50363 in the multilingual vocabulary). The fixture uses 50363 as specified.
PROMPT = [SOT, 50363]
PROMPT_NAMES = ["<|startoftranscript|>", "<|0.00|>"]
N_GREEDY = 3
VOCAB_STRIDE = 101
TOLERANCE = 1e-3
UTTERANCE = "Turn on the light."
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models/tests/fixtures/whisper_tiny_en"


# ---------------------------------------------------------------------------
# Input audio and log-mel
# ---------------------------------------------------------------------------


def read_wav_mono(path):
    """Read a 16-bit PCM WAV file; returns (float64 samples in [-1, 1], rate)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        frames = wav.readframes(wav.getnframes())
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
        samples = samples.reshape(-1, wav.getnchannels()).mean(axis=1)
        return samples, wav.getframerate()


def resample(samples, rate_in, rate_out):
    """Band-limited resampling by truncating/zero-padding the spectrum."""
    if rate_in == rate_out:
        return samples
    n_out = int(round(len(samples) * rate_out / rate_in))
    spectrum = np.fft.rfft(samples)
    keep = min(len(spectrum), n_out // 2 + 1)
    return np.fft.irfft(spectrum[:keep], n_out) * (n_out / len(samples))


def espeak_audio(text):
    """Speak `text` with espeak-ng; returns (16 kHz samples, description) or None."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(wav_path), text], check=True)
        samples, rate = read_wav_mono(wav_path)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    version = version.split("  Data at:")[0].strip()
    return resample(samples, rate, SAMPLE_RATE), f"espeak-ng -v en-us -s 150 {text!r} ({version})"


def synthetic_audio():
    """A deterministic vowel-like signal: harmonics of a gliding 140 Hz pitch."""
    t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 140.0 + 30.0 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    signal = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.sin(np.pi * t / t[-1]) ** 2
    return 0.3 * signal * envelope, "synthetic harmonic glide (espeak-ng not installed)"


def fit_to_frames(samples, n_frames):
    """Zero-pad or cut the signal to exactly n_frames * HOP samples."""
    n = n_frames * HOP
    out = np.zeros(n)
    out[: min(n, len(samples))] = samples[:n]
    return out


def log_mel(samples, mel_filters):
    """Whisper's log-mel: centred reflect-padded STFT (periodic Hann), drop last frame."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.stack([padded[i * HOP : i * HOP + N_FFT] for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # [frames, 201]
    mel = mel_filters @ power[:-1].T  # [n_mels, frames - 1]
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


# ---------------------------------------------------------------------------
# Fixture files
# ---------------------------------------------------------------------------


def write_f32(path, array):
    """Write an array as raw little-endian float32."""
    np.asarray(array, dtype="<f4").tofile(path)


def read_f32(path, shape):
    """Read a raw little-endian float32 file with the given shape."""
    return np.fromfile(path, dtype="<f4").reshape(shape)


def load_vocab(path):
    """Token id -> bytes from a tiktoken file (base64 token, rank per line)."""
    vocab = {}
    for line in Path(path).read_text().splitlines():
        if line:
            token, rank = line.split()
            vocab[int(rank)] = base64.b64decode(token)
    return vocab


def greedy_tokens(reference, audio, prompt, count):
    """Extend the prompt with `count` argmax tokens (full recompute each step)."""
    tokens = list(prompt)
    for _ in range(count):
        logits = reference.decode_logits(tokens, audio)
        tokens.append(int(np.argmax(logits[0, -1])))
    return tokens


def make_fixture(args):
    """Compute the reference outputs and write the fixture directory."""
    weights = whisper_convert.read_ct2_model(args.ct2_model)
    reference = WhisperReference(weights)
    mel_filters = np.load(args.mel_filters)["mel_80"].astype(np.float64)

    spoken = espeak_audio(UTTERANCE)
    samples, source = spoken if spoken is not None else synthetic_audio()
    mel = log_mel(fit_to_frames(samples, N_FRAMES), mel_filters)[None].astype(np.float32)

    audio = reference.encode(mel)
    tokens = greedy_tokens(reference, audio, PROMPT, N_GREEDY)
    logits = reference.decode_logits(tokens, audio)[0]  # [n, n_vocab]
    vocab_ids = list(range(0, logits.shape[1], VOCAB_STRIDE))
    argmax_ids = [int(i) for i in np.argmax(logits, axis=1)]

    args.out.mkdir(parents=True, exist_ok=True)
    write_f32(args.out / "mel.f32", mel)
    write_f32(args.out / "audio_features.f32", audio)
    write_f32(args.out / "logits_subset.f32", logits[:, vocab_ids])

    text = None
    if args.vocab:
        vocab = load_vocab(args.vocab)
        text = b"".join(vocab.get(t, b"") for t in tokens[2:]).decode("utf-8", "replace")
    meta = {
        "model": "tiny.en",
        "model_bin_sha256": hashlib.sha256(Path(args.ct2_model).read_bytes()).hexdigest(),
        "audio_source": source,
        "mel": {"file": "mel.f32", "shape": list(mel.shape)},
        "audio_features": {"file": "audio_features.f32", "shape": list(audio.shape)},
        "tokens": tokens,
        "prompt_token_names": PROMPT_NAMES,
        "greedy_text": text,
        "logits": {
            "file": "logits_subset.f32",
            "shape": [len(tokens), len(vocab_ids)],
            "vocab_stride": VOCAB_STRIDE,
            "vocab_ids": vocab_ids,
        },
        "argmax_ids": argmax_ids,
        "argmax_values": [float(logits[i, t]) for i, t in enumerate(argmax_ids)],
        "tolerance": TOLERANCE,
        "format": "raw little-endian float32, C order",
        "generated_by": "scripts/make_whisper_fixture.py (numpy float64 reference, full recompute)",
    }
    (args.out / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"[fixture] tokens {tokens} text {text!r}")
    print(f"[fixture] argmax ids {argmax_ids}")
    print(f"[fixture] wrote {args.out}")
    return 0


def check_onnx(args):
    """Run the ONNX graphs of a model directory and compare with the fixture."""
    meta = json.loads((args.out / "fixture.json").read_text())
    dims = json.loads((args.check_onnx / "model.json").read_text())
    mel = read_f32(args.out / meta["mel"]["file"], meta["mel"]["shape"])
    ref_audio = read_f32(args.out / meta["audio_features"]["file"], meta["audio_features"]["shape"])
    ref_logits = read_f32(args.out / meta["logits"]["file"], meta["logits"]["shape"])

    sessions = whisper_convert.load_sessions(args.check_onnx)
    audio, logits = whisper_convert.run_onnx_decode(sessions, dims, mel, meta["tokens"])
    logits = logits[0]
    audio_err = float(np.max(np.abs(audio - ref_audio)))
    subset_err = float(np.max(np.abs(logits[:, meta["logits"]["vocab_ids"]] - ref_logits)))
    argmax_ids = [int(i) for i in np.argmax(logits, axis=1)]
    argmax_err = max(abs(float(logits[i, t]) - v)
                     for i, (t, v) in enumerate(zip(meta["argmax_ids"], meta["argmax_values"])))
    print(f"[fixture] audio_features max abs err {audio_err:.3g}")
    print(f"[fixture] logits subset max abs err {subset_err:.3g}, argmax value max abs err {argmax_err:.3g}")
    print(f"[fixture] argmax ids {argmax_ids} (fixture {meta['argmax_ids']})")
    ok = max(audio_err, subset_err, argmax_err) <= TOLERANCE and argmax_ids == meta["argmax_ids"]
    print("[fixture] OK" if ok else "[fixture] MISMATCH")
    return 0 if ok else 1


def main(argv=None):
    """Make the fixture, or check ONNX graphs against it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ct2-model", type=Path, help="tiny.en CTranslate2 model.bin")
    parser.add_argument("--mel-filters", type=Path, help="whisper assets/mel_filters.npz")
    parser.add_argument("--vocab", type=Path, help="gpt2.tiktoken, only to print the greedy text")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture directory")
    parser.add_argument("--check-onnx", type=Path, metavar="MODEL_DIR",
                        help="verify a converted model directory against the fixture")
    args = parser.parse_args(argv)
    if args.check_onnx:
        return check_onnx(args)
    if not args.ct2_model or not args.mel_filters:
        parser.error("--ct2-model and --mel-filters are required to make the fixture")
    return make_fixture(args)


if __name__ == "__main__":
    sys.exit(main())
