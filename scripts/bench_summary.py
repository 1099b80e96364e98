#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from one scripts/bench.sh run (standard library only).

    python3 scripts/bench_summary.py OUT_DIR

Reads perceptd-<model>-<engine>-<precision>-t<threads>.json (from `perceptd bench --json`) and reference-<model>.json
(from scripts/bench_reference.py) and prints, per model, perceptd's figures next to faster-whisper
(same CTranslate2 weights) and onnxruntime (same ONNX graphs), with ratios perceptd / peer
(above 1 means perceptd is slower).
"""
import json
import sys
from pathlib import Path


def load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


ENGINES = [("native", "int8"), ("native", "f32"), ("tract", "f32")]


def summarize(out: Path, model: str) -> None:
    runs = {(e, p, t): load(out / f"perceptd-{model}-{e}-{p}-t{t}.json")
            for e, p in ENGINES for t in (1, 2)}
    ref = load(out / f"reference-{model}.json")
    if not all(runs.values()) or not ref:
        print(f"{model}: missing results in {out}")
        return
    fw = ref["faster_whisper"]
    ort = ref["onnxruntime"]
    fw32 = fw["runs"]["float32"]["transcribe"]["median_s"] * 1e3
    fw8 = fw["runs"]["int8"]["transcribe"]["median_s"] * 1e3
    ort_enc = (ort["encoder_3000_frames"]["median_s"] + ort["cross_kv"]["median_s"]) * 1e3
    ort10 = ort["decoder_step"]["past_10"]["median_s"] * 1e3
    ort100 = ort["decoder_step"]["past_100"]["median_s"] * 1e3
    fw_mel = fw["log_mel"]["per_audio_second_s"] * 1e3
    best = runs[("native", "int8", 2)]
    clip = best["clip_secs"]
    cols = [(e, p, t) for e, p in ENGINES for t in (1, 2)]
    print(f"\n### {model} (clip {clip:.2f} s, load {ref['host']['loadavg_start'][0]:.2f})\n")
    print("| benchmark | " + " | ".join(f"{e} {p} {t}T" for e, p, t in cols)
          + " | peer (2 threads) | native int8 2T / peer |")
    print("|---|" + "---|" * len(cols) + "---|---|")

    def row(name, key, fmt, peer_name, peer):
        cells = " | ".join(fmt.format(runs[c][key]) for c in cols)
        print(f"| {name} | {cells} | {peer_name} {fmt.format(peer)} | {ratio(best[key], peer)} |")

    row("mel_whisper per audio second", "mel_ms_per_audio_sec", "{:.3f} ms", "faster-whisper", fw_mel)
    row("encoder_30s (+ cross K/V)", "encoder_30s_ms", "{:.0f} ms", "onnxruntime f32", ort_enc)
    row("decoder_token_at_10", "decoder_token_at_10_ms", "{:.2f} ms", "onnxruntime f32", ort10)
    row("decoder_token_at_100", "decoder_token_at_100_ms", "{:.2f} ms", "onnxruntime f32", ort100)
    row("transcribe e2e", "transcribe_ms", "{:.0f} ms", "faster-whisper f32", fw32)
    print(f"| transcribe e2e vs int8 | " + " | ".join(f"RTF {runs[c]['rtf']:.3f}" for c in cols)
          + f" | faster-whisper int8 {fw8:.0f} ms | {ratio(best['transcribe_ms'], fw8)} |")
    row("model load", "load_ms", "{:.0f} ms", "faster-whisper int8",
        fw["runs"]["int8"]["load_s"] * 1e3)
    for c in cols:
        print(f"\nperceptd {c[0]} {c[1]} {c[2]}T text: {runs[c]['text']}")
    print(f"faster-whisper int8 text: {fw['runs']['int8']['text'].strip()}")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
    for model in ("tiny.en", "base"):
        summarize(out, model)


if __name__ == "__main__":
    main()
