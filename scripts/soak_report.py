#!/usr/bin/env python3
"""soak_report.py — the verdicts of a scripts/soak.sh run, from what it left in its output dir.

Usage: soak_report.py OUTDIR

Prints, and writes to OUTDIR/summary.json:
- RSS: the sample at the reference minute (5; 1 for runs shorter than 10 minutes) against every
  later one; PASS when all are within +-5 %.
- Descriptors: start, reference and end counts; PASS ("no growth") when the most seen in the last
  quarter of the window after the reference minute is no more than the most seen in its first
  quarter.
- Finals, label events and captions (the durable messages): what the daemon published (its log of
  published messages; finals also against its utterances_final counter from the "perceptd stopped"
  line) against what the subscriber received, de-duplicated (finals by utterance_id, label events
  and captions by payload); PASS when none is missing.
- The daemon's warnings and errors, counted by message; dropped audio, latency of the finals.
Stdlib only. Exit status 1 when a verdict fails.
"""

import csv
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PUBLISHED = re.compile(r"perceptd::published: (\S+) (.*)$")
LEVEL = re.compile(r"\b(WARN|ERROR)\b\s+(.*)$")
STOPPED = re.compile(r"perceptd stopped.*counters=(\{.*?\})")


def durable_kind(topic):
    """'final', 'labels' or 'caption' for the durable topics, else None."""
    if topic.endswith("/transcript"):
        return "final"
    if topic.endswith("/labels"):
        return "labels"
    if topic.endswith("/caption"):
        return "caption"
    return None


def message_key(kind, payload):
    if kind == "final":
        return json.loads(payload)["utterance_id"]
    return payload


def read_daemon_log(path):
    published = {"final": [], "labels": [], "caption": []}
    problems = Counter()
    counters = None
    for raw in path.read_text(errors="replace").splitlines():
        line = ANSI.sub("", raw)
        if m := PUBLISHED.search(line):
            kind = durable_kind(m.group(1))
            if kind:
                published[kind].append(message_key(kind, m.group(2)))
            continue
        if m := STOPPED.search(line):
            counters = json.loads(m.group(1))
        if m := LEVEL.search(line):
            # One bucket per message: numbers, times and ids blurred.
            blurred = re.sub(r"[0-9]+(\.[0-9]+)?", "N", m.group(2))[:160]
            problems[f"{m.group(1)} {blurred}"] += 1
    return published, problems, counters


def read_received(path):
    got = {"final": [], "labels": [], "caption": []}
    finals, stats = [], None
    if not path.exists():
        return got, finals, stats
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split(" ", 4)
        if len(parts) < 5:
            continue
        at, _retained, _qos, topic, payload = parts
        if topic.endswith("/stats"):
            stats = json.loads(payload)
            continue
        kind = durable_kind(topic)
        if kind:
            got[kind].append(message_key(kind, payload))
            if kind == "final":
                finals.append((float(at), json.loads(payload)))
    return got, finals, stats


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    out = Path(sys.argv[1])
    samples = list(csv.DictReader(open(out / "samples.csv")))
    for s in samples:
        for k in ("minute", "rss_kb", "hwm_kb", "fds", "threads", "broker_restarts"):
            s[k] = int(s[k])
    events = list(csv.DictReader(open(out / "events.csv")))
    published, problems, counters = read_daemon_log(out / "daemon.log")
    received, finals, last_stats = read_received(out / "received.txt")
    verdicts, summary = {}, {}

    last = samples[-1]["minute"]
    ref_minute = 5 if last >= 10 else 1
    window = [s for s in samples if s["minute"] >= ref_minute]
    if len(window) >= 2:
        ref = window[0]
        devs = [(s["rss_kb"] - ref["rss_kb"]) / ref["rss_kb"] for s in window]
        worst = max(devs, key=abs)
        verdicts["rss_flat"] = abs(worst) <= 0.05
        quarter = max(1, len(window) // 4)
        fd_first, fd_last = max(s["fds"] for s in window[:quarter]), max(s["fds"] for s in window[-quarter:])
        verdicts["fds_no_growth"] = fd_last <= fd_first
        summary["rss"] = {
            "ref_minute": ref_minute,
            "ref_mib": round(ref["rss_kb"] / 1024, 1),
            "end_mib": round(window[-1]["rss_kb"] / 1024, 1),
            "min_mib": round(min(s["rss_kb"] for s in window) / 1024, 1),
            "max_mib": round(max(s["rss_kb"] for s in window) / 1024, 1),
            "max_deviation_pct": round(100 * worst, 2),
            "peak_hwm_mib": round(max(s["hwm_kb"] for s in samples) / 1024, 1),
            "start_mib": round(samples[0]["rss_kb"] / 1024, 1),
        }
        summary["fds"] = {
            "start": samples[0]["fds"],
            "ref": ref["fds"],
            "end": window[-1]["fds"],
            "min": min(s["fds"] for s in window),
            "max": max(s["fds"] for s in window),
            "first_quarter_max": fd_first,
            "last_quarter_max": fd_last,
        }
        summary["threads"] = {"start": samples[0]["threads"], "ref": ref["threads"], "end": window[-1]["threads"],
                              "max": max(s["threads"] for s in window)}
        summary["cpu_s"] = float(samples[-1]["cpu_s"])
        summary["load1"] = {"min": min(float(s["load1"]) for s in samples),
                            "median": statistics.median(float(s["load1"]) for s in samples),
                            "max": max(float(s["load1"]) for s in samples)}
    summary["minutes"] = last
    summary["broker_restarts"] = sum(1 for e in events if e["event"] == "broker_start")
    summary["daemon_exit"] = next((e["event"] for e in events if e["event"].startswith("daemon_")
                                   and e["event"] != "daemon_sigterm"), "none")

    delivery = {}
    for kind in ("final", "labels", "caption"):
        sent, got = published[kind], received[kind]
        missing = sorted(set(sent) - set(got))
        delivery[kind] = {"published": len(set(sent)), "received_unique": len(set(got) & set(sent)),
                          "received_lines": len(got), "duplicates": len(got) - len(set(got)),
                          "missing": missing[:20], "missing_count": len(missing),
                          "unexpected": len(set(got) - set(sent))}
        verdicts[f"no_lost_{kind}"] = not missing and bool(sent or kind != "final")
    if counters is not None:
        delivery["final"]["utterances_final_counter"] = counters.get("utterances_final")
        verdicts["counter_matches_log"] = counters.get("utterances_final") == len(set(published["final"]))
    else:
        verdicts["daemon_stopped_cleanly"] = False
    summary["delivery"] = delivery
    summary["counters"] = counters
    summary["last_stats_message"] = last_stats
    lat = [p["latency_ms"] for _, p in finals]
    summary["finals_latency_ms"] = {"p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95),
                                    "max": max(lat) if lat else None}
    summary["finals_with_dropped_audio"] = len({p["utterance_id"] for _, p in finals if p["dropped_audio_ms"]})
    summary["low_confidence_finals"] = len({p["utterance_id"] for _, p in finals if p["confidence"] == "low"})
    summary["log_problems"] = dict(problems.most_common())
    summary["verdicts"] = verdicts
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    r, f = summary.get("rss", {}), summary.get("fds", {})
    print(f"soak: {last} min, {summary['broker_restarts']} broker restarts, daemon {summary['daemon_exit']}")
    if r:
        print(f"RSS: start {r['start_mib']} MiB, minute {ref_minute} {r['ref_mib']} MiB, end {r['end_mib']} MiB, "
              f"range {r['min_mib']}-{r['max_mib']} MiB, max deviation {r['max_deviation_pct']:+.2f} % "
              f"-> {'PASS' if verdicts['rss_flat'] else 'FAIL'} (+-5 %)")
        print(f"fds: start {f['start']}, minute {ref_minute} {f['ref']}, end {f['end']}, range {f['min']}-{f['max']} "
              f"-> {'PASS' if verdicts['fds_no_growth'] else 'FAIL'} (no growth)")
        t = summary["threads"]
        print(f"threads: start {t['start']}, minute {ref_minute} {t['ref']}, end {t['end']}, max {t['max']}")
        print(f"cpu: {summary['cpu_s']} s; load average (1 min) {summary['load1']['min']}-{summary['load1']['max']}, "
              f"median {summary['load1']['median']}")
    for kind, d in delivery.items():
        extra = f", utterances_final counter {d['utterances_final_counter']}" if "utterances_final_counter" in d else ""
        print(f"{kind}: published {d['published']}{extra}, received {d['received_unique']} unique "
              f"({d['duplicates']} duplicates), missing {d['missing_count']} "
              f"-> {'PASS' if verdicts[f'no_lost_{kind}'] else 'FAIL'}"
              + (f" {d['missing']}" if d["missing"] else ""))
    if counters:
        keys = ("dropped_audio_ms", "audio_overruns", "finals_suppressed", "finals_low_confidence",
                "partials_skipped", "mqtt_disconnects", "mqtt_connect_attempts", "mqtt_dropped",
                "outbox_written", "outbox_dropped", "outbox_fallbacks", "outbox_replayed",
                "frames_analyzed", "frame_errors", "source_restarts", "audio_samples_in")
        print("counters: " + ", ".join(f"{k} {counters.get(k)}" for k in keys))
    lm = summary["finals_latency_ms"]
    print(f"finals latency_ms p50 {lm['p50']}, p95 {lm['p95']}, max {lm['max']}; "
          f"finals marked with dropped audio {summary['finals_with_dropped_audio']}")
    print(f"daemon warnings/errors: {sum(problems.values())}")
    for msg, n in problems.most_common(12):
        print(f"  {n:5d}  {msg}")
    failed = [k for k, ok in verdicts.items() if not ok]
    print("verdict: " + ("PASS" if not failed else "FAIL: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
