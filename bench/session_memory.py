"""Memory per session and per input shape: resident memory of N sessions of one model file in
one process, and of one session run at several batch sizes, convengine against onnxruntime.

    python bench/session_memory.py [--models resnet50,mobilenet_v2] [--sessions 4]
                                   [--batches 1,2,4,8] [--procs 3] [--out DIR]

Each zoo model is written once as model.json (convengine) and model.onnx (onnxruntime; also
convengine from it). In a fresh process per engine and measurement (after `import`), VmRSS
(resident memory, what `top` shows) is read:

  sessions   before, then after each of --sessions sessions of the same file is created and
             run once (batch 1): "first" is the first session's cost, "further" the median cost
             of each further one
  shapes     one session run once at each batch size in --batches, in order: the growth after
             the first batch

Medians over --procs processes. Writes session_memory.md / .json into bench/results/<cpu>/<isa>/
(or --out). convengine's disk cache is off (CONVENGINE_CACHE=0), so every first session plans.
"""
import argparse
import json
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

_CHILD = r"""
import json, sys
import numpy as np
engine, path, mode, n, batches = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

if engine == "ort":
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    make = lambda: ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
else:
    import convengine
    convengine.set_num_threads(1)
    make = lambda: convengine.InferenceSession(path)

def feed(s, b):
    inp = s.get_inputs()[0]
    shape = [b] + [d if isinstance(d, int) else 1 for d in inp.shape[1:]]
    return {inp.name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}

marks = [rss()]
keep = []
if mode == "sessions":
    for _ in range(n):
        s = make()
        s.run(None, feed(s, 1))
        keep.append(s)
        marks.append(rss())
else:
    s = make()
    for b in [int(v) for v in batches.split(",")]:
        s.run(None, feed(s, b))
        marks.append(rss())
print(json.dumps(marks))
"""


def _child(engine, path, mode, n, batches):
    from convengine._bench import package_dir, run_child
    env = dict(os.environ, PYTHONPATH=package_dir(),
               CONVENGINE_CACHE="0", OMP_NUM_THREADS="1")
    return run_child(_CHILD, (engine, path, mode, n, batches), env)


def measure(name, folder, sessions, batches, procs):
    from convengine._bench import write_zoo_model
    js, ox = write_zoo_model(name, folder)
    weights = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                  if f.startswith(name + ".") and not f.endswith((".json", ".onnx"))) / 2**20
    row = dict(model=name, weights_mib=weights, onnx_mib=os.path.getsize(ox) / 2**20)
    for engine, path in (("ort", ox), ("ce", js), ("ce_onnx", ox)):
        first, further, shapes = [], [], []
        for _ in range(procs):
            m = _child(engine, path, "sessions", sessions, batches)
            first.append(m[1] - m[0])
            further.append(statistics.median(b - a for a, b in zip(m[1:-1], m[2:])))
            m = _child(engine, path, "shapes", 0, batches)
            shapes.append(m[-1] - m[1])
        row[engine] = dict(first_mib=statistics.median(first),
                           further_mib=statistics.median(further),
                           shapes_mib=statistics.median(shapes))
    return row


def table(rows, batches):
    head = ["model", "weights MiB", "ort 1st session MiB", "ce 1st (json)", "ce 1st (onnx)",
            "ort per further session", "ce per further (json)", "ce per further (onnx)",
            f"ort growth, batches {batches}", f"ce growth, batches {batches}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], f"{r['weights_mib']:.1f}", f"{r['ort']['first_mib']:.0f}",
                 f"{r['ce']['first_mib']:.0f}", f"{r['ce_onnx']['first_mib']:.0f}",
                 f"{r['ort']['further_mib']:.1f}", f"{r['ce']['further_mib']:.1f}",
                 f"{r['ce_onnx']['further_mib']:.1f}", f"{r['ort']['shapes_mib']:.0f}",
                 f"{r['ce']['shapes_mib']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="resnet50,resnet18,mobilenet_v2,squeezenet1_1")
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--batches", default="1,2,4,8")
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--note", default="")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    from convengine import _native
    from convengine._bench import cpu_description, results_dir, write_results
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            rows.append(measure(name.strip(), tmp, a.sessions, a.batches, a.procs))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    cpu = cpu_description()
    meta = dict(cpu=cpu, isa=_native.get_isa(), sessions=a.sessions, batches=a.batches,
                procs=a.procs, date=time.strftime("%Y-%m-%d %H:%M"))
    md = (f"# Memory per session and per input shape ({meta['date']})\n\nCPU: {cpu}; "
          f"convengine's {meta['isa']} kernels; 1 thread. VmRSS (resident MiB) in fresh "
          f"processes, median over {a.procs}: the first session of a model file (created and "
          f"run once at batch 1), each further session of the same file in the same process "
          f"({a.sessions} in all), and the growth of one session run at batches {a.batches} "
          "after its first run. onnxruntime from the .onnx (default options); convengine from "
          "its .json (weights memory-mapped) and from the .onnx, its disk cache off. "
          "convengine's further sessions share the first one's optimised model, plan and "
          "packed weights (python/convengine/_load_cache.py, engine/shared_weights.h); its "
          "plans for other batch sizes share the packed weights and one pool of arenas."
          + (f" {a.note}" if a.note else "") + "\n\n" + table(rows, a.batches) + "\n")
    print(md)
    out = a.out or results_dir(os.path.join(HERE, "results"))
    write_results(out, "session_memory", meta, rows, md)
    print(f"wrote {out}/session_memory.md, session_memory.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
