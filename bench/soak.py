"""Soak: resident memory (RSS) of one session over many runs, and over sessions created and
dropped (issue 20, item 8).

    PYTHONPATH=python python bench/soak.py [--runs 10000] [--sessions 0] [--bound-mib 8]

Warms up (plans, arenas, the thread pool, numpy's and malloc's free lists), reads RSS, runs the
session `--runs` times (each run on a fresh output array, inputs cycling over a few arrays),
reads RSS again, then optionally creates, runs once and drops `--sessions` sessions. Fails (exit
status 1) if RSS grew by more than `--bound-mib` MiB in either phase. A leak of one float per run
would be 39 KiB per 10,000 runs; of one activation buffer (mobilenet_v3_small at 96: 110 KiB),
1 GiB. tests/test_concurrency.py::test_soak_rss runs it (a slow test: `pytest -m slow`, or
CONVENGINE_SLOW_TESTS=1).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import convengine as ce  # noqa: E402
from convengine import zoo  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def soak(runs=10000, sessions=0, warmup=500, model="mobilenet_v3_small", size=96, threads=None,
         log=print):
    """Returns dict(rss_warm, rss_runs, rss_sessions (bytes), runs_s, sessions_s)."""
    if threads is not None:
        ce.set_num_threads(threads)
    m = zoo.get(model, size=size)
    sess = ce.InferenceSession(m)
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((b, 3, size, size)).astype(np.float32) for b in (1, 1, 2)]
    ref = [sess.run(None, {name: x})[0] for x in xs]
    for i in range(warmup):
        sess.run(None, {name: xs[i % len(xs)]})
    gc.collect()
    res = dict(rss_warm=rss_bytes())
    t0 = time.perf_counter()
    for i in range(runs):
        (y,) = sess.run(None, {name: xs[i % len(xs)]})
        if i % 1000 == 0 and not np.array_equal(y, ref[i % len(xs)]):
            raise AssertionError(f"run {i}: output differs from the first run's")
    res["runs_s"] = time.perf_counter() - t0
    gc.collect()
    res["rss_runs"] = rss_bytes()
    log(f"{runs} runs of {model} at {size} ({res['runs_s']:.1f} s): RSS "
        f"{res['rss_warm'] / 2**20:.1f} -> {res['rss_runs'] / 2**20:.1f} MiB")
    if sessions:
        # the first few sessions warm the planner's caches
        for _ in range(min(3, sessions)):
            ce.InferenceSession(m).run(None, {name: xs[0]})
        gc.collect()
        before = rss_bytes()
        t0 = time.perf_counter()
        for _ in range(sessions):
            s = ce.InferenceSession(m)
            s.run(None, {name: xs[0]})
            del s
        gc.collect()
        res["sessions_s"] = time.perf_counter() - t0
        res["rss_sessions_before"] = before
        res["rss_sessions"] = rss_bytes()
        log(f"{sessions} sessions created, run and dropped ({res['sessions_s']:.1f} s): RSS "
            f"{before / 2**20:.1f} -> {res['rss_sessions'] / 2**20:.1f} MiB")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--sessions", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--model", default="mobilenet_v3_small")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--bound-mib", type=float, default=8.0)
    a = ap.parse_args(argv)
    r = soak(a.runs, a.sessions, a.warmup, a.model, a.size, a.threads)
    bad = (r["rss_runs"] - r["rss_warm"]) / 2**20 > a.bound_mib
    if a.sessions:
        bad |= (r["rss_sessions"] - r["rss_sessions_before"]) / 2**20 > a.bound_mib
    print("FAIL: RSS grew by more than" if bad else "ok: RSS grew by at most", a.bound_mib, "MiB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
