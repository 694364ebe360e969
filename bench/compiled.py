"""Compiled models and the C API: load time of a compiled model against onnxruntime's session
creation for the same network, and run latency through the C API against InferenceSession.run
on the same plan, in one run.

    python bench/compiled.py [--models resnet50,mobilenet_v2] [--threads 1] [--loads 7]
                             [--runs 30] [--lib build/c/libconvengine.so]

Load: ce_model_load of the .cem file (parse, validate, choose algorithms, pack weights) against
onnxruntime.InferenceSession(model.onnx) with default options (graph optimisation level "all"),
both with the given threads; median of --loads, interleaved. Run: the C API (through ctypes on
the extension module, or on the shared library given with --lib) and the Python session run the
same compiled plan, interleaved run by run; ms is the median of --runs. Writes compiled.md and
compiled.json into bench/results/<cpu>/<isa>/ (convengine._bench.results_dir).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import convengine as ce
from convengine import _capi, _native, zoo
from convengine._bench import cpu_description, results_dir

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_model(name, threads, loads, runs, lib, tmp):
    ce.set_num_threads(threads)
    lib.ce_set_num_threads(threads)  # a separate libconvengine.so has a pool of its own
    sess = ce.InferenceSession(zoo.get(name))
    shape = [d if isinstance(d, int) else 1 for d in sess.get_inputs()[0].shape]
    path = os.path.join(tmp, f"{name}.cem")
    nbytes = sess.save_compiled(path)
    row = dict(model=name, threads=threads, file_mb=nbytes / 2 ** 20)
    try:
        import onnxruntime as ort
        from convengine.onnx_export import to_onnx
        onnx_path = os.path.join(tmp, f"{name}.onnx")
        with open(onnx_path, "wb") as f:
            f.write(to_onnx(zoo.get(name)).SerializeToString())
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    except ImportError:
        ort = None
    ce_ms, ort_ms = [], []
    for _ in range(loads):
        t0 = time.perf_counter()
        m = _capi.CModel(path, lib)
        ce_ms.append((time.perf_counter() - t0) * 1e3)
        m.close()
        if ort is not None:
            t0 = time.perf_counter()
            ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            ort_ms.append((time.perf_counter() - t0) * 1e3)
    row["load_ms"] = statistics.median(ce_ms)
    row["ort_create_ms"] = statistics.median(ort_ms) if ort_ms else None
    cm = _capi.CModel(path, lib)
    py = ce.InferenceSession(path)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    name_in = py.get_inputs()[0].name
    outs = [np.empty(s, np.float32) for _, s in cm.outputs]
    for _ in range(3):
        cm.run(x, out=outs)
        py.run(None, {name_in: x})
    c_t, p_t = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        cm.run(x, out=outs)
        c_t.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        py.run(None, {name_in: x})
        p_t.append((time.perf_counter() - t0) * 1e3)
    row["c_api_ms"] = statistics.median(c_t)
    row["python_ms"] = statistics.median(p_t)
    row["c_over_python"] = statistics.median(c / p for c, p in zip(c_t, p_t))
    assert lib.ce_get_num_threads() == ce.get_num_threads() == threads
    np.testing.assert_array_equal(cm.run(x)[0], py.run(None, {name_in: x})[0])
    cm.close()
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet50,mobilenet_v2,squeezenet1_1")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--lib", default=None, help="a libconvengine.so (default: the extension)")
    ap.add_argument("--out", default=None,
                    help="path stem of the .md / .json (default bench/results/<cpu>/<isa>/compiled)")
    args = ap.parse_args(argv)
    if args.out is None:
        d = results_dir(os.path.join(HERE, "results"))
        os.makedirs(d, exist_ok=True)
        args.out = os.path.join(d, "compiled")
    lib = _capi.library(args.lib)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in [int(v) for v in args.threads.split(",")]:
            for name in args.models.split(","):
                r = bench_model(name, t, args.loads, args.runs, lib, tmp)
                print(r, flush=True)
                rows.append(r)
    cpu = cpu_description()
    lines = [f"# Compiled models: load and run ({cpu}; {_native.get_isa()} kernels)", "",
             f"Load: median of {args.loads} loads of the .cem file through ce_model_load "
             "(parse, validate, choose algorithms, pack weights) against onnxruntime "
             "InferenceSession creation from the same network's .onnx; run: median of "
             f"{args.runs} interleaved runs of the same plan through the C API and "
             f"InferenceSession.run. C API library: {args.lib or 'the extension module'}.", "",
             "| model | threads | file MB | load ms | ORT create ms | C API run ms | "
             "Python run ms | C / Python |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ort_ms = f"{r['ort_create_ms']:.1f}" if r["ort_create_ms"] else "-"
        lines.append(f"| {r['model']} | {r['threads']} | {r['file_mb']:.1f} | {r['load_ms']:.1f} | "
                     f"{ort_ms} | {r['c_api_ms']:.2f} | {r['python_ms']:.2f} | "
                     f"{r['c_over_python']:.3f} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(args.out + ".json", "w") as f:
        json.dump(dict(cpu=cpu, rows=rows), f, indent=1)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
