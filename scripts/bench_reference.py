#!/usr/bin/env python3
"""bench_reference.py — reference timings that perceptd's Whisper is compared against.

Measures, on this machine with a fixed number of threads (default 2), and prints ONE JSON
object on stdout (progress goes to stderr):

  faster_whisper   CTranslate2 Whisper (e.g. tiny.en) transcribing one clip with greedy
                   decoding: beam_size=1, best_of=1, temperature 0,
                   condition_on_previous_text=False, no word timestamps, VAD off,
                   cpu_threads=N; for each compute type (float32, int8): warm wall time of
                   transcribe() (one untimed run, then the median of --repeats), RTF
                   (time / clip duration) and the text. Also the log-mel time
                   (faster_whisper.feature_extractor) per second of audio. The clip is decoded
                   and resampled to 16 kHz once, outside the timings.
  onnxruntime      perceptd's exported Whisper graphs (encoder.onnx, cross_kv.onnx,
                   decoder.onnx) on onnxruntime's CPU provider with N intra-op threads: encoder
                   time on a 3000-frame mel (median of --repeats), cross-K/V projection time,
                   and the decoder's single-token step time with a self-attention cache of 10
                   and of 100 positions (median of --decoder-repeats each).

Either part runs only when its directory is given. Timings on a shared machine are noisy: the
load average at start and end is included in the output, with min and max beside each median.
Idle worker threads sleep rather than spin unless --spin is given (see _set_thread_env).

Setup (a venv of its own keeps the project's venv clean):

    python3 -m venv /var/tmp/perceptd-bench-venv
    /var/tmp/perceptd-bench-venv/bin/pip install faster-whisper onnxruntime numpy

Run:

    scripts/make_speech.sh /tmp/speech
    /var/tmp/perceptd-bench-venv/bin/python scripts/bench_reference.py \
        --audio /tmp/speech/bench_11s.wav \
        --ct2-dir "$MODELS/.downloads/.../model" \
        --onnx-dir "$MODELS/whisper-tiny.en" > reference.json

Graph contract (--onnx-dir):
  encoder.onnx   mel f32 [1, n_mels, 3000] -> audio_features [1, T, d]
  cross_kv.onnx  audio_features -> per layer i: cross_k_i [H, dh, T], cross_v_i [H, T, dh]
  decoder.onnx   tokens i64 [1, n], positions i64 [n], self_k, self_v f32 [n_layer, 1, past, d],
                 mask f32 [n, past + n] (additive), cross_k_i, cross_v_i for every layer
                 -> logits [1, n, vocab], new_self_k, new_self_v [n_layer, 1, past + n, d]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def _set_thread_env(threads: int, spin: bool) -> None:
    """Caps BLAS/OpenMP pools before numpy & co. are imported, so every part uses N threads.

    Unless `spin`, idle OpenMP workers sleep instead of busy-waiting: on a machine shared with
    other work, spinning workers that lose their core stall every parallel region (CTranslate2
    float32 ran 5x slower that way here, with 30 s outliers).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    if not spin:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(fn, repeats: int, warmup: int = 1) -> dict:
    """Runs fn `warmup` times untimed, then `repeats` times; returns the median and spread (s)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
        "_result": result,
    }


def pop_result(stats: dict):
    return stats.pop("_result")


# --------------------------------------------------------------------------------------------
# faster-whisper (CTranslate2)
# --------------------------------------------------------------------------------------------

def bench_faster_whisper(args) -> dict:
    import faster_whisper
    import numpy as np
    from faster_whisper import WhisperModel, decode_audio

    sample_rate = 16000
    audio = decode_audio(str(args.audio), sampling_rate=sample_rate)
    duration = len(audio) / sample_rate
    log(f"faster-whisper {faster_whisper.__version__}: {args.audio} is {duration:.3f} s")

    options = dict(
        language="en",
        task="transcribe",
        beam_size=1,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        word_timestamps=False,
        without_timestamps=not args.timestamps,
        vad_filter=False,
    )

    out: dict = {
        "version": faster_whisper.__version__,
        "model_dir": str(args.ct2_dir),
        "audio": str(args.audio),
        "audio_duration_s": duration,
        "cpu_threads": args.threads,
        "options": options,
        "runs": {},
    }

    for compute_type in args.compute_types:
        log(f"  loading {compute_type}")
        t0 = time.perf_counter()
        model = WhisperModel(
            str(args.ct2_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=args.threads,
            num_workers=1,
        )
        load_s = time.perf_counter() - t0

        def transcribe():
            # transcribe() is lazy: the work happens while the segments are consumed.
            segments, _info = model.transcribe(audio, **options)
            return " ".join(s.text.strip() for s in segments)

        log(f"  transcribing with {compute_type} (1 warm-up + {args.repeats})")
        stats = timed(transcribe, args.repeats)
        text = pop_result(stats)
        out["runs"][compute_type] = {
            "load_s": load_s,
            "transcribe": stats,
            "rtf": stats["median_s"] / duration,
            "text": text,
        }
        log(f"    {stats['median_s']:.3f} s, RTF {stats['median_s'] / duration:.4f}: {text}")

        if "log_mel" not in out:
            # The same feature extractor transcribe() uses (numpy STFT + mel filterbank).
            fe = model.feature_extractor
            mel = timed(lambda: fe(audio), args.repeats)
            features = pop_result(mel)
            out["log_mel"] = {
                **mel,
                "frames": int(features.shape[-1]),
                "per_audio_second_s": mel["median_s"] / duration,
            }
            log(f"    log-mel: {mel['median_s'] * 1e3:.2f} ms for {duration:.2f} s of audio")
        del model
    return out


# --------------------------------------------------------------------------------------------
# onnxruntime on perceptd's exported graphs
# --------------------------------------------------------------------------------------------

def bench_onnx(args) -> dict:
    import numpy as np
    import onnxruntime as ort

    onnx_dir: Path = args.onnx_dir
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not args.spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")

    def session(name: str):
        path = onnx_dir / name
        t0 = time.perf_counter()
        s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        log(f"  loaded {name} in {time.perf_counter() - t0:.2f} s")
        return s, time.perf_counter() - t0

    encoder, enc_load = session("encoder.onnx")
    cross_kv, ckv_load = session("cross_kv.onnx")
    decoder, dec_load = session("decoder.onnx")

    mel_input = encoder.get_inputs()[0]
    n_mels = mel_input.shape[1] if isinstance(mel_input.shape[1], int) else 80
    rng = np.random.default_rng(0)
    # Values do not change the cost; a log-mel-like range keeps activations ordinary.
    mel = rng.uniform(-0.8, 1.2, size=(1, n_mels, 3000)).astype(np.float32)

    log(f"  encoder on [1, {n_mels}, 3000] (1 warm-up + {args.repeats})")
    enc = timed(lambda: encoder.run(None, {mel_input.name: mel}), args.repeats)
    audio_features = pop_result(enc)[0]

    log(f"  cross_kv (1 warm-up + {args.repeats})")
    ckv_in = cross_kv.get_inputs()[0].name
    ckv = timed(lambda: cross_kv.run(None, {ckv_in: audio_features}), args.repeats)
    ckv_out = dict(zip([o.name for o in cross_kv.get_outputs()], pop_result(ckv)))
    n_layer = len(ckv_out) // 2
    n_head, d_head, _ = ckv_out["cross_k_0"].shape
    d = n_head * d_head

    dec_inputs = {i.name for i in decoder.get_inputs()}
    steps = {}
    for past in args.past:
        feeds = {
            "tokens": np.array([[220]], dtype=np.int64),
            "positions": np.array([past], dtype=np.int64),
            "self_k": rng.standard_normal((n_layer, 1, past, d)).astype(np.float32),
            "self_v": rng.standard_normal((n_layer, 1, past, d)).astype(np.float32),
            "mask": np.zeros((1, past + 1), dtype=np.float32),
            **ckv_out,
        }
        missing = dec_inputs - feeds.keys()
        if missing:
            raise SystemExit(f"decoder.onnx has inputs this script does not know: {missing}")
        log(f"  decoder step at past={past} (1 warm-up + {args.decoder_repeats})")
        st = timed(lambda: decoder.run(None, feeds), args.decoder_repeats)
        outs = dict(zip([o.name for o in decoder.get_outputs()], pop_result(st)))
        st["logits_shape"] = list(outs["logits"].shape)
        st["new_self_k_shape"] = list(outs["new_self_k"].shape)
        steps[f"past_{past}"] = st
        log(f"    {st['median_s'] * 1e3:.2f} ms")

    return {
        "version": ort.__version__,
        "onnx_dir": str(onnx_dir),
        "intra_op_threads": args.threads,
        "load_s": {"encoder": enc_load, "cross_kv": ckv_load, "decoder": dec_load},
        "dims": {"n_mels": n_mels, "n_layer": n_layer, "n_audio_ctx": ckv_out["cross_v_0"].shape[1], "d_model": d},
        "encoder_3000_frames": enc,
        "cross_kv": ckv,
        "decoder_step": steps,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--audio", type=Path, help="clip for faster-whisper (bench_11s.wav)")
    p.add_argument("--ct2-dir", type=Path, help="CTranslate2 Whisper model dir (model.bin …)")
    p.add_argument("--onnx-dir", type=Path, help="dir with encoder/cross_kv/decoder .onnx")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5, help="timed runs for whole-clip work")
    p.add_argument("--decoder-repeats", type=int, default=20, help="timed decoder steps")
    p.add_argument("--past", type=int, nargs="+", default=[10, 100], help="decoder cache sizes")
    p.add_argument("--compute-types", nargs="+", default=["float32", "int8"])
    p.add_argument("--spin", action="store_true",
                   help="let idle worker threads busy-wait (the libraries' default); by default "
                   "they sleep, which is fairer on a shared machine")
    p.add_argument("--timestamps", action="store_true",
                   help="decode with timestamp tokens (faster-whisper's default is without)")
    args = p.parse_args()

    if args.ct2_dir is None and args.onnx_dir is None:
        p.error("give --ct2-dir and/or --onnx-dir")
    if args.ct2_dir is not None and args.audio is None:
        p.error("--ct2-dir needs --audio")

    _set_thread_env(args.threads, args.spin)
    result: dict = {
        "host": {
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg(),
        },
        "threads": args.threads,
        "spin_wait": args.spin,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    if args.ct2_dir is not None:
        result["faster_whisper"] = bench_faster_whisper(args)
    if args.onnx_dir is not None:
        result["onnxruntime"] = bench_onnx(args)
    result["host"]["loadavg_end"] = os.getloadavg()
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
