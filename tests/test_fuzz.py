"""Fuzzing in the test suite (issue 20): mutated model files of every format (JSON + weights as
Model.save writes them, ONNX from to_onnx, compiled .cem), and random valid conv / pool /
activation chains checked against the Cython reference. Every case runs in a child process
(a pool of workers, restarted after a crash), so a crash or a hang is caught and reported with
its reproducer. Every outcome must be a clean run or one of the documented exceptions,
fuzzing.DOCUMENTED: ModelError and CompiledModelError (both ValueError), ValueError,
TypeError, MemoryError and OutOfMemoryError.

    CONVENGINE_FUZZ_SEED      the run's seed (default 20); case i is derived from (seed, i)
    CONVENGINE_FUZZ_SECONDS   time for new cases (default 20; CI gives it more)
    CONVENGINE_FUZZ_WORKERS   child processes (default 2)
    CONVENGINE_FUZZ_OUT       where failing cases are written (default build/fuzz-failures)

The corpus, tests/fuzz_corpus/<case>/ (case.json and the model's files, as fuzzing.write_case
writes them), holds cases that once failed or that reach deep checks; it is
replayed first, every run. A failing case's folder can be copied there as it is.
"""
from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest

import fuzzing
from conftest import randn
from graphs import G, conv

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "fuzz_corpus")
SEED = int(os.environ.get("CONVENGINE_FUZZ_SEED", "20"))
SECONDS = float(os.environ.get("CONVENGINE_FUZZ_SECONDS", "20"))
WORKERS = int(os.environ.get("CONVENGINE_FUZZ_WORKERS", "2"))
CASE_TIMEOUT = float(os.environ.get("CONVENGINE_FUZZ_CASE_TIMEOUT", "120"))
OUT = os.environ.get("CONVENGINE_FUZZ_OUT", os.path.join(HERE, "..", "build", "fuzz-failures"))

# Base models: a hand-built graph with several outputs and the ops around convolutions, and
# zoo models small enough to load many times a second.
ZOO = {"tcn_1d": {}, "resize_conv_decoder": {}, "squeezenet1_1": {"size": 48},
       "shufflenet_v2_x1_0": {"size": 32}}


def _small_model():
    """conv (asymmetric pads) -> relu, then three outputs: maxpool + constant -> softmax;
    global pool -> reshape -> gemm; linear resize (non-integer scale) -> concat -> slice."""
    rng = np.random.default_rng(7)
    g = G()
    r = g("Relu", conv(g, rng, g.input(["N", 3, 11, 9], "x"), 3, 5, pads=[0, 1, 2, 1]))
    p = g("MaxPool", r, kernel_shape=[2, 2], strides=[2, 2])
    y = g("Softmax", g("Add", p, g.init(randn(rng, 1, 5, 1, 1))), axis=1)
    flat = g("Reshape", g("GlobalAveragePool", r), g.init(np.array([0, -1], np.int64)))
    z = g("Gemm", flat, g.init(randn(rng, 4, 5)), transB=1)
    up = g("Resize", r, "", g.init(np.array([1, 1, 2, 1.5], np.float32)), mode="linear")
    s = g("Slice", g("Concat", up, up, axis=1), g.init(np.array([1, 2], np.int64)),
          g.init(np.array([9, -1], np.int64)), g.init(np.array([1, 3], np.int64)))
    return g.model(y, z, s)


@pytest.fixture(scope="module")
def bases():
    models = {"small": _small_model()}
    models.update({n: fuzzing.zoo_model(n, o) for n, o in ZOO.items()})
    return {(kind, name): fuzzing.files_of(kind, m)
            for name, m in models.items() for kind in ("json", "onnx", "cem")}


class Pool:
    """Worker processes (spawned: the engine's threads do not survive a fork) that each run one
    case at a time; a worker that dies or overruns CASE_TIMEOUT is replaced."""

    def __init__(self, n):
        self.ctx = multiprocessing.get_context("spawn")
        self.workers = [self._start() for _ in range(n)]

    def _start(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=fuzzing.worker, args=(child,), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "case": None, "since": 0.0}

    def idle(self):
        return [w for w in self.workers if w["case"] is None]

    def submit(self, w, label, case):
        w["conn"].send(case)
        w["case"], w["label"], w["since"] = case, label, time.monotonic()

    def collect(self, timeout=0.05):
        """Yields (label, case, status, detail) of cases that finished, crashed or hung."""
        from multiprocessing.connection import wait
        busy = {w["conn"]: w for w in self.workers if w["case"] is not None}
        ready = wait(list(busy), timeout) if busy else []
        now = time.monotonic()
        for conn, w in busy.items():
            status = None
            if conn in ready:
                try:
                    status, detail = conn.recv()
                except (EOFError, OSError):
                    w["proc"].join(5)
                    status, detail = "crash", f"worker died with exit code {w['proc'].exitcode}"
            elif now - w["since"] > CASE_TIMEOUT:
                w["proc"].kill()
                w["proc"].join(5)
                status, detail = "hang", f"no answer after {CASE_TIMEOUT:.0f} s"
            if status is None:
                continue
            yield w["label"], w["case"], status, detail
            w["case"] = None
            if status in ("crash", "hang"):
                self.workers[self.workers.index(w)] = self._start()

    def close(self):
        for w in self.workers:
            if w["case"] is None and w["proc"].is_alive():
                w["conn"].send(None)
            else:
                w["proc"].kill()
        for w in self.workers:
            w["proc"].join(10)
            if w["proc"].is_alive():
                w["proc"].kill()


def _run_all(cases, deadline=None):
    """Runs (label, case) pairs from the iterator `cases` on the pool until it is exhausted or
    the deadline passes. Returns (outcome counts, failures as (label, case, status, detail))."""
    pool = Pool(WORKERS)
    counts, failures = {}, []
    try:
        pending = True
        while True:
            for w in pool.idle():
                if not pending or (deadline is not None and time.monotonic() > deadline):
                    pending = False
                    break
                item = next(cases, None)
                if item is None:
                    pending = False
                    break
                pool.submit(w, *item)
            if not pending and not any(w["case"] is not None for w in pool.workers):
                break
            for label, case, status, detail in pool.collect():
                key = f"{case['kind']} {detail if status == 'ok' else status}"
                counts[key] = counts.get(key, 0) + 1
                if status != "ok":
                    failures.append((label, case, status, detail))
    finally:
        pool.close()
    return counts, failures


def _report(counts, failures, what):
    lines = []
    for label, case, status, detail in failures:
        folder = os.path.abspath(os.path.join(OUT, label))
        fuzzing.write_case(case, folder)
        lines.append(f"{label}: {case['kind']} {case.get('base', '')} {status}; reproducer in "
                     f"{folder} (replay: copy it to tests/fuzz_corpus/)\n{detail}")
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"{what}: {sum(counts.values())} cases: {summary}")
    assert not failures, f"{len(failures)} {what} case(s) failed:\n" + "\n".join(lines)


def test_corpus_replays():
    names = sorted(os.listdir(CORPUS))
    assert names, "the corpus is empty"
    cases = iter([(f"corpus-{n}", fuzzing.read_case(os.path.join(CORPUS, n))) for n in names])
    counts, failures = _run_all(cases)
    _report(counts, failures, "corpus")


def test_fuzz(bases):
    start = time.monotonic()
    deadline = start + SECONDS
    cases = ((f"seed{SEED}-case{i}", fuzzing.make_case(SEED, i, bases))
             for i in range(10**9))
    counts, failures = _run_all(cases, deadline)
    print(f"fuzz: seed {SEED}, {time.monotonic() - start:.1f} s")
    _report(counts, failures, f"fuzz seed {SEED}")
    assert sum(counts.values()) >= 10, "too few cases ran in the time given"


def test_cases_are_reproducible(bases):
    """Case i of a seed is the same every time: a reported seed and index reproduce it."""
    for i in (0, 7, 31):
        assert fuzzing.make_case(SEED, i, bases) == fuzzing.make_case(SEED, i, bases)


def test_a_crash_is_caught_and_reported(tmp_path, monkeypatch):
    """A worker killed by a signal is reported as a crash with its reproducer, and the pool goes
    on with a new worker."""
    import signal
    crash = {"kind": "graph", "spec": {"input": [1, 1, 1, 1], "layers": [], "seed": 0},
             "threads": 1, "signal": int(signal.SIGSEGV)}
    ok = {"kind": "graph", "spec": {"input": [1, 2, 3, 3], "layers": [{"op": "Relu", "alpha": 0}],
                                    "seed": 1}, "threads": 1}
    counts, failures = _run_all(iter([("crash", crash), ("after", ok)]))
    assert [(label, status) for label, _, status, _ in failures] == [("crash", "crash")]
    # -11, or -6 under AddressSanitizer, whose SEGV handler aborts
    assert "exit code -" in failures[0][3], failures[0][3]
    assert counts == {"graph crash": 1, "graph ran": 1}
    monkeypatch.setitem(globals(), "OUT", str(tmp_path))
    with pytest.raises(AssertionError, match="reproducer in"):
        _report(counts, failures, "crash test")
    assert fuzzing.read_case(str(tmp_path / "crash"))["signal"] == int(signal.SIGSEGV)
