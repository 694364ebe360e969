"""`convengine bench`: times convengine against torch (when installed) on the same layers, same
inputs, same thread count, in one run, and prints medians, ratios and GFLOP/s.

Until the model zoo lands, the built-in workload is the layer table of the project's kernel
benchmark (typical layers of ResNet, MobileNet, ShuffleNet, DeepLab, U-Net, C3D).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from . import _native, get_num_threads, set_num_threads
from ._functional.conv import prepare_conv

# name: (description, [(ndim, input shape, weight shape, stride, padding, dilation, groups,
#                         transposed), ...]): a layer is one conv or a short chain of them.
LAYERS = {
    "a": ("conv 3x3 s1 64->64 56x56", [(2, (1, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1, False)]),
    "b": ("conv 3x3 s1 256->256 14x14", [(2, (1, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1, 1, False)]),
    "c": ("depthwise 3x3 s1 C=144 56x56", [(2, (1, 144, 56, 56), (144, 1, 3, 3), 1, 1, 1, 144, False)]),
    "d": ("depthwise 3x3 s2 C=144 56x56", [(2, (1, 144, 56, 56), (144, 1, 3, 3), 2, 1, 1, 144, False)]),
    "e": ("pointwise 144->24 56x56", [(2, (1, 144, 56, 56), (24, 144, 1, 1), 1, 0, 1, 1, False)]),
    "f": ("pointwise 576->96 14x14", [(2, (1, 576, 14, 14), (96, 576, 1, 1), 1, 0, 1, 1, False)]),
    "g": ("grouped 3x3 128->128 g=32 56x56", [(2, (1, 128, 56, 56), (128, 4, 3, 3), 1, 1, 1, 32, False)]),
    "h": ("pw grouped 240->240 g=3 28x28", [(2, (1, 240, 28, 28), (240, 80, 1, 1), 1, 0, 1, 3, False)]),
    "i": ("dilated 3x3 d2 256->256 28x28", [(2, (1, 256, 28, 28), (256, 256, 3, 3), 1, 2, 2, 1, False)]),
    "j": ("transposed 4x4 s2 64->32 28->56", [(2, (1, 64, 28, 28), (64, 32, 4, 4), 2, 1, 1, 1, True)]),
    "k": ("conv3d 3x3x3 16->32 8x56x56", [(3, (1, 16, 8, 56, 56), (32, 16, 3, 3, 3), 1, 1, 1, 1, False)]),
    "l": ("conv 7x7 s2 3->64 224x224", [(2, (1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1, False)]),
    "m": ("1x7 then 7x1 128->128 17x17", [(2, (1, 128, 17, 17), (128, 128, 1, 7), 1, (0, 3), 1, 1, False),
                                         (2, (1, 128, 17, 17), (128, 128, 7, 1), 1, (3, 0), 1, 1, False)]),
    "n": ("pointwise 256->256 56x56", [(2, (1, 256, 56, 56), (256, 256, 1, 1), 1, 0, 1, 1, False)]),
    # DeepLabV3 (MobileNetV3) ASPP branches: most taps read only padding
    "o": ("dilated 3x3 d12 960->256 14x14", [(2, (1, 960, 14, 14), (256, 960, 3, 3), 1, 12, 12, 1, False)]),
    "p": ("dilated 3x3 d36 960->256 14x14", [(2, (1, 960, 14, 14), (256, 960, 3, 3), 1, 36, 36, 1, False)]),
}


def make_layer(name, batch=1, seed=0):
    """Input and per-conv (weight, bias, kwargs) of a layer, with He-scaled random weights."""
    rng = np.random.default_rng(seed)
    desc, specs = LAYERS[name]
    x = rng.standard_normal((batch,) + specs[0][1][1:]).astype(np.float32)
    convs = []
    for ndim, xs, ws, s, p, d, g, tr in specs:
        w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
        b = rng.standard_normal(ws[1] * g if tr else ws[0]).astype(np.float32)
        convs.append((w, b, dict(ndim=ndim, stride=s, padding=p, dilation=d, groups=g, transposed=tr)))
    return desc, x, convs


# ARM cores by /proc/cpuinfo's "CPU implementer" and "CPU part" (ARM's and Apple's part numbers).
_ARM_CORES = {
    ("0x41", "0xd03"): "Cortex-A53", ("0x41", "0xd04"): "Cortex-A35", ("0x41", "0xd05"): "Cortex-A55",
    ("0x41", "0xd07"): "Cortex-A57", ("0x41", "0xd08"): "Cortex-A72", ("0x41", "0xd09"): "Cortex-A73",
    ("0x41", "0xd0a"): "Cortex-A75", ("0x41", "0xd0b"): "Cortex-A76", ("0x41", "0xd0c"): "Neoverse-N1",
    ("0x41", "0xd0d"): "Cortex-A77", ("0x41", "0xd40"): "Neoverse-V1", ("0x41", "0xd41"): "Cortex-A78",
    ("0x41", "0xd44"): "Cortex-X1", ("0x41", "0xd46"): "Cortex-A510", ("0x41", "0xd47"): "Cortex-A710",
    ("0x41", "0xd48"): "Cortex-X2", ("0x41", "0xd49"): "Neoverse-N2", ("0x41", "0xd4b"): "Cortex-A78C",
    ("0x41", "0xd4f"): "Neoverse-V2", ("0x41", "0xd80"): "Cortex-A520", ("0x41", "0xd81"): "Cortex-A720",
}


def cpu_description(cpuinfo=None):
    """The CPU benchmarks name: /proc/cpuinfo's model name (with family and model, since a VM may
    show only the vendor's brand) and its widest SIMD ISA; on ARM the core's name from its
    implementer and part numbers (and the board's model where the kernel reports it).
    `cpuinfo`: that file's text (default: read it)."""
    info = {}
    parts = []
    try:
        if cpuinfo is None:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
    except OSError:
        import platform
        return platform.processor() or platform.machine()
    implementer = ""
    for line in cpuinfo.splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k in ("model name", "cpu family", "model", "flags", "Features", "Model",
                 "Hardware") and k not in info:
            info[k] = v
        if k == "CPU implementer":
            implementer = v
        elif k == "CPU part":
            parts.append((implementer, v))
    flags = set((info.get("flags") or info.get("Features") or "").split())
    isas = [i for i in ("avx512f", "avx2", "fma", "asimd", "asimddp") if i in flags]
    if "model name" not in info and parts:
        cores = []
        for p in parts:  # big.LITTLE: each kind of core once, in order of appearance
            name = _ARM_CORES.get(p, f"ARM implementer {p[0]} part {p[1]}")
            if name not in cores:
                cores.append(name)
        board = info.get("Model") or info.get("Hardware")
        name = "+".join(cores) + (f" ({board})" if board else "")
    else:
        name = info.get("model name", "unknown CPU")
        if "cpu family" in info:
            name += f" (family {info['cpu family']}, model {info.get('model', '?')})"
    return name + (f", {'/'.join(isas)}" if isas else "")


def cpu_slug():
    """A directory name for this CPU: vendor brand, family and model (a VM may show only the
    brand), e.g. amd-epyc-f25-m17, intel-xeon-platinum-8481c-f6-m143."""
    import re
    d = cpu_description()
    m = re.search(r"\(family (\S+), model ([^)]+)\)", d)
    name = d.split(" (family")[0].split(",")[0]
    name = re.sub(r"\(r\)|\(tm\)|\bcpu\b|@.*$|\bprocessor\b|\b\d+-core\b", "", name.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "cpu"
    return slug + (f"-f{m.group(1)}-m{m.group(2)}" if m else "")


def results_dir(root):
    """Where a benchmark run keeps its tables: root/<cpu_slug()>/<kernel ISA>, so tables from
    different CPUs or instruction sets are never mixed."""
    import os
    return os.path.join(root, cpu_slug(), _native.get_isa())


def write_results(folder, stem, meta, rows, md):
    """Writes folder/stem.json ({meta, results: rows}) and folder/stem.md (the markdown)."""
    import os
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, stem + ".json"), "w") as f:
        json.dump(dict(meta=meta, results=rows), f, indent=1)
    with open(os.path.join(folder, stem + ".md"), "w") as f:
        f.write(md)


def write_zoo_model(name, folder):
    """Zoo model `name` written as folder/name.json (+ weights) and folder/name.onnx; returns
    the two paths (bench/load_time.py, bench/session_memory.py)."""
    import os
    from . import zoo
    from .onnx_export import to_onnx
    model = zoo.get(name)
    js, ox = os.path.join(folder, f"{name}.json"), os.path.join(folder, f"{name}.onnx")
    model.save(js)
    with open(ox, "wb") as f:
        f.write(to_onnx(model).SerializeToString())
    return js, ox


def package_dir():
    """The folder holding the imported convengine (the source tree or site-packages): the
    PYTHONPATH that makes a child process import the same one."""
    import os
    import convengine
    return os.path.dirname(os.path.dirname(os.path.abspath(convengine.__file__)))


def run_child(code, args, env, timeout=900):
    """`python -c code *args` in a fresh process; its last stdout line parsed as JSON."""
    import subprocess
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def prepare_layer(x_shape, convs, algorithm="auto"):
    """The layer's convs prepared once (weights packed), each for its input's shape;
    algorithm "fast" admits the Winograd tiles of precision='fast'."""
    ops, shape = [], tuple(x_shape)
    for w, b, kw in convs:
        kw = dict(kw)
        ops.append(prepare_conv(kw.pop("ndim"), shape, w, b, algorithm=algorithm, **kw))
        shape = tuple(ops[-1].output_shape(shape[0]))
    return ops


def torch_layer(convs):
    """A callable running the layer in torch eager (NCHW), or None without torch."""
    try:
        import torch
        import torch.nn.functional as TF
    except ImportError:
        return None
    fns = []
    for w, b, kw in convs:
        fn = {(1, False): TF.conv1d, (2, False): TF.conv2d, (3, False): TF.conv3d,
              (1, True): TF.conv_transpose1d, (2, True): TF.conv_transpose2d,
              (3, True): TF.conv_transpose3d}[(kw["ndim"], kw["transposed"])]
        p = kw["padding"]
        fns.append((fn, torch.from_numpy(w), torch.from_numpy(b),
                    dict(stride=kw["stride"], padding=p, dilation=kw["dilation"], groups=kw["groups"])))

    def run(tx):
        with torch.no_grad():
            for fn, tw, tb, kw in fns:
                tx = fn(tx, tw, tb, **kw)
        return tx
    return run


def _median_ms(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def bench_layers(names, threads, runs, warmup, seed=0):
    try:
        import torch
    except ImportError:
        torch = None
    old = get_num_threads()
    set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        for name in names:
            desc, x, convs = make_layer(name, seed=seed)
            ops = prepare_layer(x.shape, convs)

            def run():
                h = x
                for op in ops:
                    h = op.run(h)
                return h
            flops = sum(2.0 * op.macs_per_image for op in ops) * x.shape[0]
            row = {"layer": name, "desc": desc, "threads": threads,
                   "algorithm": "+".join(op.algorithm for op in ops),
                   "convengine_ms": _median_ms(run, runs, warmup)}
            row["gflops"] = flops / row["convengine_ms"] / 1e6
            tl = torch_layer(convs)
            if tl is not None:
                tx = torch.from_numpy(x)
                row["torch_ms"] = _median_ms(lambda: tl(tx), runs, warmup)
                row["max_abs_diff"] = float(np.max(np.abs(run() - tl(tx).numpy())))
                row["speedup_vs_torch"] = row["torch_ms"] / row["convengine_ms"]
            yield row
    finally:
        set_num_threads(old)


def _fmt_row(r):
    t = f"{r['torch_ms']:9.3f} {r['speedup_vs_torch']:7.2f}x {r['max_abs_diff']:9.1e}" if "torch_ms" in r \
        else f"{'-':>9s} {'-':>8s} {'-':>9s}"
    return (f"{r['layer']:>2s}  {r['desc']:38s} {r['threads']:>2d} {r['algorithm']:>10s} "
            f"{r['convengine_ms']:9.3f} {r['gflops']:7.1f} {t}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convengine bench-layers", description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layer names (a..m)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per measurement (median)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.layers.split(",") if n.strip()]
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        ap.error(f"unknown layers {unknown}; choose from {list(LAYERS)}")
    try:
        threads = [int(t) for t in a.threads.split(",")]
    except ValueError:
        ap.error(f"--threads must be comma-separated ints, got {a.threads!r}")
    if any(t < 1 for t in threads) or a.runs < 1 or a.warmup < 0:
        ap.error("--threads and --runs must be >= 1, --warmup >= 0")
    print(f"convengine {_native.get_isa()} kernels; median of {a.runs} runs; batch 1, float32")
    print(f"{'':>2s}  {'layer':38s} {'th':>2s} {'algorithm':>10s} {'ce ms':>9s} {'GFLOP/s':>7s} "
          f"{'torch ms':>9s} {'speedup':>8s} {'max|diff|':>9s}")
    rows = []
    for t in threads:
        for r in bench_layers(names, t, a.runs, a.warmup):
            rows.append(r)
            print(_fmt_row(r), flush=True)
    if "torch_ms" not in rows[0]:
        print("torch is not installed: install torch==2.13.0 to compare.")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
