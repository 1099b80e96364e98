#!/usr/bin/env python3
"""bench_vision_reference.py - onnxruntime timings of perceptd's image graphs, for BENCHMARKS.md.

Runs one image graph on onnxruntime's CPU provider and prints ONE JSON object: the median wall
time of one run (after one warm-up) on a fixed-seed input of the graph's input shape, with
1 intra-op thread (how perceptd's vision thread runs) and with --threads threads.

    PY scripts/bench_vision_reference.py --onnx MODEL.onnx --input NAME [--repeat 10] [--threads 2]

Needs numpy and onnxruntime (the tools venv of `perceptd models fetch` has both).
"""

import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def median_ms(session, feeds, repeat):
    """Median wall time of session.run over `repeat` runs after one warm-up, in ms."""
    session.run(None, feeds)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, feeds)
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def session_for(path, threads):
    """An onnxruntime CPU session with `threads` intra-op threads that sleep when idle."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def feeds_for(session, image_input):
    """Inputs for every graph input: pixels for `image_input`, a short token row for the rest."""
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        if inp.name == image_input:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
        else:
            ids = np.zeros(shape, dtype=np.int64)
            ids[..., 0], ids[..., 1] = 49406, 49407
            feeds[inp.name] = ids if "int64" in inp.type else ids.astype(np.int32)
    return feeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", required=True, help="the ONNX graph")
    parser.add_argument("--input", default="input", help="name of the pixel input")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    result = {"onnx": args.onnx, "onnxruntime": ort.__version__, "threads": args.threads}
    for label, threads in (("single_thread_ms", 1), ("pooled_ms", args.threads)):
        session = session_for(args.onnx, threads)
        result[label] = median_ms(session, feeds_for(session, args.input), args.repeat)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
