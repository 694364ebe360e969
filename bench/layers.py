"""Layer benchmark: convengine against torch and onnxruntime on the same layers, inputs and
thread counts, in one run.

    python bench/layers.py [--layers a,b,...] [--threads 1,2] [--rounds 7] [--runs 15]
                           [--precision accurate|fast]

convengine runs each layer as it runs inside a graph: weights packed once, activations in its
internal channels-innermost layout (no per-layer NCHW conversion); torch (eager, no_grad) and
onnxruntime run in their native NCHW. Each engine is timed in interleaved rounds (1 thread: ce,
torch, ort; 2 threads: ce, torch, ort; then again) so a burst of load on this shared machine
hits all engines and thread counts alike; ms is the median of all timed runs, and each ratio
(speedup against a peer, 2-thread scaling) is paired: the median over rounds of the ratio of
the two medians within one round, so load that drifts from round to round cancels. Each
block starts after a pause, since the peers' worker threads keep spinning for a while after
they finish and would steal a core. GFLOP/s counts 2 x MACs of the direct algorithm; "% peak"
divides by the FMA peak measured here, with the same number of threads.
Writes layers.md and layers.json (precision "fast", which admits Winograd F(4,3), F(6,3), the 1D
and stride-2 Winograd: layers-fast.md and layers-fast.json) into bench/results/<cpu>/<isa>/
(convengine._bench.results_dir): one folder per CPU and kernel ISA (CONVENGINE_ISA), never mixed.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import convengine
from convengine import _native
from convengine._bench import LAYERS, cpu_description, make_layer, prepare_layer, results_dir, torch_layer

HERE = os.path.dirname(os.path.abspath(__file__))
# torch's OpenMP workers and onnxruntime's intra-op threads spin for a while after each run;
# timed straight after them, an engine whose workers sleep (convengine) loses a core. Every
# block of runs starts after this pause and one untimed run.
SETTLE_S = 0.3
# After the pause, each engine runs untimed for this long before its timed block: the first
# runs after an idle pause are up to 1.3x slower on this VM (clock and vCPU wake-up; layer e at
# 1 thread: 0.33 ms after one untimed run, 0.25 ms steady), for every engine alike.
WARM_S = 0.05


def convengine_layer(x, convs, algorithm):
    ops = prepare_layer(x.shape, convs, algorithm)
    nd = x.ndim
    to_last = (0, *range(2, nd), 1)
    bufs = [np.ascontiguousarray(x.transpose(to_last))]
    for op in ops:
        s = op.output_shape(x.shape[0])
        bufs.append(np.empty([s[0], *s[2:], s[1]], np.float32))

    def run():
        for i, op in enumerate(ops):
            op.run_nhwc(bufs[i], bufs[i + 1])
        return bufs[-1]

    def result_nchw():
        run()
        return np.moveaxis(bufs[-1], -1, 1)
    flops = sum(2.0 * op.macs_per_image for op in ops) * x.shape[0]
    return run, result_nchw, "+".join(op.algorithm for op in ops), flops


def ort_layer(x, convs, threads):
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    nodes, inits, name = [], [], "x"
    for i, (w, b, kw) in enumerate(convs):
        nd = kw["ndim"]
        tup = lambda v: [v] * nd if isinstance(v, int) else list(v)
        p = kw["padding"]
        pads = tup(p) * 2 if isinstance(p, int) or len(p) == nd else list(p)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("ConvTranspose" if kw["transposed"] else "Conv",
                                      [name, f"w{i}", f"b{i}"], [f"y{i}"], strides=tup(kw["stride"]),
                                      pads=pads, dilations=tup(kw["dilation"]), group=kw["groups"],
                                      kernel_shape=list(w.shape[2:])))
        name = f"y{i}"
    graph = helper.make_graph(nodes, "layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return lambda: sess.run(None, {"x": x})[0]


def warm(fn, seconds):
    """Runs fn for at least `seconds` (and at least once), untimed."""
    t_end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < t_end:
        fn()


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench(names, threads, rounds, runs, warmup, algorithm):
    """Rows for every layer and thread count. The thread counts of a layer take turns inside
    each round (1 thread: ce, torch, ort; 2 threads: ce, torch, ort; ...), so its 2-thread
    scaling compares runs minutes apart at most, not a whole table apart."""
    try:
        import torch
    except ImportError:
        torch = None

    def use(t):
        convengine.set_num_threads(t)
        if torch is not None:
            torch.set_num_threads(t)
    peaks = {}
    for t in threads:
        use(t)
        peaks[t] = max(_native.measure_fma_peak_gflops() for _ in range(3))  # best of 3: load only lowers it
    rows = []
    for name in names:
        desc, x, convs = make_layer(name)
        ce_run, ce_nchw, algo, flops = convengine_layer(x, convs, algorithm)
        tl = torch_layer(convs)
        tx = torch.from_numpy(x) if tl is not None else None
        engines = {}
        for t in threads:
            engines[t] = {"convengine": ce_run}
            if tl is not None:
                engines[t]["torch"] = lambda: tl(tx)
            ol = ort_layer(x, convs, t)
            if ol is not None:
                engines[t]["onnxruntime"] = ol
            use(t)
            for fn in engines[t].values():
                timed(fn, warmup)
        times = {t: {k: [] for k in engines[t]} for t in threads}
        for _ in range(rounds):
            for t in threads:
                use(t)
                for k, fn in engines[t].items():
                    time.sleep(SETTLE_S)
                    warm(fn, WARM_S)
                    times[t][k].append(timed(fn, runs))
        for t in threads:
            use(t)
            med = {k: statistics.median(sum(v, [])) for k, v in times[t].items()}
            rmed = {k: [statistics.median(b) for b in v] for k, v in times[t].items()}
            paired = lambda a, b: statistics.median(x / y for x, y in zip(rmed[a], rmed[b]))
            row = dict(layer=name, desc=desc, threads=t, algorithm=algo, peak_gflops=peaks[t],
                       **{f"{k}_ms": v for k, v in med.items()})
            row["gflops"] = flops / med["convengine"] / 1e6
            row["pct_peak"] = 100 * row["gflops"] / peaks[t] if peaks[t] else float("nan")
            y = ce_nchw()
            if tl is not None:
                row["vs_torch"] = paired("torch", "convengine")
                row["max_abs_diff_torch"] = float(np.max(np.abs(y - tl(tx).numpy())))
            if "onnxruntime" in engines[t]:
                ol = engines[t]["onnxruntime"]
                row["vs_ort"] = paired("onnxruntime", "convengine")
                row["max_abs_diff_ort"] = float(np.max(np.abs(y - ol())))
            row["round_ms"] = rmed["convengine"]
            rows.append(row)
            print(fmt(row), flush=True)
    return sorted(rows, key=lambda r: (r["threads"], names.index(r["layer"])))


def scaling(rows):
    """Per layer with 1- and n-thread rows: the median over rounds of convengine's 1-thread
    median / its n-thread median in the same round."""
    by = {(r["layer"], r["threads"]): r for r in rows}
    out = []
    for (layer, t), r in by.items():
        one = by.get((layer, 1))
        if t > 1 and one is not None:
            sp = statistics.median(a / b for a, b in zip(one["round_ms"], r["round_ms"]))
            out.append(f"| {layer} | {one['convengine_ms']:.3f} | {t} | {r['convengine_ms']:.3f} | "
                       f"{sp:.2f}x |")
    if not out:
        return ""
    return ("\n## Thread scaling (convengine, same rounds)\n\n| layer | 1 thread ms | threads | ms | "
            "speedup |\n|---|---|---|---|---|\n" + "\n".join(out) + "\n")


HEADER = ("| layer | shape | threads | algorithm | convengine ms | torch ms | onnxruntime ms | "
          "speedup vs torch | speedup vs ORT | GFLOP/s | % of peak |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def fmt(r):
    g = lambda k, f: (f % r[k]) if k in r else "-"
    return (f"| {r['layer']} | {r['desc']} | {r['threads']} | {r['algorithm']} | {r['convengine_ms']:.3f} | "
            f"{g('torch_ms', '%.3f')} | {g('onnxruntime_ms', '%.3f')} | {g('vs_torch', '%.2fx')} | "
            f"{g('vs_ort', '%.2fx')} | {r['gflops']:.1f} | {r['pct_peak']:.0f}% |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", default=",".join(LAYERS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--precision", choices=("accurate", "fast"), default="accurate")
    ap.add_argument("--out", default=None, help="folder (default bench/results/<cpu>/<isa>)")
    a = ap.parse_args(argv)
    a.out = a.out or results_dir(os.path.join(HERE, "results"))
    stem = "layers" if a.precision == "accurate" else "layers-fast"
    names = a.layers.split(",")
    print(HEADER)
    rows = bench(names, [int(v) for v in a.threads.split(",")], a.rounds, a.runs, a.warmup,
                 "auto" if a.precision == "accurate" else "fast")
    os.makedirs(a.out, exist_ok=True)
    versions = {"convengine": convengine.__version__, "isa": _native.get_isa(),
                "cpu": cpu_description()}
    for mod in ("torch", "onnxruntime"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    with open(os.path.join(a.out, stem + ".json"), "w") as f:
        json.dump({"versions": versions, "rows": rows}, f, indent=1)
    peaks = sorted({(r["threads"], round(r["peak_gflops"])) for r in rows})
    with open(os.path.join(a.out, stem + ".md"), "w") as f:
        f.write(f"# Layer benchmark (precision {a.precision})\n\n`python bench/layers.py "
                f"--precision {a.precision}` (see its docstring for the method). CPU: "
                f"{versions['cpu']}; convengine's {versions['isa']} kernels. Versions: {versions}. "
                f"Measured FMA peak (the CPU's widest vectors): "
                + ", ".join(f"{p} GFLOP/s at {t} thread(s)" for t, p in peaks) + ". Batch 1, float32, "
                f"median of {a.rounds} x {a.runs} interleaved runs. Speedup > 1 means convengine is faster.\n\n")
        f.write(HEADER + "\n" + "\n".join(fmt(r) for r in rows) + "\n")
        f.write(scaling(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
