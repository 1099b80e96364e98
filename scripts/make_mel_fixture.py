#!/usr/bin/env python3
"""Regenerate the Whisper log-mel golden fixtures in dsp/tests/fixtures/mel/.

What it writes (all float32 little-endian raw `.f32`, shapes in fixture.json):
  * three deterministic 16 kHz mono inputs, ~2-2.5 s each:
      speech.f32   `espeak-ng -w` of a sentence, resampled 22.05 -> 16 kHz with numpy
                   (a deterministic synthetic vowel-like signal when espeak-ng is missing)
      silence.f32  digital silence
      clipped.f32  a loud sine plus seeded noise, clipped to +-1
    plus tiny.f32 (170 samples of noise: shorter than the 201 samples PyTorch's reflect pad
    needs, so it pins down the numpy-reflect behaviour percept-dsp documents);
  * the reference normalised log-mel of each input, row-major [n_mels][n_frames]
    (80 bins for all, 128 bins for speech, and clipped with padding=1000);
  * the reference filterbanks mel_filters_80.f32 / mel_filters_128.f32 ([n_mels][201]),
    copied from openai-whisper's assets/mel_filters.npz.

The reference reimplements openai-whisper's `whisper.audio.log_mel_spectrogram` in numpy
float64: optional right zero padding, periodic Hann window of 400, centred STFT (reflect
padding of 200, hop 160), |X|^2 with the last frame dropped, mel projection with the npz
filters, log10(max(x, 1e-10)), max(x, max - 8), (x + 4) / 4.

Regenerate (numpy is the only third-party dependency):
    /var/tmp/perceptd-venv/bin/python scripts/make_mel_fixture.py \
        [--whisper-assets /tmp/wheels/x/openai_whisper-20250625/whisper/assets]
Then run `cargo test -p percept-dsp --test whisper_mel_golden`.
"""

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
SPEECH_TEXT = "Perceive the world, one frame at a time."
# Lengths deliberately not multiples of HOP_LENGTH.
SPEECH_SAMPLES = 36_037
SILENCE_SAMPLES = 32_011
CLIPPED_SAMPLES = 40_099
TINY_SAMPLES = 170

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "dsp" / "tests" / "fixtures" / "mel"
DEFAULT_ASSETS = Path("/tmp/wheels/x/openai_whisper-20250625/whisper/assets")


def log_mel_spectrogram(audio, filters, padding=0):
    """numpy float64 twin of whisper.audio.log_mel_spectrogram; returns [n_mels][n_frames]."""
    x = np.asarray(audio, dtype=np.float64)
    if padding > 0:
        x = np.pad(x, (0, padding))
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    starts = np.arange(n_frames) * HOP_LENGTH
    frames = padded[starts[:, None] + np.arange(N_FFT)[None, :]]
    stft = np.fft.rfft(frames * window, axis=-1)  # [frames][201]
    magnitudes = (np.abs(stft) ** 2).T[:, :-1]  # [201][frames - 1]
    mel_spec = filters.astype(np.float64) @ magnitudes
    log_spec = np.log10(np.maximum(mel_spec, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def fft_resample(x, rate_in, rate_out):
    """Band-limited resampling by truncating/zero-extending the spectrum (deterministic)."""
    n_out = int(round(len(x) * rate_out / rate_in))
    spectrum = np.fft.rfft(x)[: n_out // 2 + 1]
    return np.fft.irfft(spectrum, n_out) * (n_out / len(x))


def speech_input():
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return synthetic_vowels(), "synthetic vowel-like signal (espeak-ng not installed)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-w", str(path), SPEECH_TEXT], check=True)
        with wave.open(str(path), "rb") as wav:
            assert wav.getnchannels() == 1 and wav.getsampwidth() == 2, "espeak-ng writes mono s16"
            rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    version = subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout
    version = version.split("  Data at")[0].strip()
    speech = fft_resample(pcm.astype(np.float64) / 32768.0, rate, SAMPLE_RATE)
    speech = np.pad(speech, (0, max(0, SPEECH_SAMPLES - len(speech))))[:SPEECH_SAMPLES]
    return speech, f"espeak-ng -w {SPEECH_TEXT!r} ({version}), resampled {rate} -> 16000 Hz by FFT"


def synthetic_vowels():
    t = np.arange(SPEECH_SAMPLES) / SAMPLE_RATE
    pitch = 120.0 + 20.0 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    formants = [(700, 1.0), (1220, 0.5), (2600, 0.25)]
    harmonics = sum(
        amp * np.exp(-(((k * pitch) - f) ** 2) / (2 * 150.0**2)) * np.sin(k * phase)
        for f, amp in formants
        for k in range(1, 40)
    )
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 2.0 * t))
    return 0.3 * harmonics * envelope / np.max(np.abs(harmonics))


def clipped_input():
    rng = np.random.default_rng(20250625)
    t = np.arange(CLIPPED_SAMPLES) / SAMPLE_RATE
    loud = 3.0 * np.sin(2 * np.pi * 440.0 * t) + 0.3 * rng.standard_normal(CLIPPED_SAMPLES)
    return np.clip(loud, -1.0, 1.0)


def write_f32(path, values):
    np.ascontiguousarray(values, dtype="<f4").tofile(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whisper-assets", type=Path, default=DEFAULT_ASSETS)
    args = parser.parse_args()
    with np.load(args.whisper_assets / "mel_filters.npz", allow_pickle=False) as npz:
        filters = {n: np.asarray(npz[f"mel_{n}"], dtype=np.float32) for n in (80, 128)}

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    speech, speech_source = speech_input()
    inputs = {
        "speech": (speech, speech_source),
        "silence": (np.zeros(SILENCE_SAMPLES), "digital silence"),
        "clipped": (clipped_input(), "3.0 * sin(440 Hz) + 0.3 * N(0,1) (seed 20250625), clipped to +-1"),
        "tiny": (np.random.default_rng(7).uniform(-0.5, 0.5, TINY_SAMPLES), "170 samples of uniform noise (seed 7)"),
    }
    manifest = {"generator": "scripts/make_mel_fixture.py", "sample_rate": SAMPLE_RATE, "inputs": [], "mels": []}
    stored = {}
    for name, (samples, source) in inputs.items():
        samples = samples.astype(np.float32)  # the committed input is what both sides read
        stored[name] = samples
        write_f32(OUT_DIR / f"{name}.f32", samples)
        manifest["inputs"].append({"name": name, "file": f"{name}.f32", "samples": len(samples), "source": source})

    cases = [("speech", 80, 0), ("speech", 128, 0), ("silence", 80, 0), ("clipped", 80, 0),
             ("clipped", 80, 1000), ("tiny", 80, 0)]
    for name, n_mels, padding in cases:
        mel = log_mel_spectrogram(stored[name], filters[n_mels], padding)
        file = f"{name}_mel{n_mels}" + (f"_pad{padding}" if padding else "") + ".f32"
        write_f32(OUT_DIR / file, mel)
        manifest["mels"].append(
            {"input": name, "n_mels": n_mels, "padding": padding, "file": file, "shape": list(mel.shape)})

    manifest["filters"] = []
    for n_mels, bank in filters.items():
        file = f"mel_filters_{n_mels}.f32"
        write_f32(OUT_DIR / file, bank)
        manifest["filters"].append({"n_mels": n_mels, "file": file, "shape": list(bank.shape)})

    (OUT_DIR / "fixture.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT_DIR.iterdir())
    print(f"wrote {len(list(OUT_DIR.iterdir()))} files, {total} bytes, to {OUT_DIR}")


if __name__ == "__main__":
    main()
