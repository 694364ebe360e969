"""Fuzzing helpers shared by tests/test_fuzz.py and tools/fuzz_compiled.py.

A case is a dict: ``kind`` ("json", "onnx", "cem" or "graph"), ``files`` ({file name: bytes},
the model as it lies in its folder) or, for "graph", ``spec`` (a random valid chain of conv,
pool and activation layers, see `random_graph`). `make_case(seed, index, bases)` derives case
`index` from `seed` alone, so a seed and an index reproduce it; `run_case` opens the model as a
user would (`InferenceSession` on the file), runs it when its inputs are small, and returns an
outcome: "ran", "refused: <exception type>", or, for a graph, "ran" only when the outputs match
the Cython reference. Exceptions outside `EXPECTED` propagate. `worker` runs cases sent over a
pipe in a child process, so that a crash (a signal) kills only the child.

Mutations: byte changes (set to 0, 1, 0x7F, 0x80, 0xFF or random; truncation; a repeated or
dropped chunk), in the compiled format's description section followed by a fresh checksum so
they reach the checks behind it; and structural changes of the JSON document or of the ONNX
protobuf (as a dict): numbers replaced by boundary values, strings by other names of the model,
values by values of another type, list items dropped or repeated, external data pointed at
missing, outside and special files.
"""
from __future__ import annotations

import base64
import json
import math
import os
import random
import struct
import tempfile
import traceback

import numpy as np

# ---------------------------------------------------------------- what a hostile file may raise
# ModelError (a ValueError) for every problem of a model file or graph; CompiledModelError (a
# ValueError) from the compiled-model loader; ValueError and TypeError for bad arguments;
# MemoryError, or its subclass convengine.OutOfMemoryError (the plan for the given shapes needs
# more than the memory bound), when a plan or tensor does not fit.
EXPECTED = (ValueError, TypeError, MemoryError)
DOCUMENTED = {"ModelError", "PlanError", "CompiledModelError", "ValueError", "TypeError",
              "MemoryError", "OutOfMemoryError"}   # the exact types; a subclass such as
#                                                     UnicodeDecodeError is not

# The compiled format's header (docs/compiled-format.md): magic, version, header bytes, file
# bytes, description offset and bytes, data offset and bytes, checksum.
HEADER = struct.Struct("<8sIIQQQQQQ")

# Zoo models small enough to fuzz quickly, with their build options.
SMALL_ZOO = {"mobilenet_v3_small": {"size": 64}, "shufflenet_v2_x1_0": {"size": 64},
             "deeplab_aspp": {"size": 17}, "resize_conv_decoder": {}, "dcn_resnet_block": {},
             "tcn_1d": {}, "c3d_small": {"size": 32}, "deepface_local": {"size": 100},
             "inception_v3_block": {}}

BYTE_VALUES = (0, 1, 0x7F, 0x80, 0xFF)
INT_VALUES = (0, 1, -1, 2, 3, 7, 64, 255, 2**15, 2**24 + 1, 2**31 - 1, 2**31, 2**32 + 1,
              2**62, 2**63 - 1, -2**63, -2**31)
FLOAT_VALUES = (0.0, -0.0, 1e-45, -1.0, 1e38, 1e308, math.inf, -math.inf, math.nan)
OTHER_TYPES = (None, [], {}, "", "x", 1.5, True, [1, 2], {"a": 1})
EXTERNAL_PLACES = ("missing.bin", "../outside.bin", "/dev/zero", "/etc/hostname", ".",
                   "w.bin", "sub/../w.bin", "/proc/self/mem", "")

MAX_RUN_ELEMENTS = 1 << 21   # inputs larger than this are planned but not run


# ---------------------------------------------------------------- compiled files
def reseal(b: bytes) -> bytes:
    """A compiled file with its checksum recomputed over everything after the header."""
    from convengine import _native
    h = list(HEADER.unpack_from(b))
    h[-1] = _native.model_checksum(b[64:])
    return HEADER.pack(*h) + b[64:]


def compile_model(model) -> bytes:
    """The compiled-model bytes of `model` planned for its input shapes (symbolic sizes 1)."""
    from convengine import InferenceSession
    from convengine._graph import planner
    sess = InferenceSession(model)
    shapes = {i.name: tuple(d if isinstance(d, int) else 1 for d in i.shape)
              for i in sess.get_inputs()}
    return bytes(planner.build(sess.model, shapes, keep_file=True).file)


def zoo_model(name, options=None):
    from convengine import zoo
    return zoo.get(name, **(SMALL_ZOO.get(name, {}) if options is None else options))


# ---------------------------------------------------------------- byte mutations
def flip_bytes(rnd: random.Random, b: bytes, lo: int = 0, hi: int | None = None,
               count: int | None = None) -> bytes:
    """1-6 bytes in [lo, hi) set to a boundary value or a random one."""
    hi = len(b) if hi is None else hi
    out = bytearray(b)
    if hi <= lo:
        return bytes(out)
    for _ in range(count or rnd.randint(1, 6)):
        out[rnd.randrange(lo, hi)] = rnd.choice(BYTE_VALUES + (rnd.randrange(256),))
    return bytes(out)


def mutate_bytes(rnd: random.Random, b: bytes) -> bytes:
    """One of: flipped bytes, a truncation, a dropped chunk, a repeated chunk, appended junk."""
    if not b:
        return bytes([rnd.randrange(256)])
    op = rnd.randrange(5)
    if op == 0:
        return flip_bytes(rnd, b)
    i = rnd.randrange(len(b))
    if op == 1:
        return b[:i]
    j = min(len(b), i + rnd.randint(1, 64))
    if op == 2:
        return b[:i] + b[j:]
    if op == 3:
        return b[:j] + b[i:j] * rnd.randint(1, 4) + b[j:]
    return b + bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 32)))


def mutate_compiled(rnd: random.Random, f: bytes) -> bytes:
    """Mostly description bytes changed and the file resealed (reaching the checks behind the
    checksum); sometimes any byte change without resealing."""
    if rnd.random() < 0.85 and len(f) >= 64:
        meta = HEADER.unpack_from(f)[5]
        return reseal(flip_bytes(rnd, f, 64, min(len(f), 64 + meta)))
    return mutate_bytes(rnd, f)


# ---------------------------------------------------------------- structural mutations
def _slots(tree):
    """Every (container, key) of a JSON-like tree."""
    out, stack = [], [tree]
    while stack:
        c = stack.pop()
        keys = c.keys() if isinstance(c, dict) else range(len(c)) if isinstance(c, list) else ()
        for k in keys:
            out.append((c, k))
            if isinstance(c[k], (dict, list)):
                stack.append(c[k])
    return out


def _strings(tree):
    return [c[k] for c, k in _slots(tree) if isinstance(c[k], str) and len(c[k]) < 100]


def _new_value(rnd, v, names):
    if isinstance(v, bool) or rnd.random() < 0.1:
        return rnd.choice(OTHER_TYPES)
    if isinstance(v, int):
        return rnd.choice(INT_VALUES + (v + 1, v - 1, v * 2))
    if isinstance(v, float):
        return rnd.choice(FLOAT_VALUES + (v * 2,))
    if isinstance(v, str):
        if v.lstrip("-").isdigit():   # protobuf's JSON writes int64 as a string
            return str(rnd.choice(INT_VALUES + (int(v) + 1, int(v) - 1)))
        return rnd.choice(names + ["", "../x", "a" * 300, "\u0000", v + "_"]) if names else ""
    if isinstance(v, list):
        return rnd.choice([[], v[:-1], v + v[-1:], v[::-1]]) if v else [rnd.choice(INT_VALUES)]
    return rnd.choice(OTHER_TYPES)


def mutate_tree(rnd: random.Random, tree, count: int | None = None, skip=()):
    """Changes 1-3 places of a JSON-like tree in place: a value replaced (boundary numbers,
    other names, another type), a list item or dict key dropped, a list item repeated.
    Keys in `skip` are left alone (their values are mutated elsewhere)."""
    names = _strings(tree)
    for _ in range(count or rnd.randint(1, 3)):
        slots = [(c, k) for c, k in _slots(tree) if k not in skip]
        if not slots:
            return tree
        c, k = rnd.choice(slots)
        r = rnd.random()
        if r < 0.7:
            c[k] = _new_value(rnd, c[k], names)
        elif r < 0.85:
            del c[k]
        elif isinstance(c, list):
            c.insert(k, c[k])
        else:
            c[rnd.choice(names) if names else "x"] = c[k]
    return tree


def mutate_json_model(rnd: random.Random, files: dict) -> dict:
    """A model of the JSON format ({"m.json": ..., "m.bin": ...}) with its document changed
    structurally or byte-wise, or its weights file changed."""
    files = dict(files)
    r = rnd.random()
    if r < 0.65:
        doc = json.loads(files["m.json"])
        mutate_tree(rnd, doc)
        files["m.json"] = json.dumps(doc).encode()
    elif r < 0.8:
        files["m.json"] = mutate_bytes(rnd, files["m.json"])
    else:
        files["m.bin"] = mutate_bytes(rnd, files["m.bin"])
    return files


def _external(rnd, d):
    """Moves one initializer's data to an external location (a file in the folder, or a hostile
    place)."""
    inits = d.get("graph", {}).get("initializer", [])
    if not inits:
        return {}
    t = rnd.choice(inits)
    raw = base64.b64decode(t.pop("rawData", "") or "")
    t["dataLocation"] = "EXTERNAL"
    entries = [{"key": "location", "value": rnd.choice(EXTERNAL_PLACES)}]
    if rnd.random() < 0.5:
        entries.append({"key": "offset", "value": str(rnd.choice((0, 1, 4096, 2**40, -1)))})
    if rnd.random() < 0.5:
        entries.append({"key": "length", "value": str(rnd.choice((len(raw), 0, 1, 2**40, -1)))})
    t["externalData"] = entries
    return {"w.bin": raw}


def mutate_onnx(rnd: random.Random, files: dict) -> dict:
    """An ONNX model ({"m.onnx": ...}) changed as a protobuf (its fields, its raw tensor data,
    its external data) or byte-wise."""
    import onnx
    from google.protobuf import json_format
    files = dict(files)
    if rnd.random() < 0.15:
        files["m.onnx"] = mutate_bytes(rnd, files["m.onnx"])
        return files
    proto = onnx.load_from_string(files["m.onnx"])
    d = json_format.MessageToDict(proto)
    r = rnd.random()
    if r < 0.15:
        files.update(_external(rnd, d))
    elif r < 0.3:
        tensors = [t for c, k in _slots(d) if k == "rawData" for t in [c]]
        if tensors:
            t = rnd.choice(tensors)
            t["rawData"] = base64.b64encode(mutate_bytes(rnd, base64.b64decode(t["rawData"]))).decode()
    else:
        mutate_tree(rnd, d, skip=("rawData",))
    try:
        proto = json_format.ParseDict(d, onnx.ModelProto())
    except (json_format.ParseError, TypeError, ValueError, OverflowError, AttributeError):
        files["m.onnx"] = flip_bytes(rnd, files["m.onnx"])
        return files
    files["m.onnx"] = proto.SerializeToString()
    return files


# ---------------------------------------------------------------- random valid graphs
ACTIVATIONS = ("Relu", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid")


def random_graph(rnd: random.Random) -> dict:
    """A random valid chain (JSON-able): input N x C x H x W with awkward sizes, then 1-5 layers
    of Conv (any kernel, stride, dilation, asymmetric pads, groups), MaxPool / AveragePool
    (symmetric pads, ceil_mode), an activation, or an Add of a per-channel constant."""
    n, c = rnd.choice((1, 1, 2, 3)), rnd.choice((1, 2, 3, 5, 8, 13, 16, 17, 24))
    h, w = rnd.randint(1, 23), rnd.randint(1, 23)
    shape = [n, c, h, w]
    layers = []
    for _ in range(rnd.randint(1, 5)):
        kind = rnd.choice(("conv", "conv", "conv", "pool", "act", "add"))
        if kind == "conv":
            k = [rnd.choice((1, 1, 2, 3, 3, 5, 7)) for _ in range(2)]
            d = [rnd.choice((1, 1, 1, 2, 3)) for _ in range(2)]
            s = [rnd.choice((1, 1, 2, 3)) for _ in range(2)]
            p = [rnd.randint(0, 3) for _ in range(4)]
            ext = [d[i] * (k[i] - 1) + 1 for i in range(2)]
            if any(shape[2 + i] + p[i] + p[i + 2] < ext[i] for i in range(2)):
                continue
            g = rnd.choice([x for x in (1, 2, 3, shape[1]) if shape[1] % x == 0])
            cout = g * rnd.choice((1, 1, 2, 3)) if g > 1 else rnd.choice((1, 3, 4, 7, 8, 16, 19))
            layers.append({"op": "conv", "k": k, "d": d, "s": s, "p": p, "g": g, "cout": cout,
                           "bias": rnd.random() < 0.7})
            shape = [shape[0], cout] + [(shape[2 + i] + p[i] + p[i + 2] - ext[i]) // s[i] + 1
                                        for i in range(2)]
        elif kind == "pool":
            k = [rnd.randint(1, 4) for _ in range(2)]
            s = [rnd.randint(1, 3) for _ in range(2)]
            p = [rnd.randint(0, k[i] // 2) for i in range(2)]
            if any(shape[2 + i] + 2 * p[i] < k[i] for i in range(2)):
                continue
            layers.append({"op": rnd.choice(("max", "avg")), "k": k, "s": s, "p": p,
                           "ceil": rnd.random() < 0.3, "include_pad": rnd.random() < 0.5})
            from convengine.reference._args import pool_out
            shape = shape[:2] + [pool_out(shape[2 + i], k[i], s[i], p[i], 1, layers[-1]["ceil"])
                                 for i in range(2)]
        elif kind == "act":
            layers.append({"op": rnd.choice(ACTIVATIONS), "alpha": rnd.choice((0.01, 0.2, 0.5))})
        else:
            layers.append({"op": "add"})
    return {"input": [n, c, h, w], "layers": layers, "seed": rnd.randrange(2**32)}


def graph_model(spec):
    """(Model, feeds, expected outputs from the reference) of a random_graph spec."""
    from convengine import reference as ref
    from convengine.model import Graph, Model, Node, ValueInfo
    rng = np.random.default_rng(spec["seed"])
    x = rng.standard_normal(spec["input"]).astype(np.float32)
    y = x.astype(np.float32)
    nodes, inits, cur = [], {}, "x"
    for i, L in enumerate(spec["layers"]):
        out, name, op = f"t{i}", f"n{i}", L["op"]
        if op == "conv":
            cin = y.shape[1]
            wt = (rng.standard_normal([L["cout"], cin // L["g"]] + L["k"]) /
                  math.sqrt(cin // L["g"] * L["k"][0] * L["k"][1])).astype(np.float32)
            b = rng.standard_normal(L["cout"]).astype(np.float32) if L["bias"] else None
            inits[f"w{i}"] = wt
            ins = [cur, f"w{i}"]
            if b is not None:
                inits[f"b{i}"] = b
                ins.append(f"b{i}")
            nodes.append(Node("Conv", ins, [out], name, {"kernel_shape": L["k"], "strides": L["s"],
                                                         "dilations": L["d"], "pads": L["p"],
                                                         "group": L["g"]}))
            # pads: ONNX order (every begin, then every end), which the reference takes
            y = ref.conv2d(y, wt, b, stride=L["s"], padding=L["p"], dilation=L["d"],
                           groups=L["g"])
        elif op in ("max", "avg"):
            attrs = {"kernel_shape": L["k"], "strides": L["s"], "pads": L["p"] + L["p"],
                     "ceil_mode": int(L["ceil"])}
            if op == "max":
                nodes.append(Node("MaxPool", [cur], [out], name, attrs))
                y = ref.max_pool2d(y, L["k"], L["s"], L["p"], ceil_mode=L["ceil"])
            else:
                attrs["count_include_pad"] = int(L["include_pad"])
                nodes.append(Node("AveragePool", [cur], [out], name, attrs))
                y = ref.avg_pool2d(y, L["k"], L["s"], L["p"], ceil_mode=L["ceil"],
                                   count_include_pad=L["include_pad"])
        elif op == "add":
            k = rng.standard_normal((1, y.shape[1], 1, 1)).astype(np.float32)
            inits[f"k{i}"] = k
            nodes.append(Node("Add", [cur, f"k{i}"], [out], name))
            y = (y + k).astype(np.float32)
        else:
            attrs, y64 = {}, y.astype(np.float64)
            if op == "Relu":
                y = ref.relu(y)
            elif op == "Sigmoid":
                y = ref.sigmoid(y)
            elif op == "HardSwish":
                y = ref.hardswish(y)
            elif op == "Tanh":
                y = np.tanh(y64)
            elif op == "LeakyRelu":
                attrs["alpha"] = L["alpha"]
                y = np.where(y64 >= 0, y64, y64 * np.float32(L["alpha"]))
            elif op == "HardSigmoid":
                attrs["alpha"] = L["alpha"]
                y = np.clip(y64 * np.float32(L["alpha"]) + 0.5, 0, 1)
            elif op == "Clip":
                inits[f"lo{i}"] = np.array(-L["alpha"], np.float32)
                inits[f"hi{i}"] = np.array(L["alpha"] * 3, np.float32)
                nodes.append(Node("Clip", [cur, f"lo{i}", f"hi{i}"], [out], name))
                y = np.clip(y64, -np.float32(L["alpha"]), np.float32(L["alpha"] * 3))
            if op != "Clip":
                nodes.append(Node(op, [cur], [out], name, attrs))
            y = np.asarray(y, np.float32)
        cur = out
    if not nodes:
        nodes.append(Node("Identity", ["x"], ["t"], "id"))
        cur = "t"
    g = Graph(nodes, [ValueInfo("x", list(spec["input"]))], [ValueInfo(cur)], inits)
    return Model(g, 17), {"x": x}, {cur: y}


def _terms(spec):
    """Largest number of products summed into one output (the tolerance grows with its root)."""
    t, c = 1, spec["input"][1]
    for L in spec["layers"]:
        if L["op"] == "conv":
            t = max(t, c // L["g"] * L["k"][0] * L["k"][1])
            c = L["cout"]
    return t * len(spec["layers"])


# ---------------------------------------------------------------- running a case
def files_of(kind, model) -> dict:
    """The files of `model` in the format `kind` ("json", "onnx", "cem")."""
    if kind == "json":
        with tempfile.TemporaryDirectory() as d:
            model.save(os.path.join(d, "m.json"))
            return {n: open(os.path.join(d, n), "rb").read() for n in ("m.json", "m.bin")}
    if kind == "onnx":
        from convengine.onnx_export import to_onnx
        return {"m.onnx": to_onnx(model).SerializeToString()}
    return {"m.cem": compile_model(model)}


MUTATORS = {"json": mutate_json_model, "onnx": mutate_onnx,
            "cem": lambda rnd, files: {"m.cem": mutate_compiled(rnd, files["m.cem"])}}
MAIN_FILE = {"json": "m.json", "onnx": "m.onnx", "cem": "m.cem"}


def make_case(seed: int, index: int, bases: dict) -> dict:
    """Case `index` of the run seeded `seed`. bases: {(kind, name): files} of unmutated models.
    Every fourth case on average is a random valid graph; the rest mutate a base."""
    rnd = random.Random(f"{seed}:{index}")
    threads = rnd.choice((1, 1, 2))
    if rnd.random() < 0.25 or not bases:
        return {"kind": "graph", "spec": random_graph(rnd), "threads": threads}
    kind, name = rnd.choice(sorted(bases))
    return {"kind": kind, "base": name, "threads": threads,
            "files": MUTATORS[kind](rnd, bases[(kind, name)])}


def write_case(case: dict, folder: str) -> None:
    """Writes a case as a corpus entry: case.json (kind, base, threads, note; the spec of a
    graph) and the model's files."""
    os.makedirs(folder, exist_ok=True)
    meta = {k: v for k, v in case.items() if k != "files"}
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    for n, b in case.get("files", {}).items():
        with open(os.path.join(folder, n), "wb") as f:
            f.write(b)


def read_case(folder: str) -> dict:
    with open(os.path.join(folder, "case.json")) as f:
        case = json.load(f)
    if case["kind"] != "graph":
        case["files"] = {n: open(os.path.join(folder, n), "rb").read()
                         for n in sorted(os.listdir(folder)) if n != "case.json"}
    return case


def _feeds(sess, rng):
    feeds = {}
    for v in sess.get_inputs():
        if v.shape is None:
            return None
        shape = [d if isinstance(d, int) else 1 for d in v.shape]
        if any(d < 0 for d in shape) or math.prod(shape) > MAX_RUN_ELEMENTS:
            return None
        dt = np.int64 if "int64" in v.type else np.float32
        feeds[v.name] = rng.standard_normal(shape).astype(dt)
    return feeds


def run_case(case: dict) -> str:
    """Opens and runs one case; returns its outcome. A wrong answer of a valid graph raises
    AssertionError; an exception outside EXPECTED propagates."""
    import convengine as ce
    if case.get("signal"):   # the harness's own test: a crash in the worker
        os.kill(os.getpid(), case["signal"])
    ce.set_num_threads(case.get("threads", 1))
    if case["kind"] == "graph":
        model, feeds, want = graph_model(case["spec"])
        (got,) = ce.InferenceSession(model).run(None, feeds)
        (name, ref), = want.items()
        assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
        err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        tol = np.maximum(2e-5 * math.sqrt(_terms(case["spec"])), 1e-4 * np.abs(ref))
        bad = ~(err <= tol)
        assert not bad.any(), (f"{bad.sum()} of {bad.size} outputs differ from the reference; "
                               f"worst {float(np.nanmax(err))}")
        return "ran"
    with tempfile.TemporaryDirectory() as d:
        for n, b in case["files"].items():
            os.makedirs(os.path.dirname(os.path.join(d, n)) or d, exist_ok=True)
            with open(os.path.join(d, n), "wb") as f:
                f.write(b)
        try:
            sess = ce.InferenceSession(os.path.join(d, MAIN_FILE[case["kind"]]))
            feeds = _feeds(sess, np.random.default_rng(0))
            if feeds is None:
                return "planned"
            sess.run(None, feeds)
            return "ran"
        except EXPECTED as e:
            if type(e).__name__ not in DOCUMENTED:
                raise
            assert str(e).strip(), f"{type(e).__name__} without a message"
            return f"refused: {type(e).__name__}"


def _limit_memory():
    """Caps the worker's address space (8 GiB) so that a hostile plan fails with MemoryError
    instead of taking the machine; not under AddressSanitizer, whose shadow memory needs more."""
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        return
    import resource
    gib = int(os.environ.get("CONVENGINE_FUZZ_MEMORY_GIB", "8"))
    resource.setrlimit(resource.RLIMIT_AS, (gib << 30, gib << 30))


def worker(conn) -> None:
    """A child process's loop: receives cases, sends back ("ok", outcome) or ("fail",
    traceback); ends on None."""
    _limit_memory()
    import convengine  # noqa: F401 - import once, before the first case
    while True:
        case = conn.recv()
        if case is None:
            return
        try:
            conn.send(("ok", run_case(case)))
        except BaseException:  # noqa: BLE001 - reported with the case's reproducer
            conn.send(("fail", traceback.format_exc(limit=-8)))
