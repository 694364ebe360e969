"""Fuzzes the compiled-model loader for a bounded time: random byte changes to the description
section of compiled zoo models, resealed with a valid checksum so they reach the checks behind
it, are loaded through the C API and, when they load, run. Every outcome must be an error with a
message or a run that returns; a crash kills the process (CI fails). Used by .ci/run.

    python tools/fuzz_compiled.py [--seconds 60] [--seed 0] [models...]
"""
from __future__ import annotations

import argparse
import random
import struct
import sys
import time

import numpy as np

import convengine as ce
from convengine import _capi, _native, zoo

HEADER = struct.Struct("<8sIIQQQQQQ")
SMALL = {"mobilenet_v3_small": {"size": 64}, "shufflenet_v2_x1_0": {"size": 64},
         "deeplab_aspp": {"size": 17}, "resize_conv_decoder": {}, "dcn_resnet_block": {},
         "tcn_1d": {}, "c3d_small": {"size": 32}, "deepface_local": {"size": 100},
         "inception_v3_block": {}}


def reseal(b: bytes) -> bytes:
    h = list(HEADER.unpack_from(b))
    h[-1] = _native.model_checksum(b[64:])
    return HEADER.pack(*h) + b[64:]


def compile_bytes(name, options):
    from convengine._graph import planner
    sess = ce.InferenceSession(zoo.get(name, **options))
    shapes = {i.name: tuple(d if isinstance(d, int) else 1 for d in i.shape)
              for i in sess.get_inputs()}
    return planner.build(sess.model, shapes, keep_file=True).file


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("models", nargs="*", default=sorted(SMALL))
    args = ap.parse_args(argv)
    print(f"fuzz_compiled: seed {args.seed}", flush=True)
    rnd = random.Random(args.seed)
    lib = _capi.library()
    files = [compile_bytes(n, SMALL.get(n, {})) for n in args.models]
    end = time.monotonic() + args.seconds
    counts = {"error": 0, "ran": 0, "run error": 0, "skipped run": 0}
    while time.monotonic() < end:
        f = rnd.choice(files)
        meta = HEADER.unpack_from(f)[5]
        b = bytearray(f)
        for _ in range(rnd.randint(1, 6)):
            i = rnd.randrange(64, 64 + meta)
            b[i] = rnd.choice([0, 1, 0x7F, 0x80, 0xFF, rnd.randrange(256)])
        try:
            m = _capi.CModel(reseal(bytes(b)), lib)
        except _capi.CError as e:
            assert e.message, "an error without a message"
            counts["error"] += 1
            continue
        sizes = [np.prod(s, dtype=np.float64) for _, s in m.inputs + m.outputs]
        if max(sizes, default=0) > 1e7:
            counts["skipped run"] += 1
            continue
        try:
            m.run(*[np.ones(s, np.float32) for _, s in m.inputs])
            counts["ran"] += 1
        except _capi.CError as e:
            assert e.message
            counts["run error"] += 1
        m.close()
    print(f"fuzz_compiled: {sum(counts.values())} mutated files over {len(files)} models: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
