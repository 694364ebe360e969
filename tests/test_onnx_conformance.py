"""ONNX backend node conformance: a test suite convengine did not write.

The cases are the ones the installed onnx package generates (onnx.backend.test.case.node), for
every op in convengine's op table, plus its stored torch-exported model suites
(pytorch-converted, pytorch-operator: opset 6-9 graphs of torch modules) whose ops are all in
the table: each case's model goes through `convengine.from_onnx` and
`InferenceSession`, and every output is compared with the case's expected output at the case's
own tolerance (the ONNX backend runner's rtol 1e-3, atol 1e-7, unless the case sets others).

Two things differ from an ONNX runtime that takes every input at run time:
- convengine packs weights and plans shapes once, at session creation. The inputs that are
  parameters rather than data (conv weights, Reshape shape, Slice starts, Resize scales, ...:
  `PARAM_INPUTS`) are bound as initializers from the case's own input values before import.
- A case whose every node is supported but which needs a feature convengine does not have
  (a dtype other than float32 at run time, training mode, ...) is skipped with the reason.
- A case whose expected output follows the ONNX reference implementation where convengine
  follows onnxruntime (`DEVIATIONS`) is skipped with the reason; a test checks that
  onnxruntime computes what convengine does on it.
- A case convengine refuses because its opset means an op version onnxruntime has no kernel
  for (most opset-6 torch exports: Add-6, Gemm-6, BatchNormalization-6, AveragePool-1) is
  skipped with the reason, after checking that onnxruntime refuses it too.

Run `python tests/test_onnx_conformance.py` for a per-op table (the README's numbers); under
pytest the summary is written to $CONVENGINE_CONFORMANCE_OUT (default: the pytest temp dir)
and printed at the end of the module.
"""
from __future__ import annotations

import collections
import importlib
import json
import os
import pkgutil
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
import onnx.numpy_helper  # noqa: E402

import convengine  # noqa: E402
from convengine._graph.ops import OPS, spec  # noqa: E402

# Inputs (by position) that convengine takes as constants: bound from the case's data.
PARAM_INPUTS = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "DeformConv": (1, 3),
    "BatchNormalization": (1, 2, 3, 4), "Gemm": (1, 2), "MatMul": (1,),
    "Clip": (1, 2), "Reshape": (1,), "Slice": (1, 2, 3, 4), "Split": (1,), "Squeeze": (1,),
    "Unsqueeze": (1,), "Resize": (1, 2, 3), "Upsample": (1,), "Pad": (1, 2, 3),
    "Dropout": (1, 2), "Gather": (1,), "GatherElements": (1,), "GatherND": (1,),
    **{op: (1,) for op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1",
                           "ReduceL2", "ReduceProd", "ReduceSumSquare", "ReduceLogSum",
                           "ReduceLogSumExp")},
    "Expand": (1,), "Tile": (1,), "CumSum": (1,), "Range": (0, 1, 2), "Where": (0,),
}
# Engine bugs found by this suite, case name -> reason: a strict xfail until fixed. (Fixed so
# far: one-channel NCHW inputs of conv/pool/resize, Flatten with a negative axis, AveragePool
# dilations.)
ENGINE_BUGS: dict[str, str] = {}
# Cases whose expected output follows the ONNX reference implementation where convengine
# deliberately follows onnxruntime and torch, case name -> reason: skipped with the reason;
# test_deviations_follow_onnxruntime checks that onnxruntime computes what convengine does.
_RESIZE_LENGTH = ("Resize align_corners with scales: convengine divides by the integer output "
                  "length - 1 as onnxruntime and torch do (the ONNX text's length_resized); the "
                  "ONNX reference implementation divides by input length * scale - 1")
DEVIATIONS: dict[str, str] = {
    "test_resize_downsample_scales_cubic_align_corners": _RESIZE_LENGTH,
    "test_resize_downsample_scales_linear_align_corners": _RESIZE_LENGTH,
}

_FLOAT32 = onnx.TensorProto.FLOAT


def _collect():
    """The generated node cases of every default-domain op in convengine's table whose nodes
    are all ops convengine runs; the others are counted (expanded function bodies)."""
    import onnx.backend.test.case.node as node_cases
    ops = {name.lower() for (dom, name) in OPS if dom == ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in pkgutil.iter_modules(node_cases.__path__):
            short = m.name.replace("_", "")
            if not m.ispkg and (short in ops or short.removesuffix("op") in ops):  # rangeop
                importlib.import_module(f"{node_cases.__name__}.{m.name}")
    selected, other = [], []
    for case in node_cases._NodeTestCases:
        nodes = case.model.graph.node
        if nodes and all(spec(n.domain, n.op_type) is not None for n in nodes):
            selected.append(case)
        else:
            other.append(case.name)
    return sorted(selected, key=lambda c: c.name), sorted(other)


MODEL_SUITES = ("pytorch-converted", "pytorch-operator")


class ModelCase:
    """A case of onnx's stored model suites (torch modules exported at opset 6-9 with their
    inputs and outputs), shaped like the node cases."""

    def __init__(self, suite, case):
        import glob
        self.suite, self.name, self.rtol, self.atol = suite, case.name, case.rtol, case.atol
        self.model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
        self.data_sets = []
        for ds in sorted(glob.glob(os.path.join(case.model_dir, "test_data_set_*"))):
            load = [[onnx.numpy_helper.to_array(onnx.load_tensor(f)) for f in
                     sorted(glob.glob(os.path.join(ds, f"{kind}_*.pb")))]
                    for kind in ("input", "output")]
            self.data_sets.append(tuple(load))


def _collect_models():
    from onnx.backend.test.loader import load_model_tests
    selected, other = [], []
    for suite in MODEL_SUITES:
        for case in load_model_tests(kind=suite):
            if case.model_dir is None:
                continue
            mc = ModelCase(suite, case)
            nodes = mc.model.graph.node
            if nodes and all(spec(n.domain, n.op_type) is not None for n in nodes):
                selected.append(mc)
            else:
                other.append(mc.name)
    return sorted(selected, key=lambda c: c.name), other


CASES, NOT_SELECTED = _collect()
_MODEL_CASES, _MODELS_NOT_SELECTED = _collect_models()
CASES += _MODEL_CASES
NOT_SELECTED += _MODELS_NOT_SELECTED
RESULTS: dict[str, tuple[str, str]] = {}


def _op_of(case):
    if isinstance(case, ModelCase):
        return case.suite
    nodes = case.model.graph.node
    if len(nodes) == 1:
        return nodes[0].op_type
    short = case.name[len("test_"):].replace("_", "")
    names = [name for (dom, name) in OPS if dom == "" and short.startswith(name.lower())]
    return max(names, key=len) if names else nodes[-1].op_type


def _bound_proto(case, inputs):
    """The case's model with its parameter inputs turned into initializers; returns the model
    and the runtime feeds {name: array}."""
    proto = onnx.ModelProto()
    proto.CopyFrom(case.model)
    g = proto.graph
    inits = {t.name for t in g.initializer}
    names = [vi.name for vi in g.input if vi.name not in inits]
    values = dict(zip(names, inputs))
    bind = set()
    for n in g.node:
        for pos in PARAM_INPUTS.get(n.op_type, ()):
            if pos < len(n.input) and n.input[pos] in values:
                bind.add(n.input[pos])
    keep = [vi for vi in g.input if vi.name not in bind and vi.name not in inits]
    del g.input[:]
    g.input.extend(keep)
    for name in sorted(bind):
        g.initializer.append(onnx.numpy_helper.from_array(np.asarray(values[name]), name))
    feeds = {vi.name: values[vi.name] for vi in keep}
    return proto, feeds


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _skip_reason(proto, case, feeds, expected):
    g = proto.graph
    for vi, kind in [(v, "input") for v in g.input] + [(v, "output") for v in g.output]:
        which = vi.type.WhichOneof("value")
        if which != "tensor_type":
            return f"graph {kind} {vi.name!r} is a {which}: convengine runs tensors only"
        et = vi.type.tensor_type.elem_type
        if et != _FLOAT32 and kind == "input":
            return (f"graph {kind} {vi.name!r} is {onnx.TensorProto.DataType.Name(et)}: "
                    "convengine computes in float32 (other dtypes only in constants)")
    for name, a in feeds.items():
        if np.asarray(a).size == 0:
            return f"graph input {name!r} is empty {np.shape(a)}: zero-size tensors are not supported"
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "BatchNormalization" and (_attr(n, "training_mode", 0) or
                                                  len([o for o in n.output if o]) > 1):
            return "BatchNormalization training_mode=1: convengine runs inference only"
        if n.op_type == "Dropout":
            tm = n.input[2] if len(n.input) > 2 else ""
            if tm and bool(np.asarray(inits.get(tm, False))):
                return "Dropout training_mode=1 (random masks): convengine runs inference only"
            if len(n.output) > 1 and n.output[1]:
                return "Dropout mask output: convengine runs inference only (no masks)"
        if n.op_type == "MaxPool" and len(n.output) > 1 and n.output[1]:
            return "MaxPool Indices output (argmax): not supported"
        if n.op_type == "Resize":
            mode = _attr(n, "mode", b"nearest")
            if mode not in (b"nearest", b"linear", b"cubic"):
                return f"Resize mode {mode.decode()}: convengine has nearest, linear and cubic"
            if _attr(n, "antialias", 0):
                return "Resize antialias=1: not supported"
            ctm = _attr(n, "coordinate_transformation_mode", b"half_pixel")
            if ctm == b"tf_crop_and_resize":
                return "Resize tf_crop_and_resize (roi): not supported"
    return None


def _run(case):
    """Runs every data set of the case; returns ('pass'|'skip', reason) or raises."""
    if case.name in DEVIATIONS:
        return "skip", f"deviation: {DEVIATIONS[case.name]}"
    for inputs, outputs in case.data_sets:
        proto, feeds = _bound_proto(case, inputs)
        reason = _skip_reason(proto, case, feeds, outputs)
        if reason:
            return "skip", reason
        typed = [onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type)
                 for v in proto.graph.output if v.type.tensor_type.elem_type != _FLOAT32]
        try:
            model = convengine.from_onnx(proto.SerializeToString())
            sess = convengine.InferenceSession(model)
            got = sess.run(None, {k: np.asarray(v) for k, v in feeds.items()})
        except convengine.ModelError as e:
            if "which onnxruntime does not run" in str(e):
                _assert_onnxruntime_refuses(proto)
                return "skip", f"refused as onnxruntime refuses it: {e}"
            if not typed:
                raise
            return "skip", (f"graph output of type {typed[0]} computed at run time: "
                            "convengine computes in float32 (other dtypes only in constants)")
        assert len(got) == len(outputs), f"{len(got)} outputs, expected {len(outputs)}"
        for i, (a, e) in enumerate(zip(got, outputs)):
            e = np.asarray(e)
            if e.dtype != np.float32:
                # Only outputs that fold to constants (a Shape of a static shape) keep their dtype.
                if a.dtype != e.dtype:
                    return "skip", (f"graph output of type {typed[0]} computed at run time: "
                                    "convengine computes in float32 (other dtypes only in constants)")
            assert a.shape == e.shape, f"output {i}: shape {a.shape}, expected {e.shape}"
            if e.dtype.kind not in "fc":
                np.testing.assert_array_equal(a, e, err_msg=f"{case.name} output {i}")
                continue
            np.testing.assert_allclose(a, e, rtol=case.rtol, atol=case.atol,
                                       err_msg=f"{case.name} output {i}")
    return "pass", ""


def _assert_onnxruntime_refuses(proto):
    """An op version convengine refuses because onnxruntime has no kernel for it (the opset-6
    torch exports: Add-6, Gemm-6, AveragePool-1, ...): onnxruntime must refuse it too."""
    try:
        import onnxruntime as ort
    except ImportError:
        return
    with pytest.raises(Exception, match="Could not find an implementation"):  # noqa: PT011
        ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def summary(results=None):
    results = RESULTS if results is None else results
    per_op = collections.defaultdict(collections.Counter)
    for name, (status, _reason) in results.items():
        per_op[name_to_op[name]][status] += 1
    total = collections.Counter(s for s, _ in results.values())
    bugs = {n for n, (s, _r) in results.items() if s == "fail" and
            _known_bug(next(c for c in CASES if c.name == n))}
    return {"cases": len(results), "pass": total["pass"], "skip": total["skip"],
            "fail": total["fail"], "known_engine_bugs": len(bugs),
            "not_selected": len(NOT_SELECTED),
            "per_op": {op: dict(c) for op, c in sorted(per_op.items())},
            "skipped": {n: r for n, (s, r) in sorted(results.items()) if s == "skip"},
            "failed": {n: r for n, (s, r) in sorted(results.items()) if s == "fail"}}


name_to_op = {c.name: _op_of(c) for c in CASES}


def _write_summary(path):
    s = summary()
    with open(path, "w") as f:
        json.dump(s, f, indent=1)
    return s


@pytest.fixture(scope="module", autouse=True)
def _report(tmp_path_factory):
    yield
    if not RESULTS:
        return
    out = os.environ.get("CONVENGINE_CONFORMANCE_OUT") or str(
        tmp_path_factory.getbasetemp() / "onnx_conformance.json")
    s = _write_summary(out)
    print(f"\nONNX node conformance: {s['pass']} passed, {s['skip']} skipped, {s['fail']} failed "
          f"({s['known_engine_bugs']} of them known engine bugs, xfail) of {s['cases']} cases "
          f"(summary: {out})", file=sys.__stdout__)


def _known_bug(case):
    return ENGINE_BUGS.get(case.name)


def _param(case):
    bug = _known_bug(case)
    marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_node_case(case):
    try:
        status, reason = _run(case)
    except Exception as e:
        msg = str(e).strip().splitlines()
        RESULTS[case.name] = ("fail", f"{type(e).__name__}: {msg[0][:300] if msg else ''}")
        raise
    RESULTS[case.name] = (status, reason)
    if status == "skip":
        pytest.skip(reason)


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_deviations_follow_onnxruntime(name):
    ort = pytest.importorskip("onnxruntime")
    case = next(c for c in CASES if c.name == name)
    for inputs, outputs in case.data_sets:
        proto, feeds = _bound_proto(case, inputs)
        sess = convengine.InferenceSession(convengine.from_onnx(proto.SerializeToString()))
        got = sess.run(None, feeds)
        want = ort.InferenceSession(proto.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, feeds)
        for a, w, e in zip(got, want, outputs):
            np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-6)
            assert not np.allclose(a, e, rtol=case.rtol, atol=case.atol), \
                f"{name} now matches the case's expected output: remove it from DEVIATIONS"


def test_cases_were_collected():
    ops_with_cases = {name_to_op[c.name] for c in CASES}
    assert len(CASES) > 300, f"only {len(CASES)} conformance cases collected"
    for op in ("Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "Gemm",
               "Resize", "Concat", "Softmax", "Relu"):
        assert op in ops_with_cases, f"no conformance case for {op}"


def main():
    results = {}
    for case in CASES:
        try:
            results[case.name] = _run(case)
        except Exception as e:  # noqa: BLE001
            msg = str(e).strip().splitlines()
            results[case.name] = ("fail", f"{type(e).__name__}: {msg[0][:300] if msg else ''}")
    s = summary(results)
    print(f"| op | pass | skip | fail |\n|---|---:|---:|---:|")
    for op, c in s["per_op"].items():
        print(f"| {op} | {c.get('pass', 0)} | {c.get('skip', 0)} | {c.get('fail', 0)} |")
    print(f"| **total** | **{s['pass']}** | **{s['skip']}** | **{s['fail']}** |")
    reasons = collections.Counter(s["skipped"].values())
    print("\nskip reasons:")
    for r, k in reasons.most_common():
        print(f"  {k:4d}  {r}")
    print(f"\nfailures ({s['known_engine_bugs']} known engine bugs):")
    for n, r in s["failed"].items():
        bug = _known_bug(next(c for c in CASES if c.name == n))
        print(f"  {n}: {r}" + (f"\n      known: {bug}" if bug else ""))
    print(f"\n{len(NOT_SELECTED)} generated cases of these ops were not selected (they use ops "
          "convengine does not run, e.g. expanded function bodies)")
    return 1 if s["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
