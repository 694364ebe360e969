"""`convengine bench`: built-in models in convengine against torch eager, torch jit-frozen and
onnxruntime (each when installed) on the same weights, inputs and thread counts, in one run.

Engines are timed in interleaved rounds (convengine, torch, jit, ort, convengine, ...), and
every thread count within each round, so a burst of load on a shared machine hits all of them
alike and the thread speed-ups compare the same minutes, with a pause before each block
(the peers' worker threads spin for a while after they finish). Reports median and p90 ms
per run and, for each batch size (--batch 1,8,32), the throughput in images/s (batch /
median run time), the ratio of each peer to convengine (> 1: convengine is faster), the max
abs difference against torch, and writes JSON, markdown and (with matplotlib) a PNG bar
chart. Each round's thread round trip is measured (before and after it): the 2-thread speed-ups
are given over all rounds and over the rounds whose vCPUs shared a cache (SHARED_CACHE_NS).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

DEFAULT_MODELS = "mobilenet_v2,shufflenet_v2_x1_0,resnet18"
# ce_fast: convengine with precision="fast" (the Winograd variants that lose 3-4 bits)
ENGINES = ("convengine", "torch", "jit", "ort", "ce_fast")
SETTLE_S = 0.3
# A cache line's round trip between two threads below this (ns): the vCPUs share a cache. On the
# VMs this project is measured on it flips between 60-130 ns and 400+ ns within minutes, and
# every engine's 2-thread time with it (engine/thread_pool.h, far_cores()).
SHARED_CACHE_NS = 200


def _progress(i, n, label, out=sys.stderr):
    width = 30
    done = int(width * i / max(n, 1))
    out.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {label:<48.48}")
    out.flush()
    if i == n:
        out.write("\n")


def _engines(model, x, threads, vs):
    import convengine
    _use_threads(threads)
    sess = convengine.InferenceSession(model)
    name = sess.get_inputs()[0].name
    feed = {name: x}
    fns = {"convengine": lambda: sess.run(None, feed)[0]}
    if "ce_fast" in vs:
        fast = convengine.InferenceSession(model, precision="fast")
        fns["ce_fast"] = lambda: fast.run(None, feed)[0]
    notes = {}
    if "torch" in vs or "jit" in vs:
        try:
            import torch
            from .torch_export import to_torch
            torch.set_num_threads(threads)
            mod = to_torch(model)
            tx = torch.from_numpy(x)
            if "torch" in vs:
                def eager():
                    with torch.no_grad():
                        return mod(tx).numpy()
                fns["torch"] = eager
            if "jit" in vs:
                import warnings
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(mod, tx).eval()))

                def jit():
                    with torch.no_grad():
                        return frozen(tx).numpy()
                fns["jit"] = jit
        except ImportError:
            notes["torch"] = "torch not installed"
        except Exception as e:  # a model torch cannot express: say so, bench the rest
            notes["torch"] = f"torch failed: {e}"
    if "ort" in vs:
        try:
            import onnxruntime as ort
            from .onnx_export import to_onnx
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            osess = ort.InferenceSession(to_onnx(model).SerializeToString(), so,
                                         providers=["CPUExecutionProvider"])
            oname = osess.get_inputs()[0].name
            fns["ort"] = lambda: osess.run(None, {oname: x})[0]
        except ImportError:
            notes["ort"] = "onnxruntime/onnx not installed"
        except Exception as e:
            notes["ort"] = f"onnxruntime failed: {str(e).splitlines()[0][:80]}"
    return fns, notes


def _time(fn, runs):
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def _round_trip_ns():
    from . import _native
    return _native.measure_thread_round_trip_ns()


def _use_threads(threads):
    """Every engine's global thread setting (onnxruntime sessions carry their own)."""
    import convengine
    convengine.set_num_threads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def run(models, threads_list, runs, warmup, vs, batches, rounds=3, progress=True):
    """Rows of (model, threads, batch) timings; `batches` is an int or a list of them.

    Each round times every thread count in turn (and every engine within it), so a thread
    count's speed-up compares runs from the same minutes of a shared machine."""
    from . import zoo
    batches = [batches] if isinstance(batches, int) else list(batches)
    results = []
    total = len(models) * len(batches)
    k = 0
    for name in models:
        model, info = zoo.get(name), zoo.info(name)
        rows = {}
        for batch in batches:
            shape = list(next(iter(info["inputs"].values())))
            shape[0] = batch
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            label = f"{name} x{','.join(map(str, threads_list))} threads, batch {batch}"
            if progress:
                _progress(k, total, label)
            engines, diffs, samples = {}, {}, {}
            for t in threads_list:
                fns, notes = _engines(model, x, t, vs)
                engines[t] = (fns, notes)
                ref = fns["torch"]() if "torch" in fns else None
                diffs[t] = {}
                for e, fn in fns.items():
                    for _ in range(warmup):
                        out = fn()
                    if ref is not None:
                        diffs[t][e] = float(np.max(np.abs(np.asarray(out) - ref)))
                samples[t] = {e: [] for e in fns}
            near = {t: {e: [] for e in samples[t]} for t in threads_list}
            round_trips = []
            for i in range(rounds):
                per = max(1, runs * (i + 1) // rounds - runs * i // rounds)
                rt0 = _round_trip_ns()
                got = {t: {} for t in threads_list}
                for t in threads_list:
                    _use_threads(t)
                    for e, fn in engines[t][0].items():
                        time.sleep(SETTLE_S)
                        fn()
                        got[t][e] = _time(fn, per)
                        samples[t][e] += got[t][e]
                rt = max(rt0, _round_trip_ns())
                round_trips.append(round(rt))
                if rt < SHARED_CACHE_NS:
                    for t in threads_list:
                        for e, ts in got[t].items():
                            near[t][e] += ts
            for t in threads_list:
                row = dict(model=name, threads=t, batch=batch, notes=engines[t][1],
                           max_abs_diff_vs_torch=diffs[t].get("convengine"),
                           ce_fast_max_abs_diff_vs_torch=diffs[t].get("ce_fast"))
                for e, ts in samples[t].items():
                    ms = sorted(v * 1e3 for v in ts)
                    med = statistics.median(ms)
                    row[e] = dict(median_ms=med,
                                  p90_ms=ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))],
                                  runs=len(ms), images_per_s=batch * 1e3 / med)
                    if near[t][e]:
                        row[e]["shared_cache_median_ms"] = statistics.median(
                            v * 1e3 for v in near[t][e])
                row["round_trip_ns"] = round_trips
                row["shared_cache_rounds"] = sum(r < SHARED_CACHE_NS for r in round_trips)
                row["mflops"] = info.get("mflops")
                if row["mflops"]:
                    row["gflops"] = row["mflops"] * batch / row["convengine"]["median_ms"]
                rows[t, batch] = row
            k += 1
            if progress:
                _progress(k, total, label)
        results += [rows[t, b] for t in threads_list for b in batches]
    return results


def table(results):
    peers = [e for e in ENGINES[1:] if any(e in r for r in results)]
    head = ["model", "threads", "batch", "convengine ms (p90)"] + \
        [f"{e} ms (p90)" for e in peers] + ["convengine img/s"] + \
        [f"{e} img/s" for e in peers] + [f"{e} / ce" for e in peers] + \
        ["GFLOP/s", "max|diff| vs torch"]
    one = {(r["model"], r.get("batch", 1)): r for r in results if r["threads"] == 1}
    scaling = any(r["threads"] > 1 and (r["model"], r.get("batch", 1)) in one for r in results)
    if scaling:
        head.insert(head.index("GFLOP/s"), "ce speed-up vs 1 thread")
        head.insert(head.index("GFLOP/s"), "speed-up in shared-cache rounds: ce / ort (rounds)")
    fast = any(r.get("ce_fast_max_abs_diff_vs_torch") is not None for r in results)
    if fast:
        head.append("ce_fast max|diff|")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        ce = r["convengine"]["median_ms"]
        cells = [r["model"], str(r["threads"]), str(r.get("batch", 1)),
                 f"{ce:.2f} ({r['convengine']['p90_ms']:.2f})"]
        for e in peers:
            cells.append(f"{r[e]['median_ms']:.2f} ({r[e]['p90_ms']:.2f})" if e in r else "-")
        for e in ("convengine",) + tuple(peers):
            cells.append(_ips(r[e]) if e in r else "-")
        for e in peers:
            cells.append(f"{r[e]['median_ms'] / ce:.2f}x" if e in r else "-")
        if scaling:
            r1 = one.get((r["model"], r.get("batch", 1)))
            base = r1["convengine"]["median_ms"] if r1 else None
            cells.append(f"{base / ce:.2f}x" if base and r["threads"] > 1 else "-")
            cells.append(_shared_cache_speedup(r, r1))
        cells.append(f"{r['gflops']:.1f}" if r.get("gflops") else "-")
        for key in ("max_abs_diff_vs_torch",) + (("ce_fast_max_abs_diff_vs_torch",) if fast else ()):
            d = r.get(key)
            cells.append(f"{d:.1e}" if d is not None else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _shared_cache_speedup(r, r1):
    """The 1-thread median (all rounds) over the median of the rounds whose round trip says
    the vCPUs shared a cache, for convengine and onnxruntime: '1.86x / 1.80x (7/10)'."""
    if r1 is None or r["threads"] == 1 or "round_trip_ns" not in r:
        return "-"
    k, n = r.get("shared_cache_rounds", 0), len(r["round_trip_ns"])
    if not k:
        return f"- (0/{n})"

    def up(e):
        near = r.get(e, {}).get("shared_cache_median_ms")
        return f"{r1[e]['median_ms'] / near:.2f}x" if near and e in r1 else "-"
    return f"{up('convengine')} / {up('ort')} ({k}/{n})"


def _ips(timing):
    v = timing.get("images_per_s")
    return "-" if v is None else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def chart(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    engines = [e for e in ENGINES if any(e in r for r in results)]
    labels = [f"{r['model']}\n{r['threads']}T" + (f" b{r['batch']}" if r.get("batch", 1) > 1
                                                   else "") for r in results]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(results)), 4))
    w = 0.8 / len(engines)
    for i, e in enumerate(engines):
        vals = [r[e]["median_ms"] if e in r else 0 for r in results]
        ax.bar([j + i * w for j in range(len(results))], vals, w, label=e)
    ax.set_xticks([j + 0.4 - w / 2 for j in range(len(results))])
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("median ms per run, lower is better")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convengine bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=DEFAULT_MODELS,
                    help=f"comma-separated zoo names (default {DEFAULT_MODELS}; 'all' for the zoo)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per engine (default 30)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds the runs are split into, engines interleaved in each (default 3; "
                         "more spread a noisy machine's slow spells over every engine)")
    ap.add_argument("--vs", default="torch,jit,ort,ce_fast",
                    help="peers: torch, jit, ort, ce_fast (convengine with precision='fast'); "
                         "default all")
    ap.add_argument("--batch", default="1",
                    help="comma-separated batch sizes (default 1), e.g. 1,8,32: each row adds "
                         "the throughput in images/s")
    ap.add_argument("--output", default="convengine-bench", help="folder for JSON/markdown/PNG")
    ap.add_argument("--note", default="", help="a sentence added to the markdown's header "
                    "(e.g. that the machine was shared)")
    ap.add_argument("--name", default="models",
                    help="file name stem of the JSON/markdown/PNG (default models)")
    args = ap.parse_args(argv)
    from . import zoo
    models = zoo.list() if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in zoo.list()]
    if unknown:
        ap.error(f"unknown models {unknown}; available: {', '.join(zoo.list())}")
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error(f"--threads must be integers, got {args.threads!r}")
    try:
        batches = [int(b) for b in args.batch.split(",") if b.strip()]
    except ValueError:
        ap.error(f"--batch must be comma-separated integers, got {args.batch!r}")
    if not batches:
        ap.error("--batch is empty")
    if min(threads) < 1 or args.runs < 1 or args.warmup < 0 or min(batches) < 1 or args.rounds < 1:
        ap.error("threads, runs, rounds and batch must be >= 1 and warmup >= 0")
    vs = {v.strip() for v in args.vs.split(",") if v.strip()}
    if vs - set(ENGINES[1:]):
        ap.error(f"--vs takes {', '.join(ENGINES[1:])}; got {sorted(vs - set(ENGINES[1:]))}")
    from . import _native
    from ._bench import cpu_description
    from . import get_num_threads, set_num_threads
    old_threads = get_num_threads()
    set_num_threads(1)  # the peak of one core (its argument is the number of repeats)
    peak = _native.measure_fma_peak_gflops(3)
    set_num_threads(old_threads)
    isa = _native.get_isa()
    print(f"CPU: {cpu_description()}; convengine's {isa} kernels; FMA peak {peak:.0f} GFLOP/s "
          "on 1 thread", flush=True)
    trips = [_native.measure_thread_round_trip_ns()]
    results = run(models, threads, args.runs, args.warmup, vs, batches, rounds=args.rounds)
    trips.append(_native.measure_thread_round_trip_ns())
    print(f"thread round trip {trips[0]:.0f} ns before the runs, {trips[1]:.0f} ns after")
    md = table(results)
    print(md)
    for r in results:
        for e, why in r["notes"].items():
            print(f"note: {r['model']}: {why}")
    os.makedirs(args.output, exist_ok=True)
    meta = dict(machine=platform.machine(), cpu=cpu_description(), isa=isa,
                python=platform.python_version(), fma_peak_gflops_1_thread=peak,
                thread_round_trip_ns=[round(t) for t in trips],
                date=time.strftime("%Y-%m-%d %H:%M"))
    stem = os.path.join(args.output, args.name)
    with open(stem + ".json", "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(f"# convengine bench ({meta['date']})\n\nCPU: {meta['cpu']}; convengine's {isa} "
                "kernels. "
                f"Measured FMA peak: {peak:.0f} GFLOP/s on 1 "
                f"thread. A cache line's round trip between two threads: {trips[0]:.0f} ns "
                f"before the runs, {trips[1]:.0f} ns after (on a VM it tells whether the vCPUs "
                f"share a cache; 2-thread times depend on it). Median (p90) ms per run over {args.runs} runs per engine "
                f"({args.rounds} interleaved rounds), batch "
                f"{','.join(map(str, batches))}; img/s = batch / median; ratio = peer / "
                "convengine time (> 1: convengine faster)." +
                (f" {args.note}" if args.note else "") + "\n\n" + md + "\n")
    if chart(results, stem + ".png"):
        print(f"wrote {stem}.json, .md, .png")
    else:
        print(f"wrote {stem}.json, .md (install matplotlib for the chart)")
    return 0
