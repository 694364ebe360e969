"""InferenceSession and the planner: graphs against torch (independent arithmetic), views and
layouts, zero-copy concat, batch sizes, concurrency and bad input."""
import os
import threading

import numpy as np
import pytest

import convengine as ce
from convengine.model import Graph, Model, ModelError, Node, ValueInfo
from conftest import HAVE_TORCH, assert_close, needs_torch, num_threads

if HAVE_TORCH:
    import torch
    import torch.nn.functional as F


def _r(rng, *s):
    return rng.standard_normal(s).astype(np.float32)


def _T(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _model(nodes, inputs, outputs, inits):
    return Model(Graph(nodes, [ValueInfo(n, s) for n, s in inputs],
                       [ValueInfo(n, None) for n in outputs], inits))


def _block_model(rng, c=5):
    inits = {"w1": _r(rng, 7, c, 3, 3), "b1": _r(rng, 7), "w2": _r(rng, 7, 1, 3, 3),
             "w3": _r(rng, 6, 14, 1, 1), "fc": _r(rng, 10, 6), "fcb": _r(rng, 10)}
    nodes = [
        Node("Conv", ["x", "w1", "b1"], ["a"], "c1", {"pads": [1, 0, 2, 1]}),
        Node("Relu", ["a"], ["a2"], "r1"),
        Node("Conv", ["a2", "w2"], ["b"], "dw", {"pads": [1, 1, 1, 1], "group": 7}),
        Node("Concat", ["a2", "b"], ["c"], "cat", {"axis": 1}),
        Node("Conv", ["c", "w3"], ["d"], "pw"),
        Node("Add", ["d", "d"], ["e"], "add"),
        Node("MaxPool", ["e"], ["f"], "mp", {"kernel_shape": [2, 2], "strides": [2, 2],
                                              "ceil_mode": 1}),
        Node("GlobalAveragePool", ["f"], ["g"], "gap"),
        Node("Flatten", ["g"], ["h"], "fl"),
        Node("Gemm", ["h", "fc", "fcb"], ["y"], "fc", {"transB": 1}),
    ]
    return _model(nodes, [("x", ["N", c, 9, 11])], ["y", "e"], inits), inits


def _block_torch(x, p):
    a2 = F.relu(F.conv2d(F.pad(_T(x), (0, 1, 1, 2)), _T(p["w1"]), _T(p["b1"])))
    b = F.conv2d(a2, _T(p["w2"]), padding=1, groups=7)
    d = F.conv2d(torch.cat([a2, b], 1), _T(p["w3"]))
    e = d + d
    g = F.max_pool2d(e, 2, 2, ceil_mode=True).mean((2, 3))
    return (g @ _T(p["fc"]).T + _T(p["fcb"])).numpy(), e.numpy()


@needs_torch
@pytest.mark.parametrize("batch", [1, 3])
def test_block_matches_torch(rng, isa, batch):
    m, p = _block_model(rng)
    s = ce.InferenceSession(m)
    x = _r(rng, batch, 5, 9, 11)
    y, e = s.run(None, {"x": x})
    ry, re = _block_torch(x, p)
    assert_close(y, ry, atol=1e-4, rtol=1e-4)
    assert_close(e, re, atol=1e-4, rtol=1e-4)
    (only_e,) = s.run(["e"], {"x": x})
    np.testing.assert_array_equal(only_e, e)


def test_zero_copy_concat_and_arena_reuse(rng):
    m, _ = _block_model(rng)
    s = ce.InferenceSession(m)
    rows = s.describe()
    # b (the depthwise output) is written into the concat buffer; a2 has two consumers and
    # is copied.
    concat_copies = [r["node"] for r in rows if r["op"] == "Concat"]
    assert concat_copies == ["cat/a2"]
    algos = {r["node"]: r["algorithm"] for r in rows}
    assert algos["dw"] == "depthwise"
    total = sum(np.prod(o) for r in rows for o in r["outputs"]) * 4
    assert 0 < s.arena_bytes < total


@needs_torch
def test_views_and_generic_ops(rng):
    # Transpose / Slice / Split / Reshape / Softmax / Pad / MatMul / Sub / Div / Resize on runtime
    # tensors, mixing layouts.
    inits = {"w": _r(rng, 4, 3, 1, 1), "perm_shape": np.array([0, -1], np.int64),
             "st": np.array([1], np.int64), "en": np.array([7], np.int64),
             "ax": np.array([3], np.int64), "sp": np.array([2], np.int64),
             "split": np.array([1, 3], np.int64), "pads": np.array([0, 0, 1, 2, 0, 0, 0, 1], np.int64),
             "scales": np.array([1, 1, 2, 2], np.float32), "mm": _r(rng, 140, 3),
             "two": np.array(2.0, np.float32)}
    nodes = [
        Node("Conv", ["x", "w"], ["a"], "c"),
        Node("Transpose", ["a"], ["t"], "t", {"perm": [0, 2, 3, 1]}),
        Node("Slice", ["a", "st", "en", "ax", "sp"], ["s"], "s"),
        Node("Split", ["a", "split"], ["s1", "s2"], "sp", {"axis": 1}),
        Node("Sub", ["s2", "s1"], ["d"], "sub"),
        Node("Div", ["d", "two"], ["d2"], "div"),
        Node("Pad", ["d2", "pads"], ["p"], "pad"),
        Node("Resize", ["s", "", "scales"], ["rz"], "rz", {"mode": "linear"}),
        Node("Reshape", ["t", "perm_shape"], ["rs"], "rs"),
        Node("Softmax", ["rs"], ["sm"], "sm", {"axis": 1}),
        Node("MatMul", ["sm", "mm"], ["mmo"], "mm"),
    ]
    m = _model(nodes, [("x", [2, 3, 5, 7])], ["t", "s", "p", "rz", "sm", "mmo"], inits)
    x = _r(rng, 2, 3, 5, 7)
    outs = ce.InferenceSession(m).run(None, {"x": x})
    a = F.conv2d(_T(x), _T(inits["w"]))
    t = a.permute(0, 2, 3, 1)
    s = a[:, :, :, 1:7:2]
    d2 = (a[:, 1:] - a[:, :1]) / 2
    p = F.pad(d2, (2, 1, 1, 0))
    rz = F.interpolate(s, scale_factor=2, mode="bilinear", align_corners=False)
    rs = t.reshape(2, -1)
    sm = torch.softmax(rs, 1)
    mmo = sm @ _T(inits["mm"])
    for got, want in zip(outs, [t, s, p, rz, sm, mmo], strict=True):
        assert got.shape == tuple(want.shape)
        assert_close(got, want.numpy(), atol=1e-5, rtol=1e-4)


@needs_torch
def test_fused_conv_and_squeeze_excite_ops(rng):
    c = 12
    inits = {"w": _r(rng, c, c, 3, 3), "b": _r(rng, c), "w1": _r(rng, 3, c), "b1": _r(rng, 3),
             "w2": _r(rng, c, 3), "b2": _r(rng, c)}
    nodes = [
        Node("FusedConv", ["x", "w", "b", "x"], ["y"], "fc", {"pads": [1, 1, 1, 1],
             "activation": "hardswish", "clip_min": -1.0, "clip_max": 4.0}, "ai.convengine"),
        Node("SqueezeExcite", ["y", "w1", "b1", "w2", "b2"], ["z"], "se",
             {"clip_min": 0.0, "gate": "hardsigmoid", "gate_alpha": 1 / 6, "gate_beta": 0.5},
             "ai.convengine"),
    ]
    m = _model(nodes, [("x", [2, c, 6, 5])], ["z"], inits)
    x = _r(rng, 2, c, 6, 5)
    (z,) = ce.InferenceSession(m, optimize=False).run(None, {"x": x})
    y = torch.clamp(F.hardswish(F.conv2d(_T(x), _T(inits["w"]), _T(inits["b"]), padding=1)
                                + _T(x)), -1, 4)
    h = F.relu(y.mean((2, 3)) @ _T(inits["w1"]).T + _T(inits["b1"]))
    g = F.hardsigmoid(h @ _T(inits["w2"]).T + _T(inits["b2"]))
    assert_close(z, (y * g[:, :, None, None]).numpy(), atol=1e-4, rtol=1e-4)


def test_concurrent_runs_match_serial(rng):
    m, _ = _block_model(rng)
    s = ce.InferenceSession(m)
    xs = [_r(rng, 2, 5, 9, 11) for _ in range(6)]
    serial = [s.run(None, {"x": x})[0] for x in xs]
    results = [None] * len(xs)

    def work(i):
        for _ in range(20):
            results[i] = s.run(None, {"x": xs[i]})[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(results, serial, strict=True):
        np.testing.assert_array_equal(a, b)


def test_inputs_outputs_and_bad_feeds(rng):
    m, _ = _block_model(rng)
    s = ce.InferenceSession(m)
    (i,) = s.get_inputs()
    assert (i.name, i.shape, i.type) == ("x", ["N", 5, 9, 11], "tensor(float)")
    assert [o.name for o in s.get_outputs()] == ["y", "e"]
    x = _r(rng, 1, 5, 9, 11)
    with pytest.raises(ValueError, match="unknown input 'z'"):
        s.run(None, {"x": x, "z": x})
    with pytest.raises(ValueError, match="missing input 'x'"):
        s.run(None, {})
    with pytest.raises(ValueError, match=r"input 'x': expected shape \['N', 5, 9, 11\], got \[1, 4, 9, 11\]"):
        s.run(None, {"x": x[:, :4]})
    with pytest.raises(ValueError, match="expected dtype float32, got float64"):
        s.run(None, {"x": x.astype(np.float64)})
    with pytest.raises(TypeError, match="numpy array"):
        s.run(None, {"x": x.tolist()})
    with pytest.raises(ValueError, match="unknown output 'q'"):
        s.run(["q"], {"x": x})
    with pytest.raises(TypeError, match="unknown session options"):
        ce.InferenceSession(m, bogus=1)


def test_plan_errors_name_the_node(rng):
    inits = {"w": _r(rng, 4, 3, 3, 3)}
    nodes = [Node("Conv", ["x", "w"], ["y"], "c1", {"pads": [0, 0, 0, 0]})]
    m = _model(nodes, [("x", [1, 3, 2, 2])], ["y"], inits)
    with pytest.raises(ModelError, match=r"node c1 \(Conv\): Conv: window 3 \(kernel 3, dilation 1\) "
                                         r"is larger than the padded input 2 on spatial axis 0"):
        ce.InferenceSession(m)
    nodes = [Node("Conv", ["x", "x"], ["y"], "c2")]
    m = _model(nodes, [("x", [1, 3, 4, 4])], ["y"], {})
    with pytest.raises(ModelError, match="c2.*weight 'x' must be a constant"):
        ce.InferenceSession(m)


def _one_copy(src, dst):
    from convengine import _native
    w = _native.ModelWriter()
    w.add_input("x", "float32", [1, 4])
    w.add_output("y", "float32", [1, 4])
    w.add_step("add_copy", "c", "", ["Copy", src, dst])
    return w.finish()


def test_compiled_plan_rejects_out_of_bounds_refs():
    from convengine import _native
    ok = _native.load_compiled(_one_copy((2, 0, [1, 4], [4, 1]), (3, 0, [1, 4], [4, 1])))
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    np.testing.assert_array_equal(ok.run([x])[0], x)
    with pytest.raises(ValueError, match="outside its buffer"):
        _native.load_compiled(_one_copy((2, 0, [1, 4], [4, 1]), (3, 2, [1, 4], [4, 1])))
    with pytest.raises(ValueError, match="writes into an input"):
        _native.load_compiled(_one_copy((3, 0, [1, 4], [4, 1]), (2, 0, [1, 4], [4, 1])))


# Channel-chunked (c >= 64, at most 256 pixels): (2, 130, ...), (3, 64, ...) at the bound, (5, 97,
# ...) with 16x16 pixels, (2, 576, ...), (1, 200, ...), (1, 2048, ...); the rest pixel-split.
SE_SHAPES = [(1, 1, 1, (1, 1)), (3, 7, 5, (4, 6)), (1, 67, 16, (40, 41)), (2, 130, 3, (9, 9)),
             (1, 256, 16, (56, 56)), (1, 2048, 128, (7, 7)), (3, 64, 5, (1, 1)),
             (5, 97, 24, (16, 16)), (2, 576, 144, (7, 7)), (1, 200, 7, (3, 5)), (1, 63, 9, (5, 5))]


def _se_model(rng, n, c, mid, hw, act, gate):
    inits = {"w1": _r(rng, mid, c) / np.float32(np.sqrt(c)), "b1": _r(rng, mid),
             "w2": _r(rng, c, mid) / np.float32(np.sqrt(mid)), "b2": _r(rng, c)}
    attrs = {"gate": gate}
    if act == "relu":
        attrs["clip_min"] = 0.0
    else:
        attrs["activation"] = "silu"
    nodes = [Node("Relu", ["x"], ["r"], "r"),  # the SE step then reads a channels-last tensor
             Node("SqueezeExcite", ["r", "w1", "b1", "w2", "b2"], ["z"], "se", attrs,
                  "ai.convengine")]
    return _model(nodes, [("x", [n, c, *hw])], ["z"], inits), inits


@pytest.mark.parametrize("n,c,mid,hw", SE_SHAPES)
@pytest.mark.parametrize("act,gate", [("relu", "sigmoid"), ("silu", "hardsigmoid")])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_squeeze_excite_step_awkward_shapes(rng, isa, n, c, mid, hw, act, gate, threads):
    m, inits = _se_model(rng, n, c, mid, hw, act, gate)
    s = ce.InferenceSession(m, optimize=False)
    x = _r(rng, n, c, *hw) + 0.5
    with num_threads(threads):
        (z,) = s.run(None, {"x": x})
    r = np.maximum(x.astype(np.float64), 0)
    h = r.mean((2, 3)) @ inits["w1"].T.astype(np.float64) + inits["b1"]
    h = np.maximum(h, 0) if act == "relu" else h / (1 + np.exp(-h))
    g = h @ inits["w2"].T.astype(np.float64) + inits["b2"]
    g = 1 / (1 + np.exp(-g)) if gate == "sigmoid" else np.clip(g * 0.2 + 0.5, 0, 1)
    assert_close(z, r * g[:, :, None, None], atol=1e-5, rtol=1e-4)
    assert [r["algorithm"] for r in s.describe() if r["op"] == "SqueezeExcite"] == ["fused"]


@pytest.mark.parametrize("n,c,mid,hw", SE_SHAPES)
def test_squeeze_excite_step_same_result_on_any_thread_count(rng, isa, n, c, mid, hw):
    # one image: a batch splits into per-thread chunks, whose GEMMs have other row counts
    m, _ = _se_model(rng, 1, c, mid, hw, "silu", "sigmoid")
    s = ce.InferenceSession(m, optimize=False)
    x = _r(rng, 1, c, *hw)
    outs = []
    for threads in (1, 2, 3, 4):
        with num_threads(threads):
            outs.append(s.run(None, {"x": x})[0])
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


@pytest.mark.parametrize("a_shape,b_shape", [
    ((1, 1), (1, 1)), ((7, 5), (5, 13)), ((2, 3, 17, 31), (2, 3, 31, 37)),
    ((3, 1, 64), (1, 64, 1)),          # one row, one column, B broadcast over the batch
    ((2, 6, 2100), (2, 2100, 9)),      # K in two blocks
    ((4, 4, 64, 16), (4, 4, 16, 64)),  # attention scores
    ((5, 3, 40), (40, 29))])
@pytest.mark.parametrize("layout", ["plain", "b_transposed", "a_transposed"])
@pytest.mark.parametrize("threads", [1, 3])
def test_matmul_step_awkward_shapes(rng, isa, a_shape, b_shape, layout, threads):
    # Both operands run-time tensors (a constant B becomes a conv). B given transposed is a
    # strided view its packing reads; A given transposed takes the plain loop.
    nodes, ins = [], []

    def operand(name, shape, transposed):  # graph input `name`, or a Transpose of input name+t
        if not transposed:
            ins.append((name, list(shape)))
            return
        ins.append((name + "t", [*shape[:-2], shape[-1], shape[-2]]))
        perm = list(range(len(shape) - 2)) + [len(shape) - 1, len(shape) - 2]
        nodes.append(Node("Transpose", [name + "t"], [name], "t" + name, {"perm": perm}))
    operand("a", a_shape, layout == "a_transposed")
    operand("b", b_shape, layout == "b_transposed")
    nodes.append(Node("MatMul", ["a", "b"], ["y"], "mm"))
    s = ce.InferenceSession(_model(nodes, ins, ["y"], {}))
    feed = {name: _r(rng, *shape) for name, shape in ins}
    av = feed["a"] if "a" in feed else np.swapaxes(feed["at"], -1, -2)
    bv = feed["b"] if "b" in feed else np.swapaxes(feed["bt"], -1, -2)
    want = np.matmul(av.astype(np.float64), bv.astype(np.float64))
    with num_threads(threads):
        (y,) = s.run(None, feed)
    assert_close(y, want, atol=1e-5 * np.sqrt(a_shape[-1]), rtol=1e-4)
    (algo,) = [r["algorithm"] for r in s.describe() if r["op"] == "MatMul"]
    strided_a = layout == "a_transposed" and a_shape[-2] > 1 and a_shape[-1] > 1
    assert algo == ("strided" if strided_a else "gemm")


@pytest.mark.parametrize("n,c,hw", [(1, 1, (1, 1)), (3, 7, (5, 7)), (1, 67, (40, 41)),
                                    (2, 130, (9, 9)), (1, 3, (64, 64)), (1, 129, (2, 3, 4))])
@pytest.mark.parametrize("threads", [1, 2])
def test_global_pools_awkward_shapes(rng, isa, n, c, hw, threads):
    # Relu first, so the pool reads a planned channels-last tensor; 40x41 and 64x64 with few
    # channel blocks take the row-split path of the average.
    nodes = [Node("Relu", ["x"], ["r"], "r"), Node("GlobalAveragePool", ["r"], ["a"], "gap"),
             Node("GlobalMaxPool", ["r"], ["m"], "gmp")]
    m = _model(nodes, [("x", [n, c, *hw])], ["a", "m"], {})
    x = _r(rng, n, c, *hw) + 0.3
    with num_threads(threads):
        a, mx = ce.InferenceSession(m).run(None, {"x": x})
    r = np.maximum(x.astype(np.float64), 0)
    axes = tuple(range(2, 2 + len(hw)))
    assert a.shape == mx.shape == (n, c) + (1,) * len(hw)
    assert_close(a, r.mean(axes, keepdims=True), atol=1e-6, rtol=1e-5)
    np.testing.assert_array_equal(mx, r.max(axes, keepdims=True).astype(np.float32))


def test_precision_option(rng):
    from convengine import reference as R
    from conftest import conv_tol, randn
    """precision="accurate" (default) plans no Winograd variant that loses bits against direct
    summation; "fast" admits them; both match the reference within their bounds."""
    w = randn(rng, 64, 64, 3, 3)
    g = Graph(nodes=[Node("Conv", ["x", "w"], ["y"], name="c", attrs={"pads": [1, 1, 1, 1]})],
              inputs=[ValueInfo("x", shape=[1, 64, 56, 56])], outputs=[ValueInfo("y")],
              initializers={"w": w})
    x = randn(rng, 1, 64, 56, 56)
    ref = R.conv2d(x, w, None, 1, 1)
    algos = {}
    for precision in ("accurate", "fast"):
        s = ce.InferenceSession(Model(g), precision=precision)
        algos[precision] = [r["algorithm"] for r in s.describe() if r["op"] == "Conv"][0]
        assert_close(s.run(None, {"x": x})[0], ref, atol=conv_tol(algos[precision], 576), rtol=1e-4)
    assert algos["accurate"] in ("winograd_f2", "igemm") and algos["fast"] in ("winograd_f4", "winograd_f6")
    with pytest.raises(ValueError, match="precision"):
        ce.InferenceSession(Model(g), precision="fp16")


def test_stack_of_channels_last_maps_keeps_channels_innermost():
    """torch.stack(dim=1) of two channels-last (N, C, H, W) maps (SK-Net's split attention) is
    Unsqueeze + Concat(axis=1): the new axis goes outside, C stays innermost. Under the channel
    rule the stack axis was innermost and the attention Mul ran rows of 2 elements."""
    from convengine._graph.memory import concat_order
    from convengine._graph.views import T
    cl = T((2, 1, 64, 7, 9), (64 * 63, 0, 1, 64 * 9, 64))   # Unsqueeze of a channels-last map
    order = concat_order([cl, cl], 1)
    assert order == [0, 1, 3, 4, 2]
    assert concat_order([T((2, 8, 7, 9), (504, 1, 72, 8))] * 2, 1) == [0, 2, 3, 1]  # channel concat


def _os_threads():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_thread_count_above_the_bound_is_refused():
    """set_num_threads(5000) started ~630 threads, then failed with 'Resource temporarily
    unavailable' and left get_num_threads() at 5000 (issue 20, item 2): now refused up front,
    the pool left as it was."""
    old, threads = ce.get_num_threads(), _os_threads()
    with pytest.raises(ValueError, match="num_threads must be <= 1024, got 5000"):
        ce.set_num_threads(5000)
    assert ce.get_num_threads() == old
    assert _os_threads() == threads
    ce.set_num_threads(3)  # still works afterwards
    assert ce.get_num_threads() == 3
    ce.set_num_threads(old)


def _symbolic_hw_onnx():
    """Conv -> MaxPool -> GlobalAveragePool on an input ["N", 3, "H", "W"], as
    torch.onnx.export(dynamic_axes=...) writes it."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     ["N", 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, 1, 1])],
                          [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_symbolic_height_and_width_are_planned_per_shape():
    """A model with symbolic H and W could not be opened: the session planned it at creation
    with every symbolic dimension 1 and failed on the pool (issue 20, item 3)."""
    m = _symbolic_hw_onnx()
    sess = ce.InferenceSession(ce.from_onnx(m))
    assert sess.get_inputs()[0].shape == ["N", 3, "H", "W"]
    ort = pytest.importorskip("onnxruntime")
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 17, 23), (2, 3, 32, 32), (1, 3, 2, 2), (3, 3, 9, 40)]:
        x = rng.standard_normal(shape).astype(np.float32)
        assert_close(sess.run(None, {"x": x})[0], ref.run(None, {"x": x})[0], what=str(shape))
    with pytest.raises(ModelError, match=r"symbolic dimensions \['H', 'W'\].*pass input_shapes"):
        sess.arena_bytes  # noqa: B018 - no shape to plan for without input_shapes
    with pytest.raises(ModelError, match="MaxPool.*larger than the padded input 1"):
        sess.run(None, {"x": np.ones((1, 3, 1, 1), np.float32)})  # too small for the pool


def test_plan_cache_is_bounded():
    """Each new input shape added a plan (its packed weights and arena sizes) kept until the
    session died; now the least recently used past MAX_CACHED_PLANS are dropped, and a shape
    seen again is planned again with the same result."""
    from convengine.session import MAX_CACHED_PLANS
    sess = ce.InferenceSession(ce.from_onnx(_symbolic_hw_onnx()))
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((1, 3, 8 + 2 * i, 8)).astype(np.float32)
          for i in range(MAX_CACHED_PLANS + 4)]
    first = [sess.run(None, {"x": x})[0] for x in xs]
    assert len(sess._plans) == MAX_CACHED_PLANS
    assert ((("x", xs[0].shape),) not in sess._plans) and (("x", xs[-1].shape),) in sess._plans
    np.testing.assert_array_equal(sess.run(None, {"x": xs[0]})[0], first[0])
    assert len(sess._plans) == MAX_CACHED_PLANS and (("x", xs[0].shape),) in sess._plans
