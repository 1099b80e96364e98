#!/usr/bin/env python3
"""Streaming benchmark for `perceptd run` (tiny.en): latency from end of speech to the final's
publish, and CPU use while idle.

Usage: bench_stream.py --perceptd PATH [--models-dir DIR] [--port 1883] [--out JSON]
                       [--camera none|effnet|clip --clip-dir DIR] [--camera-fps N] [--no-idle]
                       [--idle-cameras N] [--idle-only]

With --camera, a synthetic moving-pattern camera (640x480, motion gate off) runs next to the
speech at --camera-fps frames per second, limited to --camera-max-fps (0: no limit, every frame
reaches the model): `effnet` with EfficientNet-Lite0, `clip` with the
CLIP export in --clip-dir (e.g. the SYNTHETIC full-size ViT-B/32 of
scripts/make_synthetic_clip.py --preset vit-b32). The
latency then shows whether camera work starves speech.

1. Latency: the 12 test sentences (tests/speech/sentences.txt, spoken by espeak-ng) with 1.5 s of
   silence between them, streamed in real time from a WAV file source; a mosquitto_sub collects
   the finals; `latency_ms` of each final (end of speech -> handed to the MQTT client) gives
   p50/p95. Repeated --rounds times (default 2) for more samples.
2. Idle CPU: 60 s of digital silence streamed in real time; CPU time of the perceptd process
   (utime+stime from /proc) between t=20 s and t=55 s, as a percentage of one core. With
   --idle-cameras N, N static cameras run beside it (an `images` camera each, watching a
   directory with one small PNG, EfficientNet-Lite0): the vision thread then waits on N cameras.

Needs: espeak-ng, sox, mosquitto_sub, a broker on 127.0.0.1:PORT, installed models.
Stdlib only.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def speech_wav(tmp):
    """All test sentences with 1.5 s gaps, 16 kHz mono."""
    sentences = [l.strip() for l in (REPO / "tests/speech/sentences.txt").read_text().splitlines() if l.strip()]
    parts = []
    sh("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(tmp / "gap.wav"), "trim", "0", "1.5")
    for i, text in enumerate(sentences):
        raw, wav = tmp / f"r{i}.wav", tmp / f"s{i}.wav"
        sh("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text)
        sh("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav))
        parts += [str(tmp / "gap.wav"), str(wav)]
    parts.append(str(tmp / "gap.wav"))
    out = tmp / "speech.wav"
    sh("sox", *parts, str(out))
    return out, len(sentences)


def camera_section(args):
    """The [vision] and [[camera]] tables for --camera, or nothing."""
    if args.camera == "none":
        return ""
    camera = f"""
[[camera]]
kind = "synthetic"
name = "bench"
width = 640
height = 480
fps = {args.camera_fps}
max_fps = {args.camera_max_fps}
motion_threshold = 0
"""
    if args.camera == "effnet":
        return "[vision]\nmodel = \"efficientnet-lite0\"\n" + camera
    clip = Path(args.clip_dir)
    return f"""[vision]
model = "clip"
[vision.clip]
name = "clip-vit-b32-synthetic"
vision_model = "{clip / 'vision_model.onnx'}"
text_model = "{clip / 'text_model.onnx'}"
labels = ["person", "cat", "empty room"]
templates = ["a photo of a {{}}."]
""" + camera


def config(path, prefix, port, wav, camera=""):
    path.write_text(f"""
device = "bench"
[mqtt]
url = "mqtt://127.0.0.1:{port}"
topic_prefix = "{prefix}"
[log]
stats_interval_secs = 0
[speech]
threads = 2
[[source]]
kind = "file"
name = "clip"
path = "{wav}"
realtime = true
{camera}""")


def wav_seconds(path):
    """Duration of a 16 kHz mono 16-bit WAV."""
    return (path.stat().st_size - 44) / 32000


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def run_daemon(args, conf, during=None):
    env = dict(os.environ)
    cmd = [args.perceptd, "run", "--config", str(conf)]
    if args.models_dir:
        cmd += ["--models-dir", args.models_dir]
    log = conf.with_suffix(".log")
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stderr=err, stdout=subprocess.DEVNULL, env=env)
        result = during(proc) if during else None
        proc.wait(timeout=600)
    if proc.returncode != 0:
        sys.exit(f"perceptd exited with {proc.returncode}; log: {log}")
    return result


def final_counters(conf):
    """The counters of the daemon's last "perceptd stopped" log line (JSON), or {}."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", conf.with_suffix(".log").read_text(errors="replace"))
    for line in reversed(text.splitlines()):
        if "perceptd stopped" in line and "counters=" in line:
            text = line.split("counters=", 1)[1]
            return json.loads(text[:text.rindex("}") + 1])
    return {}


def latency(args, tmp, wav, expected):
    latencies = []
    frames = {}
    for r in range(args.rounds):
        prefix = f"bench-{os.getpid()}-{r}"
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(args.port), "-t",
                                f"{prefix}/bench/audio/clip/transcript", "-q", "1"],
                               stdout=subprocess.PIPE, text=True)
        finals = []
        reader = threading.Thread(target=lambda: [finals.append(json.loads(l)) for l in sub.stdout], daemon=True)
        reader.start()
        time.sleep(0.5)
        conf = tmp / f"lat{r}.toml"
        config(conf, prefix, args.port, wav, camera_section(args))

        def stop_after_last_final(proc):
            # A camera never ends: stop the daemon once every final is in (or after a margin).
            deadline = time.monotonic() + wav_seconds(wav) + 30
            while len(finals) < expected and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            if proc.poll() is None:
                proc.terminate()

        run_daemon(args, conf, stop_after_last_final if args.camera != "none" else None)
        time.sleep(1)
        sub.terminate()
        reader.join(timeout=2)
        print(f"round {r}: {len(finals)} finals (expected {expected}): "
              + ", ".join(str(f["latency_ms"]) for f in finals), file=sys.stderr)
        latencies += [f["latency_ms"] for f in finals]
        counters = final_counters(conf)
        for key in ("frames_captured", "frames_analyzed", "frames_dropped", "frames_skipped_rate",
                    "frames_skipped_motion"):
            frames[key] = frames.get(key, 0) + counters.get(key, 0)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))]
    return {"finals": len(latencies), "p50_ms": q(0.5), "p95_ms": q(0.95), "max_ms": latencies[-1],
            "mean_ms": round(statistics.mean(latencies)), "frames": frames}


def tiny_png(path):
    """A 32x32 grey PNG (stdlib only)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * 96 for _ in range(32))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def static_cameras(tmp, n):
    """[vision] and n watched-directory cameras with one still image each."""
    if n == 0:
        return ""
    text = "[vision]\nmodel = \"efficientnet-lite0\"\n"
    for i in range(n):
        folder = tmp / f"still{i}"
        folder.mkdir(exist_ok=True)
        tiny_png(folder / "still.png")
        text += f"""
[[camera]]
kind = "images"
name = "still{i}"
path = "{folder}"
watch = true
"""
    return text


def idle_cpu(args, tmp):
    silence = tmp / "silence.wav"
    sh("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", "60")
    conf = tmp / "idle.toml"
    config(conf, f"bench-idle-{os.getpid()}", args.port, silence, static_cameras(tmp, args.idle_cameras))

    def measure(proc):
        time.sleep(20)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(35)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        if args.idle_cameras:
            proc.terminate()  # watched cameras never end; SIGTERM is a clean shutdown
        return {"cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2), "window_s": round(t1 - t0, 1)}

    return run_daemon(args, conf, measure)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perceptd", required=True)
    ap.add_argument("--models-dir")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--camera", choices=["none", "effnet", "clip"], default="none")
    ap.add_argument("--clip-dir", help="CLIP export for --camera clip")
    ap.add_argument("--camera-fps", type=float, default=10)
    ap.add_argument("--camera-max-fps", type=float, default=0, help="the camera's max_fps (0: no limit)")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle-CPU measurement")
    ap.add_argument("--idle-cameras", type=int, default=0, help="static cameras during the idle measurement")
    ap.add_argument("--idle-only", action="store_true", help="only the idle-CPU measurement")
    args = ap.parse_args()
    if args.camera == "clip" and not args.clip_dir:
        ap.error("--camera clip needs --clip-dir")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result = {"camera": args.camera, "idle_cameras": args.idle_cameras}
        if not args.idle_only:
            wav, n = speech_wav(tmp)
            result["latency"] = latency(args, tmp, wav, n)
        if not args.no_idle:
            result["idle"] = idle_cpu(args, tmp)
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
