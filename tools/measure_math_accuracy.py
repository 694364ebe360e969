"""Max error of convengine's element-wise math kernels against float64, over float32 inputs.

    PYTHONPATH=python python tools/measure_math_accuracy.py [--step K] [--isa avx512|avx2|scalar] [op ...]

Every K-th float32 bit pattern (K = 1: every float) of each op's range goes through a
one-node InferenceSession (1 thread) and is compared with the float64 reference of
convengine._graph.eval_math (scipy's erf / erfcx are used when present, for speed). Reported:
the max relative error over inputs and outputs of magnitude >= 2^-126 (the engine reads smaller
inputs as 0 and flushes smaller results: DAZ / FTZ), the input where it occurs, and the max
absolute error over the rest; non-finite results must equal the reference's. The figures in the
kernels' comments (native/elementwise/*-avx2.cpp) come from this tool with --step 1024 (--step 1,
every float, takes about a minute per op on an idle core)."""
from __future__ import annotations

import argparse
import sys

import numpy as np

import convengine
from convengine import _native
from convengine._graph import eval_math as em
from convengine.model import Graph, Model, Node, ValueInfo

try:
    from scipy.special import erf as _erf, erfc as _erfc
except ImportError:  # pragma: no cover
    _erf, _erfc = em.erf, em.erfc

FLT_MIN = 2.0 ** -126


def _gelu(x):
    return 0.5 * x * _erfc(-x / np.sqrt(2))


# op: (ONNX op, attrs, float64 reference, |x| range)
OPS = {
    "erf": ("Erf", {}, _erf, (0, 4.0)),
    "gelu": ("Gelu", {}, _gelu, (0, 14.0)),
    "gelu_tanh": ("Gelu", {"approximate": "tanh"}, lambda x: em.gelu(x, "tanh"), (0, 12.0)),
    "mish": ("Mish", {}, em.mish, (0, 100.0)),
    "softplus": ("Softplus", {}, em.softplus, (0, 100.0)),
    "elu": ("Elu", {"alpha": 1.0}, lambda x: em.elu(x, 1.0), (0, 100.0)),
    "selu": ("Selu", {}, lambda x: em.selu(x, 1.6732632423543772, 1.0507009873554805), (0, 100.0)),
    "celu": ("Celu", {"alpha": 0.5}, lambda x: em.celu(x, 0.5), (0, 100.0)),
    "exp": ("Exp", {}, np.exp, (0, 89.0)),
    "log": ("Log", {}, np.log, (0, np.inf)),
    "softsign": ("Softsign", {}, em.softsign, (0, np.inf)),
    "sigmoid": ("Sigmoid", {}, lambda x: 1.0 / (1.0 + np.exp(-x)), (0, 100.0)),
}


def session(op, attrs, n):
    g = Graph([Node(op, ["x"], ["y"], "n", dict(attrs))], [ValueInfo("x", [n])],
              [ValueInfo("y", [n])], {})
    return convengine.InferenceSession(Model(g, 20), optimize=False)


SCALED_FLUSH = {"mish", "gelu_tanh"}


def chunks(lo, hi, step, chunk, positive_only=False):
    """Every step-th float32 with lo <= |x| < hi, by bit pattern, both signs, in arrays of at
    most `chunk`; no denormals (the engine reads them as 0: DAZ)."""
    a = int(np.float32(max(lo, FLT_MIN)).view(np.uint32))
    b = int(np.float32(min(hi, 3.4e38)).view(np.uint32)) if np.isfinite(hi) else 0x7F800000
    for sign in ((0,) if positive_only else (0, 0x80000000)):
        for start in range(a, b, step * chunk):
            bits = np.arange(start, min(b, start + step * chunk), step, dtype=np.uint64)
            yield (bits.astype(np.uint32) | np.uint32(sign)).view(np.float32)


def measure(name, step, chunk=1 << 22):
    op, attrs, ref, (lo, hi) = OPS[name]
    worst, at, abs_err, count = 0.0, None, 0.0, 0
    sess = session(op, attrs, chunk)
    pad = np.zeros(chunk, np.float32)
    for xs in chunks(lo, hi, step, chunk, positive_only=name == "log"):
        count += xs.size
        pad[:xs.size] = xs
        got = sess.run(None, {"x": pad})[0][:xs.size].astype(np.float64)
        with np.errstate(all="ignore"):
            want = ref(xs.astype(np.float64))
        with np.errstate(over="ignore"):
            want32 = want.astype(np.float32)
        ok = np.isfinite(want32)
        # below 2^-126 (outputs flushed by FTZ; for mish and gelu_tanh a factor x of a flushed
        # exp): absolute error only
        tiny = FLT_MIN * (np.maximum(1.0, np.abs(xs)) if name in SCALED_FLUSH else 1.0)
        big = ok & (np.abs(want32) >= tiny)
        rel = np.abs(got[big] - want[big]) / np.abs(want[big])
        if rel.size and rel.max() > worst:
            worst, at = float(rel.max()), float(xs[big][rel.argmax()])
        small = ok & ~big
        if small.any():
            abs_err = max(abs_err, float(np.abs(got[small] - want[small]).max()))
        bad = ~ok & ~(np.isnan(got) & np.isnan(want32)) & (got != want32)
        if bad.any():
            print(f"  {name}: special value mismatch at {xs[bad][:4]}: {got[bad][:4]} vs "
                  f"{want32[bad][:4]}")
    return worst, at, abs_err, count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", type=int, default=16)
    ap.add_argument("--isa", default="avx2")
    ap.add_argument("ops", nargs="*")
    args = ap.parse_args()
    _native.set_isa(args.isa)
    convengine.set_num_threads(1)
    for name in args.ops or OPS:
        worst, at, abs_err, n = measure(name, args.step)
        print(f"{name:10s} {args.isa}: max rel error {worst:.3g} ({worst / 2**-24:.2f} x 2^-24) at "
              f"x = {at!r}; below 2^-126 max abs {abs_err:.2g}; {n} inputs", flush=True)


if __name__ == "__main__":
    sys.exit(main())
