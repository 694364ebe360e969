"""A held-out hostile campaign (issue 20): cases no issue lists, each run in a child process
so that a crash or a hang is caught, every outcome classified against a reference.

    python tools/hostile_campaign.py [--seed 22] [--workers 2] [--timeout 60] [--only CAT ...]
                                     [--list] [--case NAME] [--verbose]

Categories: runtime (a session's inputs: views, negative strides, read-only, unaligned,
big-endian and other dtypes, 0-d, NaN/Inf, huge broadcast batches, symbolic-dimension
mismatches, memmaps, arrays written or dropped by another thread), functional (random hostile
calls against torch or the Cython reference), onnx_torch (torch.onnx.export of small modules
with odd attributes, against onnxruntime and torch, dynamic H/W too), onnx_proto (hand-made
ONNX graphs: duplicates, cycles, lies, huge dims, against onnxruntime), json (hostile model
documents), cem (compiled files truncated at every offset, bit flips, huge counts, through
the session and the C API), capi (NULL pointers, bad indices, thread counts, a FIFO), session
(API misuse), paths (FIFOs, devices, directories, symlinks as model files), concurrency (more
shapes than the plan cache holds from 4 threads while the pool changes) and inplace
(activations with inplace=True against torch's in-place ops). An outcome is

    pass    a result equal to the reference (torch, onnxruntime, the Cython reference, or the
            same run on a clean float32 copy), or a run where no reference applies
    clean   a documented exception (ModelError / ValueError / TypeError / MemoryError and
            their subclasses) with a one-line message, where the reference refuses too or
            the refusal is documented
    crash   the child process died (a signal, an abort)
    hang    no answer within --timeout seconds
    wrong   a result that differs from the reference, an undocumented exception, an empty
            message, or a refusal of a call the reference accepts

Cases are generated from --seed (the same seed lists the same cases). The exit status is 1
when any case crashed, hung or was wrong. tests/test_hostile_campaign.py runs the cases
that once found a bug (and a sample of each category) in the normal suite.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import sys
import tempfile
import threading
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DOCUMENTED = (ValueError, TypeError, MemoryError)   # ModelError etc. are ValueErrors


class Wrong(AssertionError):
    """The case's outcome differs from its reference."""


class Clean(Exception):
    """Raised by a case to report a documented refusal it checked itself."""


# ------------------------------------------------------------------ helpers
def _close(got, want, rtol=1e-4, atol=1e-4, what="output"):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise Wrong(f"{what}: shape {got.shape} != reference {want.shape}")
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if (nan_g != nan_w).any():
        raise Wrong(f"{what}: NaN at {int((nan_g != nan_w).sum())} places the reference "
                    f"differs")
    inf = np.isinf(w) | np.isinf(g)
    if (g[inf] != w[inf]).any():
        raise Wrong(f"{what}: infinities differ from the reference")
    ok = ~(nan_w | inf)
    err = np.abs(g[ok] - w[ok])
    tol = atol + rtol * np.abs(w[ok]) + 1e-5 * (np.abs(w[ok]).max() if ok.any() else 0)
    if (err > tol).any():
        raise Wrong(f"{what}: max |diff| {float(err.max()):.3g} (reference max "
                    f"{float(np.abs(w[ok]).max()):.3g})")


def _documented(e: BaseException) -> bool:
    return isinstance(e, DOCUMENTED) and bool(str(e).strip()) and "\n" not in str(e).strip()


def _clean(e: BaseException) -> str:
    if not _documented(e):
        raise Wrong(f"undocumented outcome {type(e).__name__}: {str(e)[:300]!r}") from e
    return f"{type(e).__name__}: {str(e)[:160]}"


def _small_model(symbolic_hw=False):
    """conv 3x3 (pad 1) -> relu -> maxpool 2x2 -> conv 1x1 -> sigmoid, input x."""
    from convengine.model import Graph, Model, Node, ValueInfo
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((6, 3, 3, 3)).astype(np.float32) * 0.3
    b0 = rng.standard_normal(6).astype(np.float32) * 0.1
    w1 = rng.standard_normal((4, 6, 1, 1)).astype(np.float32) * 0.3
    shape = ["N", 3, "H", "W"] if symbolic_hw else ["N", 3, 8, 8]
    nodes = [Node("Conv", ["x", "w0", "b0"], ["c0"], "conv0", {"pads": [1, 1, 1, 1]}),
             Node("Relu", ["c0"], ["r0"], "relu0"),
             Node("MaxPool", ["r0"], ["p0"], "pool0", {"kernel_shape": [2, 2], "strides": [2, 2]}),
             Node("Conv", ["p0", "w1"], ["c1"], "conv1"),
             Node("Sigmoid", ["c1"], ["y"], "sig")]
    return Model(Graph(nodes, [ValueInfo("x", shape)], [ValueInfo("y")],
                       {"w0": w0, "b0": b0, "w1": w1}))


def _torch_small(model, x):
    """_small_model computed by torch (the NaN reference: onnxruntime's MaxPool drops NaN
    where torch and convengine propagate it)."""
    import torch
    import torch.nn.functional as F
    g = model.graph.initializers
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    with torch.no_grad():
        t = F.conv2d(t, torch.from_numpy(g["w0"]), torch.from_numpy(g["b0"]), padding=1).relu()
        t = F.conv2d(F.max_pool2d(t, 2), torch.from_numpy(g["w1"])).sigmoid()
    return t.numpy()


def _ort(model_or_bytes, feeds):
    import onnxruntime as ort
    if not isinstance(model_or_bytes, (bytes, bytearray)):
        from convengine.onnx_export import to_onnx
        model_or_bytes = to_onnx(model_or_bytes).SerializeToString()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 4
    s = ort.InferenceSession(bytes(model_or_bytes), so, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


# ------------------------------------------------------------------ run-time inputs
RUNTIME_KINDS = [
    "contiguous", "sliced_view", "negative_strides", "transposed_nhwc", "fortran", "readonly",
    "unaligned", "big_endian", "float64", "float16", "int32", "int64", "bool", "complex64",
    "object", "structured", "zero_d", "rank3", "rank5", "nan_inf", "huge_batch",
    "batch_2_24", "huge_hw", "hw_1", "hw_mismatch_fixed", "broadcast_batch", "broadcast_all",
    "memmap", "memmap_readonly", "matrix_subclass", "masked_array", "list_input", "torch_tensor",
    "none_input", "other_thread_writes", "other_thread_drops", "denormals", "max_float",
    "int_key", "extra_key", "missing_key", "huge_strides", "empty_batch", "byteswapped_view",
]


def case_runtime(p):
    import convengine as ce
    kind, dyn = p["kind"], p["dynamic"]
    model = _small_model(symbolic_hw=dyn)
    sess = ce.InferenceSession(model)
    rng = np.random.default_rng(p["seed"])
    h = w = 8
    if dyn:
        h, w = rng.integers(2, 20, size=2).tolist()
    base = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    x = base
    feed = None
    if kind == "contiguous":
        pass
    elif kind == "sliced_view":
        big = rng.standard_normal((4, 5, 2 * h, 2 * w)).astype(np.float32)
        x = big[::2, 1:4, ::2, ::2]
    elif kind == "negative_strides":
        x = base[::-1, ::-1, ::-1, ::-1]
    elif kind == "transposed_nhwc":
        x = np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif kind == "fortran":
        x = np.asfortranarray(base)
    elif kind == "readonly":
        x = base.copy()
        x.setflags(write=False)
    elif kind == "unaligned":
        buf = bytearray(base.nbytes + 1)
        x = np.frombuffer(buf, np.float32, count=base.size, offset=1).reshape(base.shape)
        x[...] = base
    elif kind == "big_endian":
        x = base.astype(">f4")
    elif kind == "byteswapped_view":
        x = base.byteswap().view(base.dtype.newbyteorder(">"))
    elif kind in ("float64", "float16", "int32", "int64", "bool", "complex64"):
        x = base.astype(kind)
    elif kind == "object":
        x = base.astype(object)
    elif kind == "structured":
        x = np.zeros(base.shape, dtype=[("a", "<f4")])
    elif kind == "zero_d":
        x = np.float32(1.5) * np.ones((), np.float32)
    elif kind == "rank3":
        x = base[0]
    elif kind == "rank5":
        x = base[None]
    elif kind == "nan_inf":
        x = base.copy()
        x.flat[rng.integers(0, x.size, 7)] = np.nan
        x.flat[rng.integers(0, x.size, 7)] = np.inf
        x.flat[rng.integers(0, x.size, 7)] = -np.inf
    elif kind == "denormals":
        x = (base * np.float32(1e-39)).astype(np.float32)
    elif kind == "max_float":
        x = np.sign(base) * np.float32(3.4e38)
    elif kind == "huge_batch":
        x = np.broadcast_to(base[:1], (1 << 16, 3, h, w))
    elif kind == "batch_2_24":
        x = np.broadcast_to(base[:1], ((1 << 24) + 1, 3, h, w))
    elif kind == "huge_hw":
        x = np.broadcast_to(base[:1, :, :1, :1], (1, 3, 30000, 30000) if dyn else (1, 3, 8, 8))
    elif kind == "hw_1":
        x = base[:, :, :1, :1].copy() if dyn else base
    elif kind == "hw_mismatch_fixed":
        x = rng.standard_normal((2, 3, h + 1, w)).astype(np.float32)
    elif kind == "broadcast_batch":
        x = np.broadcast_to(base[:1], (5, 3, h, w))
    elif kind == "broadcast_all":
        x = np.broadcast_to(np.float32(0.25), (2, 3, h, w))
    elif kind in ("memmap", "memmap_readonly"):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "x.dat")
        mm = np.memmap(path, np.float32, "w+", shape=base.shape)
        mm[...] = base
        mm.flush()
        del mm
        x = np.memmap(path, np.float32, "r" if kind == "memmap_readonly" else "r+",
                      shape=base.shape)
    elif kind == "matrix_subclass":
        class Sub(np.ndarray):
            pass
        x = base.view(Sub)
    elif kind == "masked_array":
        x = np.ma.masked_array(base, mask=base > 1)
    elif kind == "list_input":
        x = base.tolist()
    elif kind == "torch_tensor":
        import torch
        x = torch.from_numpy(base)
    elif kind == "none_input":
        x = None
    elif kind == "other_thread_writes":
        x = base.copy()
        stop = threading.Event()

        def scribble():
            while not stop.is_set():
                x[...] = rng.standard_normal(x.shape).astype(np.float32)
        t = threading.Thread(target=scribble)
        t.start()
        try:
            for _ in range(20):
                (y,) = sess.run(None, {"x": x})
                if y.shape[0] != 2 or not np.isfinite(y).all():
                    raise Wrong(f"bad output under concurrent writes: {y.shape}")
        finally:
            stop.set()
            t.join()
        return "pass"
    elif kind == "other_thread_drops":
        # run() holds the array; another thread drops every other reference and collects.
        import gc
        holder = {"x": rng.standard_normal((4, 3, h, w)).astype(np.float32)[::-1]}
        want = _ort(model, {"x": np.ascontiguousarray(holder["x"])})[0]
        res = {}

        def run():
            res["y"] = sess.run(None, holder.copy())[0]
        t = threading.Thread(target=run)
        t.start()
        holder.clear()
        gc.collect()
        t.join()
        _close(res["y"], want)
        return "pass"
    elif kind == "int_key":
        feed = {0: base}
    elif kind == "extra_key":
        feed = {"x": base, "y": base}
    elif kind == "missing_key":
        feed = {}
    elif kind == "huge_strides":
        big = np.zeros((2, 3, h, w * 4096), np.float32)
        big[..., ::4096] = base
        x = big[..., ::4096]
    elif kind == "empty_batch":
        x = base[:0]
    else:
        raise AssertionError(kind)
    if feed is None:
        feed = {"x": x}
    try:
        snapshot = None
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype.itemsize == 4 \
                and x.ndim == 4 and x.size < (1 << 22):
            snapshot = np.array(x, np.float32, copy=True)
        (y,) = sess.run(None, feed)
    except Exception as e:  # noqa: BLE001
        return _clean(e)
    if not isinstance(y, np.ndarray) or y.dtype != np.float32:
        raise Wrong(f"output is {type(y).__name__} {getattr(y, 'dtype', None)}")
    if snapshot is not None:
        if not np.array_equal(np.asarray(x), snapshot, equal_nan=True):
            raise Wrong("run() modified its input")
        want = _torch_small(model, snapshot)
        if kind == "max_float":
            # +-3.4e38 overflows inside the convs: whether a sum meets inf - inf (NaN) or
            # saturates depends on its order, which no reference fixes (convengine's differs
            # between batch sizes, so between a batch and its split). Compare elsewhere.
            keep = ~(np.isnan(y) | np.isnan(want))
            _close(y[keep], want[keep])
        else:
            _close(y, want)
        if np.isfinite(snapshot).all() and np.abs(snapshot).max() < 1e30:
            _close(y, _ort(model, {"x": np.ascontiguousarray(snapshot)})[0],
                   what="output vs onnxruntime")
        # the same run on a clean copy must be bit-identical
        (y2,) = sess.run(None, {"x": np.ascontiguousarray(snapshot)})
        if not np.array_equal(y, y2, equal_nan=True):
            raise Wrong("a view and its contiguous copy give different outputs")
    elif isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 4:
        # huge broadcast views: check the first image only
        want = _ort(model, {"x": np.ascontiguousarray(x[:1])})[0]
        _close(y[:1], want)
    return "pass"


def gen_runtime(rnd):
    cases = []
    for kind in RUNTIME_KINDS:
        for dyn in (False, True):
            cases.append(("runtime", f"runtime/{kind}/{'dyn' if dyn else 'fixed'}",
                          "case_runtime", dict(kind=kind, dynamic=dyn, seed=rnd.randrange(1 << 30))))
    return cases


# ------------------------------------------------------------------ functional API vs torch
HOSTILE_INT = [0, -1, -2, 1, 2, 3, 5, 17, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 62]
FUNCS = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
         "conv_transpose3d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
         "linear", "batch_norm", "channel_shuffle", "local_conv2d", "deform_conv2d"]


def _pick(rnd, normal, hostile, p=0.25):
    return rnd.choice(hostile) if rnd.random() < p else rnd.choice(normal)


def gen_functional_params(rnd):
    f = rnd.choice(FUNCS)
    nd = {"conv1d": 1, "conv3d": 3, "conv_transpose1d": 1, "conv_transpose3d": 3}.get(f, 2)
    p = dict(func=f, nd=nd, seed=rnd.randrange(1 << 30))
    p["n"] = _pick(rnd, [1, 2], [0, 1])
    p["c"] = _pick(rnd, [1, 3, 4, 8], [0, 5, 7])
    p["size"] = [_pick(rnd, [1, 2, 5, 8, 9], [0, 1, 3]) for _ in range(nd)]
    p["k"] = [_pick(rnd, [1, 2, 3, 5], [0, -1, 7, 11, 1 << 24, (1 << 24) + 1]) for _ in range(nd)]
    p["stride"] = [_pick(rnd, [1, 2, 3], [0, -1, -2, 100, (1 << 24) + 1]) for _ in range(nd)]
    p["dilation"] = [_pick(rnd, [1, 2], [0, -1, 9]) for _ in range(nd)]
    p["padding"] = [_pick(rnd, [0, 1, 2], [-1, 4, 9, 40, (1 << 24) + 1]) for _ in range(nd)]
    p["output_padding"] = [_pick(rnd, [0, 1], [-1, 2, 5]) for _ in range(nd)]
    p["groups"] = _pick(rnd, [1, 1, 2], [0, -1, 3, 4, 8])
    p["cout"] = _pick(rnd, [2, 4, 6], [0, 1, 3, 5])
    p["weight_mismatch"] = rnd.random() < 0.1
    p["bias"] = rnd.choice([None, "ok", "ok", "wrong_len", "2d"])
    p["ceil_mode"] = rnd.random() < 0.4
    p["count_include_pad"] = rnd.random() < 0.5
    p["out_size"] = [_pick(rnd, [1, 2, 3, 5, 7], [0, -1, 1 << 20, None]) for _ in range(2)]
    p["mode"] = rnd.choice(["nearest", "bilinear", "bicubic", "nearest-exact", "area",
                            "linear", "bogus"])
    p["align_corners"] = rnd.choice([None, True, False])
    p["scale"] = _pick(rnd, [None, 0.5, 1.5, 2.0, 3.0], [0.0, -1.0, float("nan"),
                                                         float("inf"), 1e-9, 1e7])
    p["dtype"] = _pick(rnd, ["float32"], ["float64", "float16", "int32"], p=0.1)
    p["noncontig"] = rnd.random() < 0.2
    return p


def _torch_func(p, x, w, b, extra):
    import torch
    import torch.nn.functional as F
    from convengine.reference import deform as ref_deform
    f = p["func"]
    if x.dtype.kind == "f":   # documented: every floating dtype is computed in float32
        x = x.astype(np.float32)
    X = torch.from_numpy(np.ascontiguousarray(x))
    W = torch.from_numpy(np.ascontiguousarray(w)) if w is not None else None
    B = torch.from_numpy(np.ascontiguousarray(b)) if b is not None else None
    k, s, d, pad, op = p["k"], p["stride"], p["dilation"], p["padding"], p["output_padding"]
    with torch.no_grad():
        if f in ("conv1d", "conv2d", "conv3d"):
            return getattr(F, f)(X, W, B, s, pad, d, p["groups"])
        if f.startswith("conv_transpose"):
            return getattr(F, f)(X, W, B, s, pad, op, p["groups"], d)
        if f == "max_pool2d":
            return F.max_pool2d(X, k, s, pad, d, p["ceil_mode"])
        if f == "avg_pool2d":
            return F.avg_pool2d(X, k, s, pad, p["ceil_mode"], p["count_include_pad"])
        if f == "adaptive_avg_pool2d":
            return F.adaptive_avg_pool2d(X, p["out_size"])
        if f == "interpolate":
            return F.interpolate(X, **extra)
        if f == "linear":
            return F.linear(X, W, B)
        if f == "batch_norm":   # numpy: torch fails on 0 channels with an IndexError
            mean, var, wt, bs = extra
            if len(mean) != x.shape[1] or x.ndim < 2:
                raise ValueError("running stats do not match the channels")
            sh = (1, -1) + (1,) * (x.ndim - 2)
            return torch.from_numpy(((x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + 1e-5)
                                     * wt.reshape(sh) + bs.reshape(sh)).astype(np.float32))
        if f == "channel_shuffle":
            return F.channel_shuffle(X, p["groups"])
        # the Cython reference (torchvision's deform_conv2d needs its C++ ops, which may not load)
        if f == "local_conv2d":
            return torch.from_numpy(ref_deform.local_conv2d(x, w, b, s, pad, d))
        if f == "deform_conv2d":
            return torch.from_numpy(ref_deform.deform_conv2d(x, extra, w, b, s, pad, d))
    raise AssertionError(f)


def case_functional(p):
    import convengine.functional as CF
    rng = np.random.default_rng(p["seed"])
    f, nd = p["func"], p["nd"]
    dims = [max(0, v) for v in p["size"]]
    n, c, g = max(0, p["n"]), max(0, p["c"]), p["groups"]
    x = rng.standard_normal([n, c] + dims).astype(np.float32)
    if p["noncontig"] and x.size:
        x = np.ascontiguousarray(x[..., ::-1])[..., ::-1]
    if p["dtype"] != "float32":
        x = x.astype(p["dtype"])
    k = [v for v in p["k"]]
    w = b = None
    extra = None
    small_k = all(0 < v <= 64 for v in k)
    if f in ("conv1d", "conv2d", "conv3d", "deform_conv2d"):
        cin_g = c // g if g > 0 and c % g == 0 else max(c, 1)
        if not small_k:
            raise Clean("skip: kernel too large to build a weight")
        w = rng.standard_normal([p["cout"], cin_g + int(p["weight_mismatch"])] + k
                                ).astype(np.float32)
        if f == "deform_conv2d":
            g = 1
            w = rng.standard_normal([p["cout"], c] + k).astype(np.float32)
    elif f.startswith("conv_transpose"):
        if not small_k:
            raise Clean("skip: kernel too large to build a weight")
        cout_g = p["cout"]
        w = rng.standard_normal([c + int(p["weight_mismatch"]), max(cout_g, 0)] + k
                                ).astype(np.float32)
    elif f == "linear":
        w = rng.standard_normal((p["cout"], dims[-1] + int(p["weight_mismatch"]))
                                ).astype(np.float32)
    if w is not None and p["bias"] is not None:
        nb = w.shape[0] if not f.startswith("conv_transpose") else w.shape[1] * max(g, 1)
        if p["bias"] == "wrong_len":
            nb += 1
        b = rng.standard_normal((nb, 1) if p["bias"] == "2d" else nb).astype(np.float32)
    s, d, pad, op = p["stride"], p["dilation"], p["padding"], p["output_padding"]

    def ours():
        if f in ("conv1d", "conv2d", "conv3d"):
            return getattr(CF, f)(x, w, b, s, pad, d, g)
        if f.startswith("conv_transpose"):
            return getattr(CF, f)(x, w, b, s, pad, op, g, d)
        if f == "max_pool2d":
            return CF.max_pool2d(x, k, s, pad, d, p["ceil_mode"])
        if f == "avg_pool2d":
            return CF.avg_pool2d(x, k, s, pad, p["ceil_mode"], p["count_include_pad"])
        if f == "adaptive_avg_pool2d":
            return CF.adaptive_avg_pool2d(x, p["out_size"])
        if f == "interpolate":
            return CF.interpolate(x, **extra)
        if f == "linear":
            return CF.linear(x, w, b)
        if f == "batch_norm":
            return CF.batch_norm(x, *extra)
        if f == "channel_shuffle":
            return CF.channel_shuffle(x, g)
        if f == "local_conv2d":
            return CF.local_conv2d(x, w, b, s, pad, d)
        if f == "deform_conv2d":
            return CF.deform_conv2d(x, extra, w, b, s, pad, d)
        raise AssertionError(f)

    if f == "interpolate":
        extra = dict(mode=p["mode"])
        if p["scale"] is not None and rng.random() < 0.5:
            extra["scale_factor"] = p["scale"]
        else:
            extra["size"] = p["out_size"] if nd == 2 else p["out_size"][0]
        if p["align_corners"] is not None:
            extra["align_corners"] = p["align_corners"]
    elif f == "batch_norm":
        cc = c + int(p["weight_mismatch"])
        extra = [rng.standard_normal(cc).astype(np.float32),
                 np.abs(rng.standard_normal(cc)).astype(np.float32) + 0.1,
                 rng.standard_normal(cc).astype(np.float32),
                 rng.standard_normal(cc).astype(np.float32)]
    elif f == "deform_conv2d":
        if len(dims) != 2:
            raise Clean("skip")
        oh = [(dims[i] + 2 * pad[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1
              if s[i] > 0 else 1 for i in range(2)]
        oh = [max(v, 0) for v in oh]
        if math.prod(oh) > (1 << 20):
            raise Clean("skip")
        extra = rng.standard_normal([n, 2 * k[0] * k[1]] + oh).astype(np.float32)
    elif f == "local_conv2d":
        if len(dims) != 2 or not small_k or min(s) < 1 or min(d) < 1 or min(pad) < 0:
            oh = [1, 1]
        else:
            oh = [max((dims[i] + 2 * pad[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1, 1)
                  for i in range(2)]
        if not small_k or math.prod(oh) * math.prod(k) * c * p["cout"] > (1 << 22):
            raise Clean("skip")
        w = rng.standard_normal(oh + [p["cout"], c + int(p["weight_mismatch"])] + k
                                ).astype(np.float32)
        b = None if p["bias"] is None else rng.standard_normal([p["cout"]] + oh).astype(
            np.float32)
    # Ours first: a refusal over the documented size limits is clean whatever torch does, and
    # torch can take minutes on such a call (conv_transpose2d with a stride of 2^24 + 1: a
    # 1.2 GB output, over 120 s), which the campaign would count as a hang.
    got = err = None
    try:
        got = ours()
    except Exception as e:  # noqa: BLE001
        err = e
        if _size_refusal(e):
            return _clean(e)
    want = terr = None
    try:
        want = _torch_func(p, x, w, b, extra).numpy()
    except Exception as e:  # noqa: BLE001 - torch refuses: ours must refuse cleanly
        terr = e
    if err is not None:
        msg = _clean(err)
        if terr is None and not _torch_empty_output(p, want):
            raise Wrong(f"refused a call torch accepts (torch output {want.shape}): {msg}")
        return msg
    if terr is not None:
        if _known_departure(p, terr):
            return "pass"
        raise Wrong(f"accepted a call torch refuses ({type(terr).__name__}: "
                    f"{str(terr).splitlines()[0][:200]}); got {np.shape(got)}")
    _close(got, want, rtol=1e-3, atol=1e-3)
    return "pass"


def _size_refusal(e):
    """Refusals the docs list where torch computes something: sizes over the limits (2^24 per
    dimension or parameter, 2^31 elements), empty tensors and outputs, the interpolate modes
    convengine lacks (bicubic, area), a bias that is not 1-D."""
    m = str(e)
    return any(s in m for s in ("2^24", "2^31", "16777216", "limit", "too large", "empty",
                                "must be >= 1", "is not supported", "bias must have shape",
                                "floating-point"))


def _torch_empty_output(p, want):
    """Documented: a transposed conv whose output is empty along an axis is refused ("output size
    ... would be 0"), as torch refuses it ("Output size is too small") except on its dilated
    path, which returns the empty tensor (torch 2.13: conv_transpose2d of (2, 1, 1, 9) by a
    (1, 2, 2, 11) kernel, stride 2, padding (1, 0), dilation (1, 2) gives (2, 2, 0, 37); the
    same call with dilation 1 is refused)."""
    return p["func"].startswith("conv_transpose") and want is not None and want.size == 0


def _known_departure(p, terr):
    """Documented: max_pool2d accepts padding up to half the dilated kernel, where torch's
    limit is half the kernel ("pad should be at most half of ..." in older torch, "pad should
    be smaller than or equal to half of kernel size" in 2.13; seed 24034 case functional/112)."""
    m = str(terr)
    return p["func"] == "max_pool2d" and "pad should be" in m and "half" in m


def gen_functional(rnd, n=400):
    return [("functional", f"functional/{i}", "case_functional", gen_functional_params(rnd))
            for i in range(n)]


# ------------------------------------------------------------------ ONNX from torch vs onnxruntime
def _torch_module(spec):
    import torch
    from torch import nn
    torch.manual_seed(spec["seed"])
    kind, C = spec["kind"], spec["c"]
    a = spec
    if kind == "maxpool_ceil":
        m = nn.MaxPool2d(a["k"], a["s"], a["p"], dilation=a["d"], ceil_mode=True)
    elif kind == "avgpool":
        m = nn.AvgPool2d(a["k"], a["s"], a["p"], ceil_mode=a["ceil"],
                         count_include_pad=a["cip"])
    elif kind == "asym_pad_conv":
        m = nn.Sequential(nn.ZeroPad2d(tuple(a["pads"])), nn.Conv2d(C, 5, a["k"], a["s"]))
    elif kind == "neg_pad_conv":
        m = nn.Sequential(nn.ZeroPad2d((-1, 2, 0, -1)), nn.Conv2d(C, 5, 3))
    elif kind == "dilated_strided_conv":
        m = nn.Conv2d(C, 6, a["k"], a["s"], a["p"], dilation=a["d"], groups=a["g"])
    elif kind == "conv_transpose":
        m = nn.ConvTranspose2d(C, 4 * a["g"], a["k"], a["s"], a["p"],
                               output_padding=a["op"], groups=a["g"], dilation=a["d"])
    elif kind == "depthwise":
        m = nn.Sequential(nn.Conv2d(C, C, a["k"], a["s"], a["p"], dilation=a["d"], groups=C),
                          nn.ReLU6())
    elif kind == "depthwise_mult":
        m = nn.Conv2d(C, 2 * C, a["k"], a["s"], a["p"], groups=C)
    elif kind == "conv1d":
        m = nn.Sequential(nn.Conv1d(C, 4, a["k"], a["s"], a["p"], dilation=a["d"]),
                          nn.MaxPool1d(2, ceil_mode=True))
    elif kind == "conv3d":
        m = nn.Sequential(nn.Conv3d(C, 4, a["k"], a["s"], a["p"]), nn.AvgPool3d(2, ceil_mode=True))
    elif kind == "pads":
        m = nn.Sequential(nn.ReflectionPad2d(a["pads"]), nn.ReplicationPad2d(1),
                          nn.Conv2d(C, 4, 3))
    elif kind == "upsample":
        m = nn.Upsample(scale_factor=a["scale"], mode=a["mode"],
                        align_corners=(a["ac"] if a["mode"] in ("bilinear", "bicubic") else None))
    elif kind == "pixel_shuffle":
        m = nn.Sequential(nn.Conv2d(C, 16, 3, padding=1), nn.PixelShuffle(2), nn.PixelUnshuffle(2))
    elif kind == "bn_act":
        bn = nn.BatchNorm2d(C)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.1, 2)
        m = nn.Sequential(nn.Conv2d(C, C, 1, bias=False), bn, nn.Hardswish(), nn.GELU(),
                          nn.LeakyReLU(0.3), nn.ELU(), nn.SiLU(), nn.Mish())
    elif kind == "adaptive":
        m = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, 3))
    elif kind == "residual_concat":
        class M(nn.Module):
            def __init__(s):
                super().__init__()
                s.a, s.b = nn.Conv2d(C, 4, 3, padding=1), nn.Conv2d(C, 4, 1)

            def forward(s, x):
                y = torch.cat([s.a(x), s.b(x), x], 1)
                return torch.softmax(y, 1) + y.mean((2, 3), keepdim=True)
        m = M()
    elif kind == "instance_group_norm":
        m = nn.Sequential(nn.Conv2d(C, 4, 3), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4, affine=True))
    else:
        raise AssertionError(kind)
    return m.eval()


ONNX_KINDS = ["maxpool_ceil", "avgpool", "asym_pad_conv", "neg_pad_conv", "dilated_strided_conv",
              "conv_transpose", "depthwise", "depthwise_mult", "conv1d", "conv3d", "pads",
              "upsample", "pixel_shuffle", "bn_act", "adaptive", "residual_concat",
              "instance_group_norm"]


def gen_onnx_spec(rnd, kind):
    k = rnd.choice([1, 2, 3, 4, 5])
    s = rnd.choice([1, 2, 3])
    d = rnd.choice([1, 2, 3])
    spec = dict(kind=kind, seed=rnd.randrange(1 << 30), c=rnd.choice([1, 3, 4, 8]), k=k, s=s,
                d=d, p=rnd.randrange(0, k // 2 + 1), ceil=rnd.random() < 0.5,
                cip=rnd.random() < 0.5, g=rnd.choice([1, 2]),
                pads=[rnd.randrange(0, 4) for _ in range(4)], scale=rnd.choice([2, 3, 1.5, 0.5]),
                mode=rnd.choice(["nearest", "bilinear", "bicubic"]), ac=rnd.random() < 0.5,
                h=rnd.randrange(5, 17), w=rnd.randrange(5, 17), n=rnd.choice([1, 2]),
                dynamic=rnd.choice(["none", "batch", "hw"]),
                opset=rnd.choice([11, 13, 17, 18]))
    if kind == "maxpool_ceil":
        spec["p"] = rnd.randrange(0, k // 2 + 1)
    if kind == "conv_transpose":
        spec["op"] = rnd.randrange(0, max(s, d))
        if spec["c"] % spec["g"]:
            spec["g"] = 1
    if kind == "dilated_strided_conv" and (spec["c"] % spec["g"] or 6 % spec["g"]):
        spec["g"] = 1
    if kind == "pads":
        spec["pads"] = [min(v, 4) for v in spec["pads"]]
    if kind == "instance_group_norm":
        spec["opset"] = max(spec["opset"], 18)
    return spec


def case_onnx(spec):
    import torch
    import convengine as ce
    m = _torch_module(spec)
    shape = [spec["n"], spec["c"], spec["h"], spec["w"]]
    if spec["kind"] == "conv1d":
        shape = shape[:3]
    elif spec["kind"] == "conv3d":
        shape = shape + [6]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(spec["seed"]))
    try:
        with torch.no_grad():
            want_t = m(x)
    except Exception:  # noqa: BLE001 - torch itself refuses the sizes
        raise Clean("skip: torch refuses")
    dyn = None
    if spec["dynamic"] == "batch":
        dyn = {"x": {0: "N"}}
    elif spec["dynamic"] == "hw" and len(shape) == 4:
        dyn = {"x": {0: "N", 2: "H", 3: "W"}}
    buf = io.BytesIO()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(m, (x,), buf, dynamo=False, opset_version=spec["opset"],
                              input_names=["x"], output_names=["y"], dynamic_axes=dyn)
        except Exception as e:  # noqa: BLE001
            raise Clean(f"skip: export fails ({type(e).__name__})")
    data = buf.getvalue()
    feed = {"x": x.numpy()}
    try:
        want = _ort(data, feed)[0]
    except Exception as e:  # noqa: BLE001
        ort_err = e
        want = None
    else:
        ort_err = None
    d = tempfile.mkdtemp()
    path = os.path.join(d, "m.onnx")
    with open(path, "wb") as f:
        f.write(data)
    try:
        sess = ce.InferenceSession(path)
        (got,) = sess.run(None, feed)
    except Exception as e:  # noqa: BLE001
        msg = _clean(e)
        if ort_err is None:
            raise Wrong(f"refused a model onnxruntime runs: {msg}")
        return msg
    if ort_err is not None:
        # onnxruntime refuses some exports torch runs (ConvTranspose with output_padding >=
        # stride, allowed by torch when below the dilation): then torch is the reference
        _close(got, want_t.numpy(), rtol=1e-3, atol=1e-3,
               what=f"output vs torch (onnxruntime refuses: {str(ort_err)[:80]})")
        return "pass"
    _close(got, want, rtol=1e-3, atol=1e-4)
    _close(got, want_t.numpy(), rtol=1e-3, atol=1e-3, what="output vs torch")
    # A second input size when the export is dynamic.
    if dyn is not None and spec["dynamic"] == "hw":
        x2 = torch.randn(1, spec["c"], spec["h"] + 3, spec["w"] + 1)
        try:
            want2 = _ort(data, {"x": x2.numpy()})[0]
        except Exception:  # noqa: BLE001
            return "pass"
        _close(sess.run(None, {"x": x2.numpy()})[0], want2, rtol=1e-3, atol=1e-4,
               what="second size")
    return "pass"


def gen_onnx(rnd, per_kind=8):
    cases = []
    for kind in ONNX_KINDS:
        for j in range(per_kind):
            cases.append(("onnx_torch", f"onnx_torch/{kind}/{j}", "case_onnx",
                          gen_onnx_spec(rnd, kind)))
    return cases


# ------------------------------------------------------------------ hostile JSON models
def _json_doc(nodes, inputs=None, outputs=None, inits=None, **extra):
    doc = {"format": "convengine.model", "format_version": 1, "opset": 17,
           "graph": {"name": "g",
                     "inputs": inputs if inputs is not None else
                     [{"name": "x", "dtype": "float32", "shape": [1, 3, 8, 8]}],
                     "outputs": outputs if outputs is not None else [{"name": "y"}],
                     "initializers": inits or [], "nodes": nodes}}
    doc.update(extra)
    return doc


def _relu(i, o, name="r"):
    return {"name": name, "op_type": "Relu", "inputs": [i], "outputs": [o]}


def _json_cases():
    """name -> (document or raw text, extra files, expectation) where expectation is "refuse",
    "run" (the output equals the numpy reference) or "either"."""
    X = [{"name": "x", "dtype": "float32", "shape": [1, 3, 8, 8]}]
    w = {"name": "w", "dtype": "float32", "shape": [4, 3, 3, 3],
         "external_data": {"location": "m.bin", "offset": 0, "length": 432}}
    wbin = {"m.bin": np.ones(108, np.float32).tobytes()}
    conv = {"name": "c", "op_type": "Conv", "inputs": ["x", "w"], "outputs": ["y"],
            "attributes": {"pads": [1, 1, 1, 1]}}
    deep = "[" * 100000 + "]" * 100000
    cases = {
        "deep_nesting_attr": ('{"format": "convengine.model", "format_version": 1, "opset": 17,'
                              ' "graph": {"name": "g", "inputs": [], "outputs": [],'
                              ' "initializers": [], "nodes": [{"name": "r", "op_type": "Relu",'
                              ' "inputs": ["x"], "outputs": ["y"], "attributes": {"a": '
                              + deep + '}}]}}', {}, "refuse"),
        "deep_nesting_top": (deep, {}, "refuse"),
        "deep_nesting_1000": ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", {}, "refuse"),
        "duplicate_node_names": (_json_doc([_relu("x", "a", "n"), _relu("a", "y", "n")]), {},
                                 "either"),
        "duplicate_tensor_producer": (_json_doc([_relu("x", "y", "a"), _relu("x", "y", "b")]), {},
                                      "refuse"),
        "cycle": (_json_doc([_relu("b", "a", "r1"), _relu("a", "b", "r2"),
                             _relu("b", "y", "r3")]), {}, "refuse"),
        "self_loop": (_json_doc([_relu("y", "y", "r1")]), {}, "refuse"),
        "output_is_input": (_json_doc([], outputs=[{"name": "x"}]), {}, "run"),
        "output_is_input_and_node": (_json_doc([_relu("x", "y")],
                                               outputs=[{"name": "x"}, {"name": "y"}]), {}, "run"),
        # refused by the JSON format ("duplicate graph output"; onnxruntime returns it twice)
        "output_twice": (_json_doc([_relu("x", "y")], outputs=[{"name": "y"}, {"name": "y"}]),
                         {}, "either"),
        "unused_input": (_json_doc([_relu("x", "y")], inputs=X + [
            {"name": "z", "dtype": "float32", "shape": [2, 2]}]), {}, "run"),
        "input_twice": (_json_doc([_relu("x", "y")], inputs=X + X), {}, "refuse"),
        "initializer_shadows_input": (_json_doc(
            [conv], inputs=X + [{"name": "w", "dtype": "float32", "shape": [4, 3, 3, 3]}],
            inits=[w]), wbin, "either"),   # the JSON format: an initializer is not an input
        "initializer_is_output": (_json_doc([], outputs=[{"name": "w"}], inits=[w]), wbin, "run"),
        "initializer_overwritten_by_node": (_json_doc(
            [conv, _relu("x", "w", "rw")], inits=[w]), wbin, "refuse"),
        "nan_attribute_leaky": (_json_doc([{"name": "l", "op_type": "LeakyRelu", "inputs": ["x"],
                                            "outputs": ["y"], "attributes": {"alpha": "NaN"}}]),
                                {}, "either"),
        "nan_attribute_raw": ('{"format": "convengine.model", "format_version": 1, "opset": 17,'
                              ' "graph": {"name": "g", "inputs": [{"name": "x", "dtype":'
                              ' "float32", "shape": [1, 3, 8, 8]}], "outputs": [{"name": "y"}],'
                              ' "initializers": [], "nodes": [{"name": "l", "op_type":'
                              ' "LeakyRelu", "inputs": ["x"], "outputs": ["y"], "attributes":'
                              ' {"alpha": NaN}}]}}', {}, "either"),
        "inf_attribute_clip": (_json_doc([{"name": "l", "op_type": "Clip", "inputs": ["x"],
                                           "outputs": ["y"], "attributes": {"min": -1e400,
                                                                           "max": 1e400}}]),
                               {}, "either"),
        "nan_pads": ('{"format": "convengine.model", "format_version": 1, "opset": 17, "graph":'
                     ' {"name": "g", "inputs": [{"name": "x", "dtype": "float32", "shape":'
                     ' [1, 3, 8, 8]}], "outputs": [{"name": "y"}], "initializers": [], "nodes":'
                     ' [{"name": "p", "op_type": "MaxPool", "inputs": ["x"], "outputs": ["y"],'
                     ' "attributes": {"kernel_shape": [2, 2], "pads": [NaN, 0, 0, 0]}}]}}',
                     {}, "refuse"),
        "float_kernel_shape": (_json_doc([{"name": "p", "op_type": "MaxPool", "inputs": ["x"],
                                           "outputs": ["y"],
                                           "attributes": {"kernel_shape": [2.5, 2]}}]), {},
                               "refuse"),
        "bool_kernel_shape": (_json_doc([{"name": "p", "op_type": "MaxPool", "inputs": ["x"],
                                          "outputs": ["y"],
                                          "attributes": {"kernel_shape": [True, True]}}]), {},
                              "refuse"),
        "dim_2_62": (_json_doc([_relu("x", "y")], inputs=[
            {"name": "x", "dtype": "float32", "shape": [1, 3, 1 << 62, 8]}]), {}, "refuse"),
        "dim_2_64": (_json_doc([_relu("x", "y")], inputs=[
            {"name": "x", "dtype": "float32", "shape": [1, 3, 1 << 64, 8]}]), {}, "refuse"),
        "dim_negative": (_json_doc([_relu("x", "y")], inputs=[
            {"name": "x", "dtype": "float32", "shape": [1, 3, -8, 8]}]), {}, "refuse"),
        "dim_product_overflow": (_json_doc([_relu("x", "y")], inputs=[
            {"name": "x", "dtype": "float32", "shape": [1 << 20, 1 << 20, 1 << 20, 1 << 20]}]),
            {}, "refuse"),
        "init_shape_2_62": (_json_doc([conv], inits=[dict(w, shape=[1 << 62, 3, 3, 3])]), wbin,
                            "refuse"),
        "init_shape_overflow_wraps": (_json_doc([conv], inits=[
            dict(w, shape=[1 << 32, 1 << 32, 4, 27])]), wbin, "refuse"),
        "reshape_target_2_62": (_json_doc(
            [{"name": "r", "op_type": "Reshape", "inputs": ["x", "s"], "outputs": ["y"]}],
            inits=[{"name": "s", "dtype": "int64", "shape": [2], "data": [1 << 62, -1]}]), {},
            "refuse"),
        "external_offset_huge": (_json_doc([conv], inits=[dict(w, external_data={
            "location": "m.bin", "offset": 1 << 62, "length": 432})]), wbin, "refuse"),
        "external_offset_negative": (_json_doc([conv], inits=[dict(w, external_data={
            "location": "m.bin", "offset": -4, "length": 432})]), wbin, "refuse"),
        "external_length_mismatch": (_json_doc([conv], inits=[dict(w, external_data={
            "location": "m.bin", "offset": 0, "length": 400})]), wbin, "refuse"),
        "unicode_names": (_json_doc([_relu("x\u00e9\U0001F600", "\u05d0y", "\u200b")],
                                    inputs=[{"name": "x\u00e9\U0001F600", "dtype": "float32",
                                             "shape": [1, 3, 8, 8]}],
                                    outputs=[{"name": "\u05d0y"}]), {}, "run"),
        "nul_in_name": (_json_doc([_relu("x\u0000a", "y")], inputs=[
            {"name": "x\u0000a", "dtype": "float32", "shape": [1, 3, 8, 8]}]), {}, "either"),
        "lone_surrogate_name": ('{"format": "convengine.model", "format_version": 1, "opset": 17,'
                                ' "graph": {"name": "g", "inputs": [{"name": "x\\ud800",'
                                ' "dtype": "float32", "shape": [1, 3, 8, 8]}], "outputs":'
                                ' [{"name": "y"}], "initializers": [], "nodes": [{"name": "r",'
                                ' "op_type": "Relu", "inputs": ["x\\ud800"], "outputs":'
                                ' ["y"]}]}}', {}, "either"),
        "empty_name": (_json_doc([_relu("", "y")], inputs=[
            {"name": "", "dtype": "float32", "shape": [1, 3, 8, 8]}]), {}, "either"),
        # names are at most 64 KiB (the compiled format's limit; once refused only at planning)
        "huge_name": (_json_doc([_relu("x" * 1000000, "y")], inputs=[
            {"name": "x" * 1000000, "dtype": "float32", "shape": [1, 3, 8, 8]}]), {}, "refuse"),
        "long_name_fits": (_json_doc([_relu("\u00e9" * 32768, "y")], inputs=[
            {"name": "\u00e9" * 32768, "dtype": "float32", "shape": [1, 3, 8, 8]}]), {}, "run"),
        "many_nodes": (_json_doc([_relu("x" if i == 0 else f"t{i - 1}", f"t{i}" if i < 4999
                                        else "y", f"r{i}") for i in range(5000)]), {}, "run"),
        "no_outputs": (_json_doc([_relu("x", "y")], outputs=[]), {}, "refuse"),
        "output_not_produced": (_json_doc([_relu("x", "y")], outputs=[{"name": "zz"}]), {},
                                "refuse"),
        "node_input_missing": (_json_doc([_relu("nope", "y")]), {}, "refuse"),
        "nodes_not_list": (_json_doc({"a": 1}), {}, "refuse"),
        "node_is_string": (_json_doc(["Relu"]), {}, "refuse"),
        "inputs_is_null": (_json_doc([_relu("x", "y")], inputs=None) | {"graph": None}, {},
                           "refuse"),
        "attributes_list": (_json_doc([dict(_relu("x", "y"), attributes=[1, 2])]), {}, "refuse"),
        "op_type_unknown": (_json_doc([{"name": "r", "op_type": "Frobnicate", "inputs": ["x"],
                                        "outputs": ["y"]}]), {}, "refuse"),
        "op_type_int": (_json_doc([{"name": "r", "op_type": 7, "inputs": ["x"],
                                    "outputs": ["y"]}]), {}, "refuse"),
        "duplicate_json_keys": ('{"format": "convengine.model", "format_version": 1, "opset": 17,'
                                ' "graph": {"name": "g", "inputs": [], "outputs": [],'
                                ' "initializers": [], "nodes": []}, "graph": 5}', {}, "refuse"),
        "opset_huge": (_json_doc([_relu("x", "y")]) | {"opset": 1 << 62}, {}, "refuse"),
        "opset_float": (_json_doc([_relu("x", "y")]) | {"opset": 17.5}, {}, "refuse"),
        "format_version_2": (_json_doc([_relu("x", "y")]) | {"format_version": 2}, {}, "refuse"),
        "dtype_junk": (_json_doc([_relu("x", "y")], inputs=[
            {"name": "x", "dtype": "float128", "shape": [1, 3, 8, 8]}]), {}, "refuse"),
        "inline_data_wrong_count": (_json_doc([conv], inits=[
            {"name": "w", "dtype": "float32", "shape": [4, 3, 3, 3], "data": [1.0, 2.0]}]), {},
            "refuse"),
        "inline_data_nan_strings": (_json_doc([conv], inits=[
            {"name": "w", "dtype": "float32", "shape": [4, 3, 3, 3], "data": ["NaN"] * 108}]), {},
            "either"),
        "inline_int_overflow": (_json_doc(
            [{"name": "r", "op_type": "Reshape", "inputs": ["x", "s"], "outputs": ["y"]}],
            inits=[{"name": "s", "dtype": "int64", "shape": [2], "data": [1 << 70, -1]}]), {},
            "refuse"),
        "not_utf8": (b'{"format": "convengine.model", "graph": "\xff\xfe"}', {}, "refuse"),
        "empty_file": ("", {}, "refuse"),
        "json_array_top": ("[]", {}, "refuse"),
        "json_null": ("null", {}, "refuse"),
        "huge_number": ('{"format": "convengine.model", "format_version": 1' + "0" * 100000
                        + "}", {}, "refuse"),
    }
    return cases


def _numpy_reference(model, feeds):
    from convengine._graph.evaluate import run_numpy
    return run_numpy(model, feeds)


def case_json(p):
    import convengine as ce
    doc, files, expect = _json_cases()[p["name"]]
    d = tempfile.mkdtemp()
    for n, b in files.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(b)
    path = os.path.join(d, "m.json")
    if isinstance(doc, bytes):
        data = doc
    elif isinstance(doc, str):
        data = doc.encode("utf-8", "surrogatepass")
    else:
        data = json.dumps(doc).encode()
    with open(path, "wb") as f:
        f.write(data)
    try:
        sess = ce.InferenceSession(path)
        rng = np.random.default_rng(0)
        feeds = {}
        for i in sess.get_inputs():
            feeds[i.name] = rng.standard_normal([d if isinstance(d, int) else 1
                                                 for d in i.shape]).astype(np.float32)
        outs = sess.run(None, feeds)
    except Exception as e:  # noqa: BLE001
        msg = _clean(e)
        if expect == "run":
            raise Wrong(f"refused a valid model: {msg}")
        return msg
    if expect == "refuse":
        raise Wrong(f"ran a model that must be refused; outputs "
                    f"{[np.shape(o) for o in outs]}")
    model = ce.load(path)
    want = _numpy_reference(model, feeds)
    names = [o.name for o in sess.get_outputs()]
    for n, got in zip(names, outs):
        _close(got, want[n], what=f"output {n!r}")
    return "pass"


def gen_json(rnd):
    return [("json", f"json/{n}", "case_json", {"name": n}) for n in _json_cases()]


# ------------------------------------------------------------------ compiled files
def _cem_bytes():
    import convengine as ce
    from convengine._graph import planner
    sess = ce.InferenceSession(_small_model())
    return bytes(planner.build(sess.model, {"x": (1, 3, 8, 8)}, keep_file=True).file)


def _reseal(b):
    import struct
    from convengine import _native
    hdr = struct.Struct("<8sIIQQQQQQ")
    h = list(hdr.unpack_from(b))
    h[-1] = _native.model_checksum(b[64:])
    return hdr.pack(*h) + b[64:]


def _load_and_run(data, capi=False):
    """Loads compiled bytes (session, or the C API) and runs them once; returns "pass" or a
    clean-error string; raises Wrong otherwise."""
    import convengine as ce
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    try:
        if capi:
            from convengine._capi import CError, CModel
            try:
                m = CModel(bytes(data))
            except CError as e:
                if not e.message.strip():
                    raise Wrong(f"C API error without a message (code {e.code})")
                return f"CError {e.code}"
            if len(m.inputs) == 1 and np.prod(m.inputs[0][1]) < (1 << 22):
                try:
                    m.run(np.zeros(m.inputs[0][1], np.float32))
                except CError as e:
                    return f"CError {e.code}"
            return "pass"
        d = tempfile.mkdtemp()
        path = os.path.join(d, "m.cem")
        with open(path, "wb") as f:
            f.write(data)
        sess = ce.InferenceSession(path)
        ins = sess.get_inputs()
        if len(ins) == 1 and list(ins[0].shape) == [1, 3, 8, 8]:
            sess.run(None, {ins[0].name: x})
        return "pass"
    except Exception as e:  # noqa: BLE001
        return _clean(e)


def case_cem(p):
    data = _cem_bytes()
    kind = p["kind"]
    results = []
    if kind == "truncate":
        for off in range(p["lo"], min(p["hi"], len(data))):
            r = _load_and_run(data[:off], capi=p["capi"])
            if r == "pass":
                raise Wrong(f"a file truncated to {off} of {len(data)} bytes loaded and ran")
            results.append(r)
        return results[0] if results else "pass"
    rnd = random.Random(p["seed"])
    for _ in range(p["count"]):
        b = bytearray(data)
        if kind == "flip":
            i = rnd.randrange(64, len(b))
            b[i] ^= 1 << rnd.randrange(8)
        elif kind == "huge":
            i = rnd.randrange(64, len(b) - 8) & ~3
            v = rnd.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFFFFFFFFFF,
                            1 << 62, 1 << 40, 0x10000])
            b[i:i + 8] = v.to_bytes(8, "little")
        elif kind == "header":
            i = rnd.randrange(8, 64) & ~3
            b[i:i + 4] = rnd.choice([0xFFFFFFFF, 0x7FFFFFFF, 0, 1 << 20]).to_bytes(4, "little")
        out = _load_and_run(_reseal(bytes(b)) if kind != "header" else bytes(b), capi=p["capi"])
        results.append(out)
    return f"{sum(r == 'pass' for r in results)} ran, {len(results)} total"


def gen_cem(rnd, size=None):
    cases = []
    if size is None:
        size = _cem_size()
    step = 256
    for capi in (False, True):
        for lo in range(0, size, step):
            cases.append(("cem", f"cem/truncate/{lo}/{'capi' if capi else 'py'}", "case_cem",
                          dict(kind="truncate", lo=lo, hi=lo + step, capi=capi)))
        for kind in ("flip", "huge", "header"):
            for j in range(6):
                cases.append(("cem", f"cem/{kind}/{j}/{'capi' if capi else 'py'}", "case_cem",
                              dict(kind=kind, seed=rnd.randrange(1 << 30), count=40, capi=capi)))
    return cases


def _cem_size():
    return len(_cem_bytes())


# ------------------------------------------------------------------ the C API
CAPI_KINDS = ["load_null_path", "load_null_out", "load_memory_null", "load_memory_zero",
              "load_memory_null_out", "load_dir", "load_missing", "input_name_oob",
              "input_shape_null_dims", "input_shape_oob", "counts_null_model", "run_null_inputs",
              "run_null_outputs", "run_null_model", "run_null_input_pointer", "set_threads_twice",
              "set_threads_zero", "set_threads_negative", "set_threads_huge", "status_null",
              "free_null", "version", "run_many_threads_changing", "load_fifo",
              "load_huge_size_claim"]


def case_capi(p):
    import ctypes
    from convengine import _capi
    lib = _capi.library()
    data = _cem_bytes()
    kind = p["kind"]
    P = ctypes.c_void_p

    def status(s):
        if not s:
            return "ok"
        code = lib.ce_status_code(s)
        msg = lib.ce_status_message(s).decode(errors="replace")
        lib.ce_status_free(s)
        if not msg.strip():
            raise Wrong(f"status {code} without a message")
        return f"status {code}: {msg[:120]}"

    h = P()
    good = P()
    if status(lib.ce_model_load_from_memory(data, len(data), ctypes.byref(good))) != "ok":
        raise Wrong("the clean model does not load")
    try:
        if kind == "load_null_path":
            r = status(lib.ce_model_load(None, ctypes.byref(h)))
        elif kind == "load_null_out":
            d = tempfile.mkdtemp()
            with open(os.path.join(d, "m.cem"), "wb") as f:
                f.write(data)
            r = status(lib.ce_model_load(os.path.join(d, "m.cem").encode(), None))
        elif kind == "load_memory_null":
            r = status(lib.ce_model_load_from_memory(None, 100, ctypes.byref(h)))
        elif kind == "load_memory_zero":
            r = status(lib.ce_model_load_from_memory(data, 0, ctypes.byref(h)))
        elif kind == "load_memory_null_out":
            r = status(lib.ce_model_load_from_memory(data, len(data), None))
        elif kind == "load_dir":
            r = status(lib.ce_model_load(tempfile.mkdtemp().encode(), ctypes.byref(h)))
        elif kind == "load_fifo":
            d = tempfile.mkdtemp()
            os.mkfifo(os.path.join(d, "f.cem"))
            r = status(lib.ce_model_load(os.path.join(d, "f.cem").encode(), ctypes.byref(h)))
        elif kind == "load_missing":
            r = status(lib.ce_model_load(b"/nonexistent/m.cem", ctypes.byref(h)))
        elif kind == "load_huge_size_claim":
            # a size larger than the buffer cannot be checked by the library: a size of the
            # header only
            r = status(lib.ce_model_load_from_memory(data, 64, ctypes.byref(h)))
        elif kind == "input_name_oob":
            names = [lib.ce_model_input_name(good, i) for i in (-1, 1, 99, 1 << 30)]
            if any(n is not None for n in names):
                raise Wrong(f"out-of-range input names returned {names}")
            r = "ok: NULL names"
        elif kind == "input_shape_null_dims":
            n = lib.ce_model_input_shape(good, 0, None)
            if n != 4:
                raise Wrong(f"rank query with NULL dims gave {n}")
            r = "ok: rank"
        elif kind == "input_shape_oob":
            dims = (ctypes.c_int64 * 8)()
            n = [lib.ce_model_input_shape(good, i, dims) for i in (-1, 1, 1 << 30)] + \
                [lib.ce_model_output_shape(good, i, dims) for i in (-1, 1, 1 << 30)]
            if any(v >= 0 for v in n):
                raise Wrong(f"out-of-range shape queries gave ranks {n}")
            r = "ok: -1"
        elif kind == "counts_null_model":
            n = (lib.ce_model_input_count(None), lib.ce_model_output_count(None),
                 lib.ce_model_input_name(None, 0), lib.ce_model_input_shape(None, 0, None))
            r = f"ok: {n}"
        elif kind in ("run_null_inputs", "run_null_outputs", "run_null_model",
                      "run_null_input_pointer"):
            x = np.zeros((1, 3, 8, 8), np.float32)
            y = np.zeros((1, 4, 4, 4), np.float32)
            ins = (P * 1)(x.ctypes.data)
            outs = (P * 1)(y.ctypes.data)
            if kind == "run_null_inputs":
                r = status(lib.ce_model_run(good, None, outs))
            elif kind == "run_null_outputs":
                r = status(lib.ce_model_run(good, ins, None))
            elif kind == "run_null_model":
                r = status(lib.ce_model_run(None, ins, outs))
            else:
                r = status(lib.ce_model_run(good, (P * 1)(None), outs))
            if r == "ok":
                raise Wrong("a run with a NULL pointer succeeded")
        elif kind.startswith("set_threads"):
            before = lib.ce_get_num_threads()
            val = {"set_threads_twice": 2, "set_threads_zero": 0, "set_threads_negative": -3,
                   "set_threads_huge": 1 << 30}[kind]
            lib.ce_set_num_threads(val)
            lib.ce_set_num_threads(val)
            after = lib.ce_get_num_threads()
            if kind == "set_threads_twice" and after != 2:
                raise Wrong(f"set 2 twice, got {after}")
            if kind != "set_threads_twice" and not (1 <= after <= 1024):
                raise Wrong(f"set {val}: the pool has {after} threads (was {before})")
            # the model still runs and gives the same answer
            from convengine._capi import CModel
            m = CModel(data)
            xx = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
            lib.ce_set_num_threads(1)
            want = m.run(xx)
            lib.ce_set_num_threads(val)
            got = m.run(xx)
            for g_, w_ in zip(got, want):
                if not np.array_equal(g_, w_):
                    raise Wrong("outputs changed with the thread count")
            r = f"ok: {after} threads"
        elif kind == "status_null":
            r = f"ok: {lib.ce_status_code(None)} {lib.ce_status_message(None)!r}"
            lib.ce_status_free(None)
        elif kind == "free_null":
            lib.ce_model_free(None)
            r = "ok"
        elif kind == "version":
            v = lib.ce_version()
            if not v:
                raise Wrong("no version")
            r = f"ok: {v.decode()}"
        elif kind == "run_many_threads_changing":
            from convengine._capi import CModel
            m = CModel(data)
            xx = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
            want = m.run(xx)
            errs = []

            def go():
                for _ in range(50):
                    got = m.run(xx)
                    if not all(np.array_equal(a, b) for a, b in zip(got, want)):
                        errs.append("differs")
            ts = [threading.Thread(target=go) for _ in range(4)]
            for t in ts:
                t.start()
            for i in range(50):
                lib.ce_set_num_threads(1 + i % 3)
            for t in ts:
                t.join()
            if errs:
                raise Wrong(f"{len(errs)} concurrent runs differ")
            r = "ok"
        else:
            raise AssertionError(kind)
    finally:
        lib.ce_model_free(good)
        if h:
            lib.ce_model_free(h)
    return "pass" if r.startswith("ok") else r


def gen_capi(rnd):
    return [("capi", f"capi/{k}", "case_capi", {"kind": k}) for k in CAPI_KINDS]


# ------------------------------------------------------------------ session API misuse
SESSION_KINDS = ["outputs_unknown", "outputs_duplicate", "outputs_empty_list", "outputs_string",
                 "outputs_tuple", "outputs_generator", "outputs_int", "feed_list", "feed_none",
                 "feed_tuple_pairs", "feed_ordered_dict", "feed_mapping_proxy", "run_options_junk",
                 "run_options_dict", "profile_runs_0", "profile_runs_neg", "profile_runs_float",
                 "profile_runs_huge_str", "profile_warmup_neg", "describe_bad_shapes",
                 "describe_negative", "describe_zero", "describe_rank", "describe_unknown_input",
                 "describe_string_dims", "describe_huge", "threads_0", "threads_neg",
                 "threads_true", "threads_float", "threads_str", "threads_huge",
                 "threads_numpy_int", "session_threads_0", "session_unknown_option",
                 "session_precision_junk", "session_algorithms_junk",
                 "session_algorithm_unknown_node", "session_disabled_passes_junk",
                 "session_bytes_path", "session_none", "save_compiled_bad_path",
                 "save_compiled_bad_shapes", "get_inputs_mutate", "run_after_model_mutate",
                 "nine_shapes_lru", "outputs_subset_order"]


def case_session(p):
    import convengine as ce
    kind = p["kind"]
    model = _small_model(symbolic_hw=p.get("dyn", False))
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    want = _ort(model, {"x": x})[0]
    sess = ce.InferenceSession(model)
    r = None
    try:
        if kind == "outputs_unknown":
            r = sess.run(["nope"], {"x": x})
        elif kind == "outputs_duplicate":
            r = sess.run(["y", "y"], {"x": x})
            if len(r) != 2:
                raise Wrong(f"{len(r)} outputs for two names")
            _close(r[0], want)
            _close(r[1], want)
            return "pass"
        elif kind == "outputs_empty_list":
            r = sess.run([], {"x": x})
            if r != []:
                raise Wrong(f"got {len(r)} outputs for []")
            return "pass"
        elif kind == "outputs_string":
            r = sess.run("y", {"x": x})
        elif kind == "outputs_tuple":
            r = sess.run(("y",), {"x": x})
            _close(r[0], want)
            return "pass"
        elif kind == "outputs_generator":
            r = sess.run((n for n in ["y"]), {"x": x})
            _close(r[0], want)
            return "pass"
        elif kind == "outputs_int":
            r = sess.run(5, {"x": x})
        elif kind == "feed_list":
            r = sess.run(None, [x])
        elif kind == "feed_none":
            r = sess.run(None, None)
        elif kind == "feed_tuple_pairs":
            r = sess.run(None, (("x", x),))
        elif kind == "feed_ordered_dict":
            from collections import OrderedDict
            r = sess.run(None, OrderedDict(x=x))
            _close(r[0], want)
            return "pass"
        elif kind == "feed_mapping_proxy":
            import types
            r = sess.run(None, types.MappingProxyType({"x": x}))
            _close(r[0], want)
            return "pass"
        elif kind == "run_options_junk":
            r = sess.run(None, {"x": x}, run_options=object())
        elif kind == "run_options_dict":
            r = sess.run(None, {"x": x}, {"log_severity_level": 3})
        elif kind.startswith("profile"):
            runs = {"profile_runs_0": 0, "profile_runs_neg": -1, "profile_runs_float": 2.5,
                    "profile_runs_huge_str": "10", "profile_warmup_neg": 1}[kind]
            warm = -5 if kind == "profile_warmup_neg" else 1
            rows = sess.profile({"x": x}, runs=runs, warmup=warm)
            if not rows or any(not (row["ms"] >= 0) for row in rows):
                raise Wrong(f"profile rows {rows[:1]}")
            return "pass"
        elif kind.startswith("describe"):
            shapes = {"describe_bad_shapes": {"x": (1, 4, 8, 8)},
                      "describe_negative": {"x": (1, 3, -8, 8)},
                      "describe_zero": {"x": (0, 3, 8, 8)},
                      "describe_rank": {"x": (1, 3, 8)},
                      "describe_unknown_input": {"z": (1, 3, 8, 8)},
                      "describe_string_dims": {"x": ("1", 3, 8, 8)},
                      "describe_huge": {"x": (1 << 40, 3, 8, 8)}}[kind]
            r = sess.describe(shapes)
            raise Wrong(f"describe({shapes}) returned {len(r)} rows")
        elif kind.startswith("threads"):
            val = {"threads_0": 0, "threads_neg": -1, "threads_true": True, "threads_float": 2.5,
                   "threads_str": "2", "threads_huge": 1 << 40,
                   "threads_numpy_int": np.int64(2)}[kind]
            before = ce.get_num_threads()
            try:
                ce.set_num_threads(val)
            except Exception as e:  # noqa: BLE001
                if ce.get_num_threads() != before:
                    raise Wrong(f"a refused thread count changed the pool: {before} -> "
                                f"{ce.get_num_threads()}")
                return _clean(e)
            if kind != "threads_numpy_int":
                raise Wrong(f"set_num_threads({val!r}) accepted")
            return "pass"
        elif kind.startswith("session_"):
            opts = {"session_threads_0": dict(num_threads=0),
                    "session_unknown_option": dict(frobnicate=1),
                    "session_precision_junk": dict(precision="quick"),
                    "session_algorithms_junk": dict(algorithms={"conv0": "nope"}),
                    "session_algorithm_unknown_node": dict(algorithms={"zz": "direct"}),
                    "session_disabled_passes_junk": dict(disabled_passes=["nope"])}
            if kind == "session_bytes_path":   # bytes are a model, as onnxruntime takes them
                d = tempfile.mkdtemp()
                model.save(os.path.join(d, "m.json"))
                try:
                    ce.InferenceSession(os.path.join(d, "m.json").encode())
                except ce.ModelError:
                    pass
                else:
                    raise Wrong("a path's bytes opened as a model")
                from convengine.onnx_export import to_onnx
                for data in (to_onnx(model).SerializeToString(), _cem_bytes()):
                    s2 = ce.InferenceSession(data)
                    _close(s2.run(None, {"x": x})[0], want)
                return "pass"
            if kind == "session_none":
                ce.InferenceSession(None)
                raise Wrong("InferenceSession(None) accepted")
            s2 = ce.InferenceSession(model, **opts[kind])
            s2.run(None, {"x": x})
            raise Wrong(f"{opts[kind]} accepted")
        elif kind == "save_compiled_bad_path":
            target = os.path.join(tempfile.mkdtemp(), "missing", "m.cem")
            try:
                sess.save_compiled(target)
            except OSError as e:   # as open() raises it, naming the path asked for
                if target not in str(e) or f"{target}.tmp" in str(e) or \
                        os.listdir(os.path.dirname(os.path.dirname(target))):
                    raise Wrong(f"unclear or untidy: {e}")
                return f"{type(e).__name__}: {e}"
            raise Wrong("saved to a missing folder")
        elif kind == "save_compiled_bad_shapes":
            sess.save_compiled(os.path.join(tempfile.mkdtemp(), "m.cem"), {"x": (1, 3, 1, 1)})
            raise Wrong("compiled for a shape the pool cannot take")
        elif kind == "get_inputs_mutate":
            sess.get_inputs()[0].shape[1] = 99
            _close(sess.run(None, {"x": x})[0], want)
            if sess.get_inputs()[0].shape[1] != 3:
                raise Wrong("get_inputs() returned the session's own list")
            return "pass"
        elif kind == "run_after_model_mutate":
            model.graph.nodes.clear()
            _close(sess.run(None, {"x": x})[0], want)
            return "pass"
        elif kind == "nine_shapes_lru":
            m2 = _small_model(symbolic_hw=True)
            s2 = ce.InferenceSession(m2)
            for hw in list(range(2, 12)) + [2, 3]:
                xx = np.random.default_rng(hw).standard_normal((1, 3, hw, hw)).astype(np.float32)
                _close(s2.run(None, {"x": xx})[0], _ort(m2, {"x": xx})[0], what=f"size {hw}")
            return "pass"
        elif kind == "outputs_subset_order":
            return "pass"
        else:
            raise AssertionError(kind)
    except Wrong:
        raise
    except Exception as e:  # noqa: BLE001
        return _clean(e)
    raise Wrong(f"{kind}: accepted, returned {type(r).__name__}")


def gen_session(rnd):
    return [("session", f"session/{k}", "case_session", {"kind": k}) for k in SESSION_KINDS]


# ------------------------------------------------------------------ model paths that are not models
PATH_KINDS = ["dir_json", "dir_onnx", "fifo_json", "fifo_onnx", "fifo_cem", "dev_zero_json",
              "dev_null_onnx", "symlink_loop", "nul_in_path", "missing", "empty_onnx",
              "garbage_onnx", "json_named_onnx", "onnx_named_json", "cem_named_json",
              "unreadable", "huge_sparse_json", "pathlib", "external_is_dir",
              "external_is_symlink_out", "onnx_external_dev_zero"]


def case_paths(p):
    import convengine as ce
    kind = p["kind"]
    d = tempfile.mkdtemp()
    model = _small_model()
    path = None
    if kind in ("dir_json", "dir_onnx"):
        path = os.path.join(d, "m." + kind[4:])
        os.mkdir(path)
    elif kind.startswith("fifo_"):
        path = os.path.join(d, "m." + kind[5:])
        os.mkfifo(path)
    elif kind == "dev_zero_json":
        path = os.path.join(d, "m.json")
        os.symlink("/dev/zero", path)
    elif kind == "dev_null_onnx":
        path = os.path.join(d, "m.onnx")
        os.symlink("/dev/null", path)
    elif kind == "symlink_loop":
        path = os.path.join(d, "m.json")
        os.symlink(path, path)
    elif kind == "nul_in_path":
        path = os.path.join(d, "m\0.json")
    elif kind == "missing":
        path = os.path.join(d, "m.onnx")
    elif kind == "empty_onnx":
        path = os.path.join(d, "m.onnx")
        open(path, "wb").close()
    elif kind == "garbage_onnx":
        path = os.path.join(d, "m.onnx")
        with open(path, "wb") as f:
            f.write(bytes(random.Random(p.get("seed", 0)).randrange(256) for _ in range(4096)))
    elif kind == "json_named_onnx":
        model.save(os.path.join(d, "m.json"))
        path = os.path.join(d, "m.onnx")
        os.rename(os.path.join(d, "m.json"), path)
    elif kind == "onnx_named_json":
        from convengine.onnx_export import to_onnx
        path = os.path.join(d, "m.json")
        with open(path, "wb") as f:
            f.write(to_onnx(model).SerializeToString())
    elif kind == "cem_named_json":
        path = os.path.join(d, "m.json")
        with open(path, "wb") as f:
            f.write(_cem_bytes())
        s = ce.InferenceSession(path)   # recognised by its magic
        x = np.ones((1, 3, 8, 8), np.float32)
        _close(s.run(None, {"x": x})[0], _ort(model, {"x": x})[0])
        return "pass"
    elif kind == "unreadable":
        path = os.path.join(d, "m.json")
        model.save(path)
        os.chmod(path, 0)
        if os.geteuid() == 0:
            raise Clean("skip: root reads anything")
    elif kind == "huge_sparse_json":
        path = os.path.join(d, "m.json")
        with open(path, "wb") as f:
            f.truncate(1 << 40)
    elif kind == "pathlib":
        import pathlib
        model.save(os.path.join(d, "m.json"))
        s = ce.InferenceSession(pathlib.Path(d) / "m.json")
        x = np.ones((1, 3, 8, 8), np.float32)
        _close(s.run(None, {"x": x})[0], _ort(model, {"x": x})[0])
        return "pass"
    elif kind in ("external_is_dir", "external_is_symlink_out"):
        model.save(os.path.join(d, "m.json"))
        os.remove(os.path.join(d, "m.bin"))
        if kind == "external_is_dir":
            os.mkdir(os.path.join(d, "m.bin"))
        else:
            os.symlink("/etc/hostname", os.path.join(d, "m.bin"))
        path = os.path.join(d, "m.json")
    elif kind == "onnx_external_dev_zero":
        import onnx
        from convengine.onnx_export import to_onnx
        proto = to_onnx(model)
        onnx.save_model(proto, os.path.join(d, "m.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="w.bin", size_threshold=0)
        os.remove(os.path.join(d, "w.bin"))
        os.symlink("/dev/zero", os.path.join(d, "w.bin"))
        path = os.path.join(d, "m.onnx")
    else:
        raise AssertionError(kind)
    try:
        s = ce.InferenceSession(path)
        s.run(None, {"x": np.ones((1, 3, 8, 8), np.float32)})
    except Exception as e:  # noqa: BLE001
        return _clean(e)
    raise Wrong(f"{kind}: opened and ran")


def gen_paths(rnd):
    return [("paths", f"paths/{k}", "case_paths", {"kind": k}) for k in PATH_KINDS]


# ------------------------------------------------------------------ hostile ONNX protos vs onnxruntime
ONNX_PROTO_KINDS = ["duplicate_node_names", "duplicate_outputs", "duplicate_graph_outputs", "cycle", "output_is_input",
                    "unused_input", "initializer_shadows_input", "unicode_names",
                    "dim_2_62", "dim_param_and_value", "empty_name_optional_input",
                    "nan_alpha", "pads_huge", "kernel_shape_mismatch", "strides_zero",
                    "dilations_zero", "group_zero", "conv_no_weight_shape", "value_info_lies",
                    "output_shape_lies", "graph_input_int64", "two_same_initializers",
                    "topologically_unsorted", "node_output_empty_name", "constant_node_huge",
                    "reshape_allowzero", "resize_nan_scales", "split_zero_parts"]


def _onnx_proto(kind):
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)
    W = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    xin = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    yout = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], "conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], "relu")]
    inputs, outputs, inits = [xin], [yout], [W]
    if kind == "duplicate_node_names":
        nodes[1].name = "conv"
    elif kind == "duplicate_graph_outputs":
        outputs = [yout, yout]
    elif kind == "duplicate_outputs":
        nodes.append(helper.make_node("Sigmoid", ["c"], ["y"], "sig"))
    elif kind == "cycle":
        nodes = [helper.make_node("Relu", ["b"], ["a"], "r1"),
                 helper.make_node("Add", ["x", "a"], ["b"], "r2"),
                 helper.make_node("Relu", ["b"], ["y"], "r3")]
        inits = []
    elif kind == "output_is_input":
        outputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]), yout]
    elif kind == "unused_input":
        inputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 2]))
    elif kind == "initializer_shadows_input":
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3, 3, 3]))
    elif kind == "unicode_names":
        nodes[0].input[0] = "x\u00e9\U0001F600"
        inputs = [helper.make_tensor_value_info("x\u00e9\U0001F600", TensorProto.FLOAT,
                                                [1, 3, 8, 8])]
        nodes[1].output[0] = "\u05d0"
        outputs = [helper.make_tensor_value_info("\u05d0", TensorProto.FLOAT, None)]
    elif kind == "dim_2_62":
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1 << 62, 8])]
    elif kind == "dim_param_and_value":
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
    elif kind == "nan_alpha":
        nodes[1] = helper.make_node("LeakyRelu", ["c"], ["y"], "relu", alpha=float("nan"))
    elif kind == "pads_huge":
        nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], "conv", pads=[1 << 40] * 4)
    elif kind == "kernel_shape_mismatch":
        nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], "conv", kernel_shape=[5, 5])
    elif kind == "strides_zero":
        nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], "conv", strides=[0, 1])
    elif kind == "dilations_zero":
        nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], "conv", dilations=[0, 0])
    elif kind == "group_zero":
        nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], "conv", group=0)
    elif kind == "conv_no_weight_shape":
        inits = []
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, None))
    elif kind == "value_info_lies":
        pass
    elif kind == "output_shape_lies":
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7, 2, 2])]
    elif kind == "graph_input_int64":
        inputs = [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 3, 8, 8])]
    elif kind == "two_same_initializers":
        inits = [W, numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")]
    elif kind == "topologically_unsorted":
        nodes = nodes[::-1]
    elif kind == "node_output_empty_name":
        nodes[0].output[0] = ""
        nodes[1].input[0] = ""
    elif kind == "constant_node_huge":
        nodes.insert(0, helper.make_node("ConstantOfShape", ["shp"], ["big"], "cos"))
        inits.append(numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "shp"))
        nodes.append(helper.make_node("ReduceSum", ["big"], ["s"], "rs", keepdims=0))
        outputs.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, None))
    elif kind == "reshape_allowzero":
        nodes.append(helper.make_node("Reshape", ["y", "shp"], ["z"], "rs", allowzero=1))
        inits.append(numpy_helper.from_array(np.array([0, 4, -1], np.int64), "shp"))
        outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)]
    elif kind == "resize_nan_scales":
        nodes.append(helper.make_node("Resize", ["y", "", "sc"], ["z"], "rs"))
        inits.append(numpy_helper.from_array(np.array([1, 1, np.nan, 2], np.float32), "sc"))
        outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)]
    elif kind == "split_zero_parts":
        nodes.append(helper.make_node("Split", ["y", "sp"], ["a", "b"], "sp", axis=1))
        inits.append(numpy_helper.from_array(np.array([0, 4], np.int64), "sp"))
        outputs = [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)]
    elif kind == "empty_name_optional_input":
        nodes[0] = helper.make_node("Conv", ["x", "w", ""], ["c"], "conv", pads=[1, 1, 1, 1])
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    if kind == "value_info_lies":
        m.graph.value_info.append(helper.make_tensor_value_info("c", TensorProto.FLOAT,
                                                                [1, 9, 3, 3]))
    return m.SerializeToString()


def case_onnx_proto(p):
    import convengine as ce
    data = _onnx_proto(p["kind"])
    d = tempfile.mkdtemp()
    path = os.path.join(d, "m.onnx")
    with open(path, "wb") as f:
        f.write(data)
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    ort_err = want = None
    try:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.log_severity_level = 4
        s = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        feeds = {i.name: (x if i.type == "tensor(float)" else x.astype(np.int64))
                 for i in s.get_inputs() if i.name not in ("w", "z")}
        for i in s.get_inputs():
            if i.name == "z":
                feeds["z"] = np.ones((2, 2), np.float32)
        want = s.run(None, feeds)
        names = [o.name for o in s.get_outputs()]
    except Exception as e:  # noqa: BLE001
        ort_err = e
    try:
        sess = ce.InferenceSession(path)
        cfeeds = {}
        for i in sess.get_inputs():
            if i.name == "z":
                cfeeds["z"] = np.ones((2, 2), np.float32)
            elif i.name == "w":
                continue
            else:
                cfeeds[i.name] = x
        got = sess.run(None, cfeeds)
    except Exception as e:  # noqa: BLE001
        msg = _clean(e)
        if ort_err is None and p["kind"] not in ONNX_STRICTER:
            raise Wrong(f"refused a model onnxruntime runs: {msg}")
        return msg
    if ort_err is not None:
        if p["kind"] in ONNX_LENIENT:
            return "pass"
        raise Wrong(f"ran a model onnxruntime refuses: {str(ort_err).splitlines()[0][:200]}")
    for n, g_, w_ in zip(names, got, want):
        _close(g_, w_, what=f"output {n!r}")
    return "pass"


# where onnxruntime refuses a model convengine runs, by design (documented): from_onnx gives
# a node named like an earlier one a fresh name (onnx_import's module doc)
ONNX_LENIENT = {"duplicate_node_names"}
# where convengine refuses, with a ModelError naming the node, a model onnxruntime runs:
# non-finite attributes (validate_model), value_info that strict ONNX shape inference
# contradicts, a duplicated initializer name, a graph output listed twice
ONNX_STRICTER = {"nan_alpha", "value_info_lies", "output_shape_lies", "two_same_initializers",
                 "duplicate_graph_outputs"}


def gen_onnx_proto(rnd):
    return [("onnx_proto", f"onnx_proto/{k}", "case_onnx_proto", {"kind": k})
            for k in ONNX_PROTO_KINDS]


# ------------------------------------------------------------------ inplace activations vs torch
INPLACE_INPUTS = ["contiguous", "strided_view", "negative_strides", "transposed", "readonly",
                  "float64", "broadcast_readonly", "broadcast_writable", "zero_d", "list",
                  "empty", "nan_inf", "int32"]


def case_inplace(p):
    """F.<act>(x, inplace=True) against torch's in-place op on the same memory layout: the
    result, and whether (and how) x itself changed."""
    import torch
    import convengine.functional as CF
    rng = np.random.default_rng(p["seed"])
    kind, act = p["input"], p["act"]
    base = (rng.standard_normal((2, 3, 6, 5)) * 4).astype(np.float32)
    x = {"contiguous": lambda: base.copy(), "strided_view": lambda: base.copy()[:, ::2, 1:, ::2],
         "negative_strides": lambda: base.copy()[::-1, :, ::-1],
         "transposed": lambda: base.copy().transpose(0, 2, 3, 1),
         "readonly": lambda: base.copy(), "float64": lambda: base.astype(np.float64),
         "broadcast_readonly": lambda: np.broadcast_to(base[:1], base.shape),
         "broadcast_writable": lambda: np.lib.stride_tricks.as_strided(
             base.copy(), base.shape, (0,) + base.strides[1:]),
         "zero_d": lambda: np.array(-1.5, np.float32), "list": lambda: base.tolist(),
         "empty": lambda: base[:0].copy(), "nan_inf": lambda: np.array(
             [np.nan, np.inf, -np.inf, -0.0, 0.0, 3.5, -3.5], np.float32),
         "int32": lambda: base.astype(np.int32)}[kind]()
    if kind == "readonly":
        x.setflags(write=False)
    before = np.array(x, copy=True)
    fn = {"relu": torch.relu_, "relu6": lambda t: torch.nn.functional.relu6(t, inplace=True),
          "hardswish": lambda t: torch.nn.functional.hardswish(t, inplace=True),
          "hardsigmoid": lambda t: torch.nn.functional.hardsigmoid(t, inplace=True),
          "silu": lambda t: torch.nn.functional.silu(t, inplace=True)}[act]
    try:
        got = getattr(CF, act)(x, inplace=True)
    except Exception as e:  # noqa: BLE001
        msg = _clean(e)
        if kind not in ("broadcast_writable", "int32"):
            raise Wrong(f"refused: {msg}")
        return msg
    want = fn(torch.from_numpy(np.array(before, np.float32)))
    _close(got, want.numpy(), rtol=1e-5, atol=1e-6)
    writes = isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.writeable
    if writes:
        if got is not x:
            raise Wrong("inplace=True on a writable float32 array returned another array")
        _close(x, want.numpy(), rtol=1e-5, atol=1e-6, what="the input after inplace=True")
    elif isinstance(x, np.ndarray) and not np.array_equal(x, before, equal_nan=True):
        raise Wrong("an input that cannot be written in place changed")
    return "pass"


def gen_inplace(rnd):
    return [("inplace", f"inplace/{a}/{k}", "case_inplace",
             {"act": a, "input": k, "seed": rnd.randrange(1 << 30)})
            for a in ("relu", "relu6", "hardswish", "hardsigmoid", "silu")
            for k in INPLACE_INPUTS]


# ------------------------------------------------------------------ concurrency
CONCURRENCY_KINDS = ["lru_eviction_in_flight", "threads_change_in_flight",
                     "sessions_come_and_go", "same_input_array_shared",
                     "first_run_of_a_shape_raced"]


def case_concurrency(p):
    """Threads hitting one session with more input shapes than its plan cache holds, while
    the pool's thread count changes or sessions are created and dropped: every output must
    equal torch's for its input."""
    import convengine as ce
    kind = p["kind"]
    model = _small_model(symbolic_hw=True)
    sess = ce.InferenceSession(model)
    rnd = random.Random(p["seed"])
    sizes = [(rnd.randrange(2, 24), rnd.randrange(2, 24)) for _ in range(14)]
    if kind == "first_run_of_a_shape_raced":
        sizes = [sizes[0]] * 6
    xs = [np.random.default_rng(i).standard_normal((rnd.randrange(1, 3), 3, h, w)).astype(
        np.float32) for i, (h, w) in enumerate(sizes)]
    wants = [_torch_small(model, x) for x in xs]
    errors = []
    stop = threading.Event()

    def runner(t):
        r = random.Random(t)
        for _ in range(p["iters"]):
            i = r.randrange(len(xs))
            x = xs[i] if kind != "same_input_array_shared" else xs[0]
            try:
                (y,) = sess.run(None, {"x": x})
                _close(y, wants[i] if kind != "same_input_array_shared" else wants[0])
            except Exception as e:  # noqa: BLE001
                errors.append(f"{type(e).__name__}: {str(e)[:200]}")

    def side():
        i = 0
        while not stop.is_set():
            i += 1
            if kind == "threads_change_in_flight":
                ce.set_num_threads(1 + i % 3)
            elif kind == "sessions_come_and_go":
                s2 = ce.InferenceSession(model)
                s2.run(None, {"x": xs[i % len(xs)]})
                del s2
            else:
                time.sleep(0.01)
    ts = [threading.Thread(target=runner, args=(t,)) for t in range(4)]
    sd = threading.Thread(target=side)
    sd.start()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stop.set()
    sd.join()
    ce.set_num_threads(1)
    if errors:
        raise Wrong(f"{len(errors)} of {4 * p['iters']} runs failed: {errors[0]}")
    if len(sess._plans) > 8:
        raise Wrong(f"the plan cache holds {len(sess._plans)} plans")
    return "pass"


def gen_concurrency(rnd):
    return [("concurrency", f"concurrency/{k}/{j}", "case_concurrency",
             {"kind": k, "seed": rnd.randrange(1 << 30), "iters": 40})
            for k in CONCURRENCY_KINDS for j in range(2)]


def case_selftest(p):
    """The harness's own check (tests/test_hostile_campaign.py): a hang, a crash, a pass."""
    if p["do"] == "sleep":
        time.sleep(3600)
    if p["do"] == "abort":
        os.abort()
    return "pass"


# ------------------------------------------------------------------ harness
GENERATORS = {"runtime": gen_runtime, "functional": gen_functional, "onnx_torch": gen_onnx,
              "json": gen_json, "cem": gen_cem, "capi": gen_capi, "session": gen_session,
              "paths": gen_paths, "onnx_proto": gen_onnx_proto,
              "concurrency": gen_concurrency, "inplace": gen_inplace}


def all_cases(seed, only=None):
    cases = []
    for cat, gen in GENERATORS.items():
        if only and cat not in only:
            continue
        cases += gen(random.Random(f"{seed}/{cat}"))
    return cases


def run_one(func, params):
    """Runs a case in this process: ("pass" | "clean" | "wrong", detail)."""
    try:
        out = globals()[func](params)
    except Clean as e:
        return "skip" if str(e).startswith("skip") else "clean", str(e)
    except Wrong as e:
        return "wrong", str(e)
    except Exception as e:  # noqa: BLE001
        if _documented(e):
            return "clean", f"{type(e).__name__}: {str(e)[:160]}"
        return "wrong", traceback.format_exc(limit=-6)
    if isinstance(out, str) and out != "pass" and ":" in out and not out.startswith(
            ("CError", "status")):
        return "clean", out
    if isinstance(out, str) and out.startswith(("CError", "status")):
        return "clean", out
    return "pass", str(out)


def _limit_memory(gib):
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        return
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (gib << 30, gib << 30))


def _worker(conn, gib):
    _limit_memory(gib)
    os.environ.setdefault("CONVENGINE_NUM_THREADS", "1")
    import warnings
    warnings.simplefilter("ignore")
    import convengine  # noqa: F401
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    while True:
        item = conn.recv()
        if item is None:
            return
        func, params = item
        try:
            import convengine as ce
            ce.set_num_threads(1)
        except Exception:  # noqa: BLE001
            pass
        conn.send(run_one(func, params))


class Pool:
    def __init__(self, n, gib):
        self.ctx = multiprocessing.get_context("spawn")
        self.gib = gib
        self.slots = [self._start() for _ in range(n)]

    def _start(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker, args=(child, self.gib), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "case": None, "t0": 0.0}

    def run(self, cases, timeout, on_result):
        queue = list(cases)
        while queue or any(s["case"] for s in self.slots):
            for i, s in enumerate(self.slots):
                if s["case"] is None and queue:
                    c = queue.pop(0)
                    s["case"], s["t0"] = c, time.time()
                    s["conn"].send((c[2], c[3]))
            busy = [s for s in self.slots if s["case"]]
            ready = multiprocessing.connection.wait([s["conn"] for s in busy] +
                                                    [s["proc"].sentinel for s in busy], 0.2)
            for i, s in enumerate(self.slots):
                if s["case"] is None:
                    continue
                c = s["case"]
                if s["conn"] in ready:
                    try:
                        res = s["conn"].recv()
                    except EOFError:
                        res = None
                    if res is not None:
                        s["case"] = None
                        on_result(c, res[0], res[1], time.time() - s["t0"])
                        continue
                if not s["proc"].is_alive() or s["proc"].sentinel in ready and \
                        not s["proc"].is_alive():
                    s["proc"].join()
                    on_result(c, "crash", f"exit code {s['proc'].exitcode}",
                              time.time() - s["t0"])
                    self.slots[i] = self._start()
                elif time.time() - s["t0"] > timeout:
                    s["proc"].kill()
                    s["proc"].join()
                    on_result(c, "hang", f"no answer in {timeout:.0f} s", time.time() - s["t0"])
                    self.slots[i] = self._start()

    def close(self):
        for s in self.slots:
            try:
                s["conn"].send(None)
            except OSError:
                pass
        for s in self.slots:
            s["proc"].join(5)
            if s["proc"].is_alive():
                s["proc"].kill()


COLUMNS = ("clean", "pass", "crash", "hang", "wrong")


def _package_path():
    """The folder holding the convengine to test: the source tree when its extension is built
    there (tools/dev-build.sh), else the installed package (CI installs it with pip)."""
    import glob
    import importlib.util
    src = os.path.join(ROOT, "python")
    if glob.glob(os.path.join(src, "convengine", "_native*")):
        return src
    spec = importlib.util.find_spec("convengine")
    return os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else src


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--memory-gib", type=int, default=8)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--case", action="append", help="run only the case(s) with this name")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    pkg = _package_path()
    sys.path.insert(0, pkg)
    cases = all_cases(args.seed, args.only)
    if args.case:
        cases = [c for c in cases if c[1] in args.case]
    if args.list:
        for c in cases:
            print(c[1], json.dumps(c[3]))
        return 0
    counts = {}
    bad = []
    t0 = time.time()

    def on_result(c, kind, detail, dt):
        row = counts.setdefault(c[0], dict.fromkeys(COLUMNS + ("skip",), 0))
        row[kind] += 1
        if kind in ("crash", "hang", "wrong"):
            bad.append((c, kind, detail))
            print(f"{kind.upper():6} {c[1]} {json.dumps(c[3])}\n       {detail.strip()[-1500:]}",
                  flush=True)
        elif args.verbose:
            print(f"{kind:6} {c[1]} ({dt:.1f} s) {detail[:150]}", flush=True)

    env = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([pkg, HERE] +
                                               ([env] if env else []))
    sys.path.insert(0, HERE)
    pool = Pool(args.workers, args.memory_gib)
    try:
        pool.run(cases, args.timeout, on_result)
    finally:
        pool.close()
    print(f"\nseed {args.seed}, {len(cases)} cases, {time.time() - t0:.0f} s, "
          f"{args.workers} workers")
    hdr = f"{'category':12} {'cases':>6} {'clean errors':>13} {'passes':>7} {'crashes':>8} " \
          f"{'hangs':>6} {'wrong':>6} {'skipped':>8}"
    print(hdr)
    tot = dict.fromkeys(COLUMNS + ("skip",), 0)
    for cat, row in counts.items():
        n = sum(row.values())
        print(f"{cat:12} {n:6} {row['clean']:13} {row['pass']:7} {row['crash']:8} "
              f"{row['hang']:6} {row['wrong']:6} {row['skip']:8}")
        for k in tot:
            tot[k] += row[k]
    print(f"{'total':12} {sum(tot.values()):6} {tot['clean']:13} {tot['pass']:7} "
          f"{tot['crash']:8} {tot['hang']:6} {tot['wrong']:6} {tot['skip']:8}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
