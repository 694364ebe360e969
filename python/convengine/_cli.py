"""The `convengine` command line: convert, compile, run, inspect, bench, ops.

User errors (a missing or broken file, a wrong input name or shape, a missing optional
dependency) print one line `convengine <command>: error: ...` to stderr and exit with code 2.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

USAGE = """usage: convengine <command> [options]

commands:
  convert   model.onnx -o model.json [--optimize]      ONNX -> convengine model (JSON + weights)
  compile   model.json -o model.cem [--input-shape x=1,3,224,224] [--precision fast]
                                                        plan for fixed shapes -> compiled model
                                                        (the C API's file, include/convengine.h)
  run       model.json --input x.npy --output y.npy     run a model (.json, .onnx, .cem) on .npy inputs
  inspect   model.json                                  per-node table: op, shapes, algorithm,
                                                        MFLOPs, parameters; arena and weights size
  bench     [options]                                   built-in models vs torch / onnxruntime (see 'convengine bench -h')
  bench-layers [options]                                single conv layers vs torch (see 'convengine bench-layers -h')
  ops                                                   the supported ops (markdown table)
"""


class UserError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(message)


def _load_model(path):
    from . import from_onnx, load  # noqa: PLC0415

    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if path.endswith(".cem"):
        return path  # a compiled model: InferenceSession loads it
    if path.endswith(".onnx"):
        return from_onnx(path)
    return load(path)


def _mb(n):
    n = int(n or 0)
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def _convert(args):
    model = _load_model(args.model)
    if args.optimize:
        from ._graph.passes import optimize  # noqa: PLC0415
        model = optimize(model)
    out = args.output or os.path.splitext(args.model)[0] + ".json"
    if os.path.abspath(out) == os.path.abspath(args.model):
        raise UserError(f"the output {out} would overwrite the input")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UserError(f"output folder does not exist: {folder}")
    model.save(out)
    if not out.endswith(".json"):
        out += ".json"
    nbytes = sum(np.asarray(a).nbytes for a in model.graph.initializers.values())
    print(f"wrote {out} and {os.path.splitext(out)[0]}.bin: {len(model.graph.nodes)} nodes, "
          f"{len(model.graph.initializers)} initializers ({_mb(nbytes)}), opset {model.opset}")
    return 0


def _read_array(path, what):
    if not os.path.exists(path):
        raise UserError(f"{what}: no such file: {path}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{what}: cannot read {path} as a .npy array ({e})") from None
    if not isinstance(arr, np.ndarray):
        raise UserError(f"{what}: {path} holds several arrays; give one .npy file per input")
    return arr


def _session(model, threads, optimize, precision="accurate"):
    from . import InferenceSession  # noqa: PLC0415

    if threads is not None and threads < 1:
        raise UserError(f"--threads must be >= 1, got {threads}")
    if isinstance(model, str):  # compiled
        return InferenceSession(model, threads)
    return InferenceSession(model, threads, optimize=optimize, precision=precision)


def _input_shapes(sess, specs):
    inputs = {i.name: i for i in sess.get_inputs()}
    shapes = {}
    for s in specs:
        name, sep, dims = s.partition("=")
        if not sep:
            raise UserError(f"--input-shape {s!r}: expected NAME=D0,D1,...")
        if name not in inputs:
            raise UserError(f"unknown input name {name!r}; the model's inputs are {list(inputs)}")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise UserError(f"--input-shape {s!r}: dimensions must be integers") from None
        if any(d < 1 for d in shape):
            raise UserError(f"--input-shape {s!r}: dimensions must be >= 1")
        shapes[name] = shape
    for name, i in inputs.items():
        if name in shapes:
            continue
        if i.shape is None or not all(isinstance(d, int) for d in i.shape):
            if i.shape is not None and sum(not isinstance(d, int) for d in i.shape) == 1 and \
                    not isinstance(i.shape[0], int):
                shapes[name] = (1, *i.shape[1:])  # a symbolic batch: 1, as sessions plan it
                continue
            raise UserError(f"input {name!r} has shape {i.shape}; give --input-shape "
                            f"{name}=D0,D1,...")
        shapes[name] = tuple(i.shape)
    return shapes


def _compile(args):
    model = _load_model(args.model)
    if isinstance(model, str):
        raise UserError(f"{args.model} is already compiled")
    sess = _session(model, None, not args.no_optimize, args.precision)
    shapes = _input_shapes(sess, args.input_shape or [])
    out = args.output or os.path.splitext(args.model)[0] + ".cem"
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UserError(f"output folder does not exist: {folder}")
    n = sess.save_compiled(out, shapes)
    steps = len(sess.describe(shapes))
    print(f"wrote {out}: {_mb(n)}, {steps} steps, inputs {_shape_str(shapes.values())}, "
          f"precision {args.precision}")
    return 0


def _feeds(sess, specs):
    inputs = sess.get_inputs()
    names = [i.name for i in inputs]
    feeds, positional = {}, []
    for s in specs:
        name, sep, path = s.partition("=")
        if sep and name in names:
            if name in feeds:
                raise UserError(f"input {name!r} is given twice")
            feeds[name] = _read_array(path, f"input {name!r}")
        elif sep and not os.path.exists(s):
            raise UserError(f"unknown input name {name!r}; the model's inputs are {names}")
        else:
            positional.append(s)
    rest = [n for n in names if n not in feeds]
    if len(positional) > len(rest):
        raise UserError(f"{len(specs)} inputs given, the model has {len(names)}: {names}")
    for name, path in zip(rest, positional):
        feeds[name] = _read_array(path, f"input {name!r}")
    missing = [n for n in names if n not in feeds]
    if missing:
        raise UserError(f"missing input(s) {missing}; give --input NAME=FILE.npy")
    for i in inputs:
        a = feeds[i.name]
        if i.type == "tensor(float)" and a.dtype.kind == "f" and a.dtype != np.float32:
            feeds[i.name] = a.astype(np.float32)
    return feeds


def _run(args):
    model = _load_model(args.model)
    sess = _session(model, args.threads, not args.no_optimize)
    feeds = _feeds(sess, args.input or [])
    outs = sess.get_outputs()
    results = sess.run(None, feeds)
    targets = {}
    positional = []
    for s in args.output or []:
        name, sep, path = s.partition("=")
        if sep and name in [o.name for o in outs]:
            targets[name] = path
        else:
            positional.append(s)
    for o, path in zip([o for o in outs if o.name not in targets], positional):
        targets[o.name] = path
    if len(targets) < len(args.output or []):
        raise UserError(f"{len(args.output)} --output files for {len(outs)} outputs")
    for o, r in zip(outs, results):
        line = f"{o.name}: {tuple(r.shape)} {r.dtype}"
        if o.name in targets:
            np.save(targets[o.name], r)
            line += f" -> {targets[o.name]}"
        print(line)
    return 0


def _shape_str(shapes):
    return " ".join("x".join(str(d) for d in s) if s else "scalar" for s in shapes)


def _inspect(args):
    model = _load_model(args.model)
    sess = _session(model, args.threads, not args.no_optimize)
    rows = sess.describe()
    g = sess.model.graph if sess.model is not None else None  # None: a compiled model
    node_params = {n.name: sum(int(np.asarray(g.initializers[t]).size) for t in set(n.inputs)
                               if t in g.initializers) for n in g.nodes} if g else {}
    for r in rows:
        if r.get("params") is None:
            r["params"] = node_params.get(r.get("node"), 0)
    head = ["#", "node", "op", "algorithm", "inputs", "outputs", "MFLOPs", "params"]
    table = []
    for i, r in enumerate(rows):
        table.append([str(i), str(r.get("node", "")), str(r.get("op", "")),
                      str(r.get("algorithm") or "-"), _shape_str(r.get("inputs", [])),
                      _shape_str(r.get("outputs", [])), f"{float(r.get('mflops') or 0):.2f}",
                      f"{int(r.get('params') or 0):,}"])
    mflops = sum(float(r.get("mflops") or 0) for r in rows)
    params = sum(int(r.get("params") or 0) for r in rows)
    table.append(["", "total", "", "", "", "", f"{mflops:.2f}", f"{params:,}"])
    widths = [max(len(h), *(len(t[c]) for t in table)) for c, h in enumerate(head)]
    right = {0, 6, 7}

    def fmt(cells):
        return "  ".join(c.rjust(w) if k in right else c.ljust(w)
                         for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    for t in table[:-1]:
        print(fmt(t))
    print("  ".join("-" * w for w in widths))
    print(fmt(table[-1]))
    def arg(a):
        return f"{a.name} {list(a.shape) if a.shape is not None else '(shape unknown)'}"

    ins = ", ".join(arg(i) for i in sess.get_inputs())
    outs = ", ".join(arg(o) for o in sess.get_outputs())
    print(f"\ninputs: {ins}\noutputs: {outs}")
    print(f"steps: {len(rows)}   MFLOPs: {mflops:.2f}   parameters: {params:,}")
    print(f"activation arena: {_mb(sess.arena_bytes)}   weights: {_mb(sess.weights_bytes)}")
    from . import _native  # noqa: PLC0415
    print(f"kernels: {_native.get_isa()} (this CPU's best: {_native.best_isa()}; "
          "CONVENGINE_ISA=scalar|avx2|avx512|neon chooses another the CPU has)")
    return 0


def _parser():
    p = _Parser(prog="convengine", description="convengine command line", usage=USAGE)
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("convert", help="ONNX model -> convengine model (JSON + weights)")
    c.add_argument("model", help="model.onnx (or a convengine model.json)")
    c.add_argument("-o", "--output", help="output model.json (default: the input's name .json)")
    c.add_argument("--optimize", action="store_true",
                   help="save the optimised graph (BN folded, activations fused, ...)")
    k = sub.add_parser("compile", help="plan for fixed input shapes -> compiled model (.cem)")
    k.add_argument("model", help="model.json or model.onnx")
    k.add_argument("-o", "--output", help="output model.cem (default: the input's name .cem)")
    k.add_argument("--input-shape", action="append", metavar="NAME=D0,D1,...",
                   help="an input's shape (default: its declared shape, batch 1)")
    k.add_argument("--precision", choices=["accurate", "fast"], default="accurate",
                   help="convolution algorithms admitted (see InferenceSession)")
    k.add_argument("--no-optimize", action="store_true", help="plan without the graph passes")
    r = sub.add_parser("run", help="run a model on .npy inputs")
    r.add_argument("model", help="model.json, model.onnx or model.cem")
    r.add_argument("-i", "--input", action="append", metavar="[NAME=]FILE.npy",
                   help="an input array; NAME= binds it by name, else inputs fill in order")
    r.add_argument("-o", "--output", action="append", metavar="[NAME=]FILE.npy",
                   help="where to save an output (by name, else in order)")
    r.add_argument("--threads", type=int, default=None, help="engine threads")
    r.add_argument("--no-optimize", action="store_true", help="run without the graph passes")
    s = sub.add_parser("inspect", help="per-node table, arena and weights sizes")
    s.add_argument("model", help="model.json, model.onnx or model.cem")
    s.add_argument("--threads", type=int, default=None, help="engine threads")
    s.add_argument("--no-optimize", action="store_true", help="plan without the graph passes")
    for sp in (c, k, r, s):
        sp.error = p.error
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="", file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "bench":
        from ._model_bench import main as bench  # noqa: PLC0415
        return bench(argv[1:])
    if argv[0] == "bench-layers":
        from ._bench import main as bench_layers  # noqa: PLC0415
        return bench_layers(argv[1:])
    if argv[0] == "ops":
        from ._graph.op_docs import markdown  # noqa: PLC0415
        print(markdown())
        return 0
    cmd = argv[0]
    try:
        args = _parser().parse_args(argv)
        if cmd not in ("convert", "compile", "run", "inspect"):
            raise UserError(f"unknown command {cmd!r}; available: convert, compile, run, "
                            "inspect, bench, bench-layers, ops")
        return {"convert": _convert, "compile": _compile, "run": _run,
                "inspect": _inspect}[args.command](args)
    except UserError as e:
        print(f"convengine {cmd}: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, ImportError) as e:
        msg = str(e).strip().replace("\n", "; ")
        print(f"convengine {cmd}: error: {msg or type(e).__name__}", file=sys.stderr)
        return 2
