#!/usr/bin/env python3
"""soak_plot.py — the RSS and descriptor curves of a scripts/soak.sh run as a small PNG.

Usage: soak_plot.py OUTDIR [PNG] [--title TEXT]     (PNG defaults to OUTDIR/soak.png)

Top: RSS (MiB) per minute, with the +-5 % band around the reference minute (5; 1 for runs shorter
than 10 minutes). Bottom: open descriptors and threads. Broker restarts are dashed lines (the
shading is the time without a broker).
Needs matplotlib (a venv: python3 -m venv V && V/bin/pip install matplotlib).
"""

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("png", type=Path, nargs="?")
    ap.add_argument("--title", default="perceptd soak")
    args = ap.parse_args()
    out = args.outdir
    rows = list(csv.DictReader(open(out / "samples.csv")))
    minute = [int(r["minute"]) for r in rows]
    rss = [int(r["rss_kb"]) / 1024 for r in rows]
    fds = [int(r["fds"]) for r in rows]
    threads = [int(r["threads"]) for r in rows]
    events = list(csv.DictReader(open(out / "events.csv")))
    stops = [float(e["elapsed_s"]) / 60 for e in events if e["event"] == "broker_stop"]
    starts = [float(e["elapsed_s"]) / 60 for e in events if e["event"] == "broker_start"]
    ref_minute = 5 if minute[-1] >= 10 else 1

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=[3, 2])
    if ref_minute in minute:
        ref = rss[minute.index(ref_minute)]
        top.fill_between([ref_minute, minute[-1]], ref * 0.95, ref * 1.05, color="tab:green", alpha=0.15,
                         label=f"±5 % of minute {ref_minute}")
    top.plot(minute, rss, "o-", ms=3, color="tab:blue", label="RSS")
    top.set_ylabel("RSS (MiB)")
    top.set_ylim(0, max(rss) * 1.15)
    bottom.plot(minute, fds, "o-", ms=3, color="tab:orange", label="open fds")
    bottom.plot(minute, threads, "s-", ms=2, color="tab:gray", label="threads")
    bottom.set_ylabel("count")
    bottom.set_ylim(0, max(fds + threads) * 1.3)
    bottom.set_xlabel("minutes since start")
    for ax in (top, bottom):
        for i, (stop, start) in enumerate(zip(stops, starts)):
            ax.axvline(stop, color="tab:red", ls="--", lw=0.8, alpha=0.6, label="broker restart" if i == 0 else None)
            ax.axvspan(stop, start, color="tab:red", alpha=0.15)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8, ncol=3)
    top.set_title(args.title, fontsize=10)
    fig.tight_layout()
    png = args.png or out / "soak.png"
    fig.savefig(png, dpi=80)
    print(f"wrote {png} ({png.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
