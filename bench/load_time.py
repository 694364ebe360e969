"""Load time: from InferenceSession(path) to the first output, convengine against onnxruntime,
for the zoo models, each measured in fresh processes.

    python bench/load_time.py [--models all] [--threads 1] [--procs 5] [--out DIR]

Each zoo model is written once as model.json (convengine's format) and model.onnx. For every
model, rounds of fresh processes (interleaved, so load on a shared machine hits all alike)
time, after `import` (not counted):

  ort           onnxruntime.InferenceSession(model.onnx) (default options: graph optimisation
                "all") + its first run
  ce cold       convengine.InferenceSession(model.json) + first run with CONVENGINE_CACHE=0:
                graph passes, planner, compiled-model writer, C++ loader (weight packing)
  ce cold onnx  the same from model.onnx (the ONNX importer first)
  ce cached     the same with a warm on-disk cache entry (python/convengine/_load_cache.py):
                the C++ loader of the cached compiled model only
  ce 2nd        a second session of model.json in the same process (in-process cache: the
                first session's optimised model and plan are shared)

Reports medians over --procs processes (ms) and writes load_time.md and load_time.json into
bench/results/<cpu>/<isa>/ (or --out).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_SRC = os.path.join(os.path.dirname(HERE), "python")
if os.path.isdir(os.path.join(_SRC, "convengine")) and any(
        n.startswith("_native") for n in os.listdir(os.path.join(_SRC, "convengine"))):
    sys.path.insert(0, _SRC)  # the source tree, built in place (else the installed package)

ENGINES = ("ort", "ce_cold", "ce_cold_onnx", "ce_cached")

_CHILD = r"""
import json, os, sys, time
import numpy as np
engine, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if engine == "ort":
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    def make():
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
else:
    import convengine
    convengine.set_num_threads(threads)
    def make():
        return convengine.InferenceSession(path)
t0 = time.perf_counter()
s = make()
t1 = time.perf_counter()
inp = s.get_inputs()[0]
shape = [1 if not isinstance(d, int) else d for d in inp.shape]
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
s.run(None, {inp.name: x})
t2 = time.perf_counter()
out = dict(create_ms=(t1 - t0) * 1e3, first_run_ms=(t2 - t1) * 1e3, total_ms=(t2 - t0) * 1e3)
if engine != "ort":
    t3 = time.perf_counter()
    s2 = make()
    s2.run(None, {inp.name: x})
    out["second_ms"] = (time.perf_counter() - t3) * 1e3
print(json.dumps(out))
"""


def _child(engine, path, threads, cache_dir):
    from convengine._bench import package_dir, run_child
    env = dict(os.environ, PYTHONPATH=package_dir(),
               CONVENGINE_CACHE_DIR=cache_dir, OMP_NUM_THREADS=str(threads))
    if engine in ("ce_cold", "ce_cold_onnx"):
        env["CONVENGINE_CACHE"] = "0"
    return run_child(_CHILD, (engine, path, threads), env, timeout=600)


def measure(name, folder, threads, procs, cache_dir):
    from convengine import zoo
    from convengine._bench import write_zoo_model
    js, ox = write_zoo_model(name, folder)
    paths = dict(ort=ox, ce_cold=js, ce_cold_onnx=ox, ce_cached=js)
    _child("ce_cached", js, threads, cache_dir)  # writes the cache entry
    samples = {e: [] for e in ENGINES}
    engines = list(ENGINES)
    for _ in range(procs):
        for e in list(engines):
            try:
                samples[e].append(_child(e, paths[e], threads, cache_dir))
            except RuntimeError:
                if e != "ort":
                    raise
                engines.remove(e)  # a convengine custom op (LocalConv, ...) onnxruntime lacks
    row = dict(model=name, threads=threads, procs=procs,
               weights_mb=sum(a.nbytes for a in zoo.get(name).graph.initializers.values()) / 2**20)
    for e, ss in samples.items():
        row[e] = {k: statistics.median(s[k] for s in ss) for k in ss[0]} if ss else None
    return row


def table(rows):
    head = ["model", "weights MiB", "ort ms", "ce cold ms", "ce cold (onnx) ms",
            "ce cached ms", "ce 2nd session ms", "ort / ce cold", "ort / ce cached"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        o, c, co, h = (r[e]["total_ms"] if r[e] else None for e in ENGINES)
        lines.append("| " + " | ".join([
            r["model"], f"{r['weights_mb']:.1f}", f"{o:.0f}" if o else "-", f"{c:.0f}",
            f"{co:.0f}", f"{h:.0f}", f"{r['ce_cold']['second_ms']:.0f}",
            f"{o / c:.2f}x" if o else "-", f"{o / h:.2f}x" if o else "-"]) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="all", help="comma-separated zoo names, or all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--procs", type=int, default=5, help="fresh processes per engine (median)")
    ap.add_argument("--note", default="", help="a sentence for the markdown's header (e.g. "
                    "that the machine was shared)")
    ap.add_argument("--out", default=None, help="folder for load_time.md/.json (default "
                    "bench/results/<cpu>/<isa>)")
    a = ap.parse_args(argv)
    from convengine import _native, zoo
    from convengine._bench import cpu_description, results_dir, write_results
    models = zoo.list() if a.models == "all" else [m.strip() for m in a.models.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = os.path.join(tmp, "cache")
        for i, name in enumerate(models):
            rows.append(measure(name, tmp, a.threads, a.procs, cache_dir))
            print(f"[{i + 1}/{len(models)}] {name}: " + ", ".join(
                f"{e} {rows[-1][e]['total_ms']:.0f} ms" for e in ENGINES), file=sys.stderr,
                flush=True)
    cpu = cpu_description()
    meta = dict(cpu=cpu, isa=_native.get_isa(), threads=a.threads, procs=a.procs,
                date=time.strftime("%Y-%m-%d %H:%M"), python=sys.version.split()[0])
    md = (f"# Load time ({meta['date']})\n\nCPU: {cpu}; convengine's {meta['isa']} kernels; "
          f"{a.threads} thread(s). Time from InferenceSession(path) to the first output "
          f"(batch 1), median over {a.procs} fresh processes per engine (interpreter start and "
          "imports not counted). ort: onnxruntime from the .onnx file, default options; ce "
          "cold: convengine from the .json with CONVENGINE_CACHE=0 (graph passes, planner, "
          "compiled-model writer, weight packing); ce cold (onnx): the same from the .onnx; "
          "ce cached: a warm on-disk cache entry; ce 2nd session: a second session of the same "
          "file in the same process (with its first run). ce cold (onnx) includes importing the "
          "onnx package, which convengine's ONNX importer needs and onnxruntime does not (about "
          "1 s here, most of it in ml_dtypes' extension module); a cached .onnx does not import "
          "it." + (f" {a.note}" if a.note else "") + "\n\n" + table(rows) + "\n")
    print(md)
    out = a.out or results_dir(os.path.join(HERE, "results"))
    write_results(out, "load_time", meta, rows, md)
    print(f"wrote {out}/load_time.md, load_time.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
