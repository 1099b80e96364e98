#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from one scripts/bench.sh run (standard library only).

    python3 scripts/bench_summary.py OUT_DIR

Reads perceptd-<model>-t<threads>.json (from `perceptd bench --json`) and reference-<model>.json
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


def summarize(out: Path, model: str) -> None:
    t1 = load(out / f"perceptd-{model}-t1.json")
    t2 = load(out / f"perceptd-{model}-t2.json")
    ref = load(out / f"reference-{model}.json")
    if not (t1 and t2 and ref):
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
    print(f"\n### {model} (clip {t2['clip_secs']:.2f} s, load {ref['host']['loadavg_start'][0]:.2f})\n")
    print("| benchmark | perceptd 1 thread | perceptd 2 threads | peer (2 threads) | perceptd 2 thr / peer |")
    print("|---|---|---|---|---|")
    print(f"| mel_whisper per audio second | {t1['mel_ms_per_audio_sec']:.3f} ms | {t2['mel_ms_per_audio_sec']:.3f} ms "
          f"| faster-whisper {fw_mel:.3f} ms | {ratio(t2['mel_ms_per_audio_sec'], fw_mel)} |")
    print(f"| encoder_30s (+ cross K/V) | {t1['encoder_30s_ms']:.0f} ms | {t2['encoder_30s_ms']:.0f} ms "
          f"| onnxruntime {ort_enc:.0f} ms | {ratio(t2['encoder_30s_ms'], ort_enc)} |")
    print(f"| decoder_token_at_10 | {t1['decoder_token_at_10_ms']:.2f} ms | {t2['decoder_token_at_10_ms']:.2f} ms "
          f"| onnxruntime {ort10:.2f} ms | {ratio(t2['decoder_token_at_10_ms'], ort10)} |")
    print(f"| decoder_token_at_100 | {t1['decoder_token_at_100_ms']:.2f} ms | {t2['decoder_token_at_100_ms']:.2f} ms "
          f"| onnxruntime {ort100:.2f} ms | {ratio(t2['decoder_token_at_100_ms'], ort100)} |")
    print(f"| at_100 / at_10 | {t1['decoder_token_at_100_ms'] / t1['decoder_token_at_10_ms']:.2f} "
          f"| {t2['decoder_token_at_100_ms'] / t2['decoder_token_at_10_ms']:.2f} | onnxruntime {ort100 / ort10:.2f} | |")
    print(f"| transcribe e2e | {t1['transcribe_ms']:.0f} ms (RTF {t1['rtf']:.3f}) | {t2['transcribe_ms']:.0f} ms "
          f"(RTF {t2['rtf']:.3f}) | faster-whisper f32 {fw32:.0f} ms (RTF {fw32 / 1e3 / t2['clip_secs']:.3f}) "
          f"| {ratio(t2['transcribe_ms'], fw32)} |")
    print(f"| transcribe e2e vs int8 | | | faster-whisper int8 {fw8:.0f} ms (RTF {fw8 / 1e3 / t2['clip_secs']:.3f}) "
          f"| {ratio(t2['transcribe_ms'], fw8)} |")
    print(f"| model load | {t1['load_ms']:.0f} ms | {t2['load_ms']:.0f} ms | faster-whisper f32 "
          f"{fw['runs']['float32']['load_s'] * 1e3:.0f} ms | |")
    print(f"\nperceptd text:       {t2['text']}")
    print(f"faster-whisper text: {fw['runs']['float32']['text'].strip()}")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
    for model in ("tiny.en", "base"):
        summarize(out, model)


if __name__ == "__main__":
    main()
