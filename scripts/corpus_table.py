#!/usr/bin/env python3
"""corpus_table.py REPORT.json [...]: the markdown table of a bench_corpus.sh report (several
reports: one table each, in order). Stdlib only."""

import json
import sys


def fmt_ms(s):
    return "–" if s is None or s != s else f"{1000 * s:.0f}"


for path in sys.argv[1:]:
    r = json.load(open(path))
    print(f"\n{path}\n")
    print("| condition | audio | pieces | batch WER | streamed WER | finals (low conf.) | longest final | latency p50 | p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in r["conditions"]:
        print(f"| {c['condition']} | {c['audio_s']:.0f} s | {c['pieces']} | {100 * c['batch_wer']:.1f} % | "
              f"{100 * c['streamed_wer']:.1f} % | {c['finals']} ({c.get('low_confidence', 0)}) | "
              f"{c['longest_final_s']:.1f} s | {fmt_ms(c['latency_p50_s'])} ms | {fmt_ms(c['latency_p95_s'])} ms |")
    print(f"| **all** | | | | | | | {fmt_ms(r['latency_p50_s'])} ms | {fmt_ms(r['latency_p95_s'])} ms |")
    problems = [p for c in r["conditions"] for p in c.get("problems", [])]
    if problems:
        print("\nacceptance problems:\n" + "\n".join(f"- {p}" for p in problems))
