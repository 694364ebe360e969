"""Fuzzes the compiled-model loader for a bounded time: random byte changes to the description
section of compiled zoo models, resealed with a valid checksum so they reach the checks behind
it, are loaded through the C API and, when they load, run. Every outcome must be an error with a
message or a run that returns; a crash kills the process (CI fails), and a case that takes more
than --case-timeout seconds is a hang: its file is written to build/fuzz-failures/ and the
process exits with 1. Used by .ci/run.

    python tools/fuzz_compiled.py [--seconds 60] [--seed 0] [--case-timeout 30] [models...]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time

import numpy as np

from convengine import _capi

# the mutations are shared with the fuzz test of the suite
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import fuzzing  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case-timeout", type=float, default=30)
    ap.add_argument("models", nargs="*", default=sorted(fuzzing.SMALL_ZOO))
    args = ap.parse_args(argv)
    print(f"fuzz_compiled: seed {args.seed}", flush=True)
    rnd = random.Random(args.seed)
    lib = _capi.library()
    files = [fuzzing.compile_model(fuzzing.zoo_model(n)) for n in args.models]
    end = time.monotonic() + args.seconds
    counts = {"error": 0, "ran": 0, "run error": 0, "skipped run": 0}
    case = 0
    while time.monotonic() < end:
        i = rnd.randrange(len(files))
        f = files[i]
        meta = fuzzing.HEADER.unpack_from(f)[5]
        data = fuzzing.reseal(fuzzing.flip_bytes(rnd, f, 64, 64 + meta))
        case += 1
        # the C calls release the GIL, so the timer fires while a load or run hangs
        watchdog = threading.Timer(args.case_timeout, _hang, (args, case, args.models[i], data))
        watchdog.start()
        try:
            _one_case(lib, data, counts)
        finally:
            watchdog.cancel()
    print(f"fuzz_compiled: {sum(counts.values())} mutated files over {len(files)} models: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _one_case(lib, data, counts):
    try:
        m = _capi.CModel(data, lib)
    except _capi.CError as e:
        assert e.message, "an error without a message"
        counts["error"] += 1
        return
    sizes = [np.prod(s, dtype=np.float64) for _, s in m.inputs + m.outputs]
    if max(sizes, default=0) > 1e7:
        counts["skipped run"] += 1
    else:
        try:
            m.run(*[np.ones(s, np.float32) for _, s in m.inputs])
            counts["ran"] += 1
        except _capi.CError as e:
            assert e.message
            counts["run error"] += 1
    m.close()


def _hang(args, case, model, data):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "fuzz-failures")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"compiled-seed{args.seed}-case{case}-{model}.cem")
    with open(path, "wb") as fh:
        fh.write(data)
    print(f"fuzz_compiled: case {case} (seed {args.seed}, a mutation of {model}) did not finish "
          f"in {args.case_timeout:g} s; its file: {os.path.normpath(path)}", flush=True)
    os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
