"""The reference's own argument checks (convengine/reference/_args.py) against the engine's
(convengine/_functional) and torch: both implementations accept the same arguments and give the
same output shapes, or both refuse them with the same exception type; torch decides which of
the two is right where it can express the arguments. Also: the reference imports and runs
without the compiled extension."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import convengine
import convengine.functional as F
import convengine.reference as R
from conftest import HAVE_TORCH, assert_close, conv_atol, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

HERE = os.path.dirname(os.path.abspath(__file__))
# the folder the tested convengine package was imported from (the source tree with a dev build,
# site-packages after pip install): the subprocess must import the same one
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(convengine.__file__)))


def test_reference_imports_and_runs_without_the_extension():
    script = textwrap.dedent("""
        import sys

        class NoExtension:
            def find_spec(self, name, path=None, target=None):
                if name == "convengine._native":
                    raise ImportError("convengine._native is blocked by the test")

        sys.meta_path.insert(0, NoExtension())
        import numpy as np
        import convengine.reference as R

        x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5) / 10
        w = np.linspace(-1, 1, 4 * 3 * 3 * 2, dtype=np.float32).reshape(4, 3, 3, 2)
        b = np.float32([0.5, -1, 2, 0])
        y = R.conv2d(x, w, b, stride=(1, 2), padding=(1, 0, 2, 1))
        xp = np.pad(x, ((0, 0), (0, 0), (1, 2), (0, 1)))
        want = np.zeros((2, 4, 5, 3))
        for i in range(5):
            for j in range(3):
                patch = xp[:, :, i:i + 3, 2 * j:2 * j + 2]
                want[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
        assert y.shape == want.shape, y.shape
        assert np.abs(y - want).max() < 1e-4, np.abs(y - want).max()
        assert R.max_pool2d(x, 2).shape == (2, 3, 2, 2)
        assert R.local_conv2d(x, np.ones((2, 3, 1, 3, 3, 3), np.float32)).shape == (2, 1, 2, 3)
        off = np.zeros((2, 18, 4, 5), np.float32)
        assert R.deform_conv2d(x, off, w[:, :, :, :1].repeat(3, 3), padding=1).shape == (2, 4, 4, 5)
        try:
            R.conv2d(x, w, groups=2)
        except ValueError as e:
            assert "divisible by groups" in str(e)
        else:
            raise AssertionError("groups=2 with 3 input channels was accepted")

        engine = sorted(m for m in sys.modules if m.startswith("convengine.")
                        and not m.startswith("convengine.reference"))
        assert not engine, engine
        import convengine
        try:
            convengine.InferenceSession
        except ImportError as e:
            assert "convengine._native failed to import" in str(e), e
        else:
            raise AssertionError("the engine looked available")
        try:
            import convengine.functional
        except ImportError as e:
            assert "convengine._native failed to import" in str(e), e
        else:
            raise AssertionError("convengine.functional imported without the extension")
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": PYTHON_DIR}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_reference_does_not_import_the_engine():
    import ast
    ref_dir = os.path.dirname(R.__file__)
    checked = set()
    for name in sorted(os.listdir(ref_dir)):
        if not name.endswith((".py", ".pyx")):
            continue
        checked.add(name)
        with open(os.path.join(ref_dir, name)) as f:
            source = f.read()
        if name.endswith(".pyx"):
            lines = [ln for ln in source.splitlines() if ln.lstrip().startswith(("import", "from"))]
            assert not any(".." in ln or "convengine" in ln for ln in lines), (name, lines)
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 and not (node.module or "").startswith("convengine"), \
                    (name, node.module, node.level)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("convengine") for a in node.names), name
    assert {"__init__.py", "_args.py", "conv.py", "deform.py", "ops.py"} <= checked, checked


# ---------------------------------------------------------------------------------------------
# Helpers: run an op on both sides, compare what happened

def outcome(fn, *args, **kwargs):
    """('ok', result) or ('raise', exception type name, message)."""
    try:
        return ("ok", fn(*args, **kwargs))
    except (ValueError, TypeError) as e:
        return ("raise", type(e).__name__, str(e))


def assert_same_outcome(engine, reference, what):
    """Both accepted with equal shapes, or both refused with the same exception type."""
    if engine[0] == "ok" and reference[0] == "ok":
        assert engine[1].shape == reference[1].shape, \
            f"{what}: engine shape {engine[1].shape}, reference shape {reference[1].shape}"
        return
    assert engine[0] == reference[0] == "raise", \
        f"{what}: engine {engine[:1] + engine[2:]}, reference {reference[:1] + reference[2:]}"
    assert engine[1] == reference[1], f"{what}: engine {engine[1:]}, reference {reference[1:]}"


def torch_outcome(fn, *args, **kwargs):
    """The output shape torch computes, or None if torch refuses the arguments or computes an
    empty output (which convengine refuses)."""
    try:
        with torch.no_grad():
            shape = tuple(fn(*args, **kwargs).shape)
    except (RuntimeError, ValueError, TypeError):
        return None
    return shape if min(shape) > 0 else None


# ---------------------------------------------------------------------------------------------
# Convolutions

@st.composite
def conv_arguments(draw):
    n = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 2, 3, 0]))
    g = max(groups, 1)
    cin = g * draw(st.integers(1, 2)) + draw(st.sampled_from([0, 0, 0, 0, 1]))
    cout = g * draw(st.integers(1, 2)) + draw(st.sampled_from([0, 0, 0, 0, 1]))
    k = tuple(draw(st.integers(1, 4)) for _ in range(n))
    size = tuple(draw(st.integers(1, 6)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(n))
    form = draw(st.sampled_from(["int", "axes", "begin-end", "same", "valid"]))
    if form == "int":
        padding = draw(st.integers(0, 3))
    elif form == "axes":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(n))
    elif form == "begin-end":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(2 * n))
    else:
        padding = form
    output_padding = tuple(draw(st.integers(0, 3)) for _ in range(n)) if transposed else 0
    if transposed:
        wshape = (cin, cout // g if cout >= g else 1) + k
    else:
        wshape = (cout, cin // g if cin >= g else 1) + k
    return dict(n=n, transposed=transposed, groups=groups, x=(2, cin) + size, w=wshape,
                bias=wshape[1] * g if transposed else wshape[0], stride=stride,
                dilation=dilation, padding=padding, output_padding=output_padding)


def conv_fns(module, a):
    name = f"conv_transpose{a['n']}d" if a["transposed"] else f"conv{a['n']}d"
    return getattr(module, name)


def conv_call(fn, a, x, w, b):
    if a["transposed"]:
        return fn(x, w, b, a["stride"], a["padding"], a["output_padding"], a["groups"],
                  a["dilation"])
    return fn(x, w, b, a["stride"], a["padding"], a["dilation"], a["groups"])


def torch_conv_shape(a, x, w, b):
    """torch's output shape, None if torch refuses, "n/a" if torch cannot express the padding."""
    pad = a["padding"]
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    n = a["n"]
    if isinstance(pad, tuple) and len(pad) == 2 * n and n > 1:
        if a["transposed"]:
            if pad[:n] != pad[n:]:
                return "n/a"
            pad = pad[:n]
        else:
            pairs = [v for i in reversed(range(n)) for v in (pad[i], pad[n + i])]
            tx, pad = TF.pad(tx, pairs), 0
    elif isinstance(pad, tuple) and len(pad) == 2 and n == 1:
        if pad[0] != pad[1]:
            if a["transposed"]:
                return "n/a"
            tx, pad = TF.pad(tx, pad), 0
        else:
            pad = pad[:1]
    if a["transposed"]:
        fn = getattr(TF, f"conv_transpose{n}d")
        return torch_outcome(fn, tx, tw, tb, a["stride"], pad, a["output_padding"], a["groups"],
                             a["dilation"])
    return torch_outcome(getattr(TF, f"conv{n}d"), tx, tw, tb, a["stride"], pad, a["dilation"],
                         a["groups"])


@settings(max_examples=300, deadline=None)
@given(conv_arguments(), st.integers(0, 2**31 - 1))
def test_conv_geometry_agrees(a, seed):
    rng = np.random.default_rng(seed)
    x, w, b = randn(rng, *a["x"]), randn(rng, *a["w"]), randn(rng, a["bias"])
    engine = outcome(conv_call, conv_fns(F, a), a, x, w, b)
    reference = outcome(conv_call, conv_fns(R, a), a, x, w, b)
    assert_same_outcome(engine, reference, str(a))
    if engine[0] == "ok":
        taps = int(np.prod(a["w"][2:])) * (a["x"][1] if a["transposed"] else a["w"][1])
        assert_close(engine[1], reference[1], atol=conv_atol(taps), what=str(a))
    if HAVE_TORCH:
        want = torch_conv_shape(a, x, w, b)
        if want != "n/a":
            got = reference[1].shape if reference[0] == "ok" else None
            assert got == want, f"{a}: reference {reference[:1] + reference[2:]}, torch {want}"


X = np.zeros((1, 4, 8, 8), np.float32)
W = np.zeros((6, 4, 3, 3), np.float32)

CONV_BAD = [
    (lambda m: m.conv2d(X[0], W), ValueError, r"input must have 4 dimensions.*got 3"),
    (lambda m: m.conv1d(X, W), ValueError, r"input must have 3 dimensions"),
    (lambda m: m.conv3d(X[None], W), ValueError, r"weight must have 5 dimensions"),
    (lambda m: m.conv2d(X, W, groups=3), ValueError, r"input channels \(4\) must be divisible by groups \(3\)"),
    (lambda m: m.conv2d(X, np.zeros((5, 2, 3, 3), np.float32), groups=2), ValueError, r"output channels .* divisible by groups"),
    (lambda m: m.conv2d(X, np.zeros((6, 2, 3, 3), np.float32)), ValueError, r"weight.shape\[1\] must be"),
    (lambda m: m.conv2d(X, np.zeros((6, 4, 0, 3), np.float32)), ValueError, r"weight spatial size must be >= 1"),
    (lambda m: m.conv2d(X, W, np.zeros(5, np.float32)), ValueError, r"bias must have shape \(6,\), got \(5,\)"),
    (lambda m: m.conv2d(X, W, stride=(1, 0)), ValueError, r"stride must be >= 1"),
    (lambda m: m.conv2d(X, W, dilation=(0, 1)), ValueError, r"dilation must be >= 1"),
    (lambda m: m.conv2d(X, W, padding=(0, 0, 0, -1)), ValueError, r"padding must be >= 0"),
    (lambda m: m.conv2d(X, W, padding=(1, 2, 3)), ValueError, r"padding must be an int or 2 ints"),
    (lambda m: m.conv2d(X, W, padding=[1.0, 1.0]), TypeError, r"padding must be an int"),
    (lambda m: m.conv2d(X, W, stride=True), TypeError, r"stride must be an int"),
    (lambda m: m.conv2d(X, W, padding="full"), ValueError, r"'same' or 'valid'"),
    (lambda m: m.conv2d(X, W, stride=(1, 2), padding="same"), ValueError, r"'same' requires stride 1"),
    (lambda m: m.conv2d(X, W, padding=(0, 0, 0, 0), dilation=(4, 1)), ValueError, r"output size along spatial axis 0 would be 0"),
    (lambda m: m.conv3d(X[:, :, None], np.zeros((6, 4, 1, 9, 3), np.float32), padding=(0,) * 6), ValueError, r"output size along spatial axis 1 would be 0"),
    (lambda m: m.conv2d(X.astype(np.int8), W), TypeError, r"input must be a floating-point array.*int8"),
    (lambda m: m.conv2d(X, W, None, 1, 0, 1, np.int64(2) ** 25), ValueError, r"out of range"),
    (lambda m: m.conv2d(X, W, padding=2**23), ValueError, r"more than the limit"),
    (lambda m: m.conv_transpose2d(X, W), ValueError, r"weight.shape\[0\] must equal the input channels \(4\)"),
    (lambda m: m.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), stride=(2, 3), dilation=(2, 1), output_padding=(1, 3)),
     ValueError, r"output_padding must be smaller than stride or dilation"),
    (lambda m: m.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), groups=3), ValueError, r"divisible by groups"),
    (lambda m: m.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), padding=(5, 0, 5, 0)), ValueError, r"output size along spatial axis 0"),
    (lambda m: m.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), padding="valid"), ValueError, r"not supported for transposed"),
    (lambda m: m.conv_transpose2d(X, np.zeros((4, 0, 3, 3), np.float32)), ValueError, r"output channels must be >= 1"),
    (lambda m: m.convolve2d(X, W[..., 0]), ValueError, r"weight must have 4 dimensions"),
]


@pytest.mark.parametrize("side", ["engine", "reference"])
@pytest.mark.parametrize("i", range(len(CONV_BAD)))
def test_conv_bad_arguments(i, side):
    call, exc, match = CONV_BAD[i]
    with pytest.raises(exc, match=match):
        call(F if side == "engine" else R)


# ---------------------------------------------------------------------------------------------
# Deformable and locally connected convolutions

@st.composite
def window_arguments(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    form = draw(st.sampled_from(["int", "axes", "begin-end", "same", "valid"]))
    if form == "int":
        padding = draw(st.integers(0, 2))
    elif form == "axes":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    elif form == "begin-end":
        padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
    else:
        padding = form
    # the output size the weights / offsets are made for: sometimes off by one on purpose
    skew = (draw(st.sampled_from([0, 0, 0, 1])), draw(st.sampled_from([0, 0, 0, -1])))
    return dict(k=k, size=size, stride=stride, dilation=dilation, padding=padding, skew=skew)


def expected_hw(a):
    """Output (H, W) from the ONNX formula, written once more for the test; None for 'same'
    with a stride, which torch refuses."""
    pad = a["padding"]
    if pad == "same" and a["stride"] != (1, 1):
        return None
    if pad == "valid":
        begin = end = (0, 0)
    elif pad == "same":
        total = [d * (k - 1) for k, d in zip(a["k"], a["dilation"])]
        begin, end = [t // 2 for t in total], [t - t // 2 for t in total]
    elif isinstance(pad, int):
        begin = end = (pad, pad)
    elif len(pad) == 2:
        begin = end = pad
    else:
        begin, end = pad[:2], pad[2:]
    return tuple((n + pb + pe - d * (k - 1) - 1) // s + 1 for n, pb, pe, d, k, s in
                 zip(a["size"], begin, end, a["dilation"], a["k"], a["stride"]))


@settings(max_examples=150, deadline=None)
@given(window_arguments(), st.sampled_from([(1, 1, 2, 1), (2, 2, 4, 1), (2, 4, 2, 2)]),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_deform_geometry_agrees(a, channels, with_mask, seed):
    rng = np.random.default_rng(seed)
    groups, cin, cout, og = channels
    kh, kw = a["k"]
    hw = tuple(max(o + s, 1) for o, s in zip(expected_hw(a) or (1, 1), a["skew"]))
    x = randn(rng, 2, cin, *a["size"])
    w = randn(rng, cout, cin // groups, kh, kw)
    off = randn(rng, 2, 2 * og * kh * kw, *hw)
    mask = rng.random((2, og * kh * kw, *hw)).astype(np.float32) if with_mask else None
    args = (x, off, w, randn(rng, cout), a["stride"], a["padding"], a["dilation"], mask)
    engine, reference = outcome(F.deform_conv2d, *args), outcome(R.deform_conv2d, *args)
    assert_same_outcome(engine, reference, str(a))
    valid = expected_hw(a) is not None and min(expected_hw(a)) >= 1 and hw == expected_hw(a)
    assert (reference[0] == "ok") == valid, (a, reference[:1] + reference[2:])
    if valid:
        assert reference[1].shape == (2, cout) + hw
        assert_close(engine[1], reference[1], atol=2 * conv_atol(cin // groups * kh * kw))


@settings(max_examples=150, deadline=None)
@given(window_arguments(), st.booleans(), st.integers(0, 2**31 - 1))
def test_local_geometry_agrees(a, with_bias, seed):
    rng = np.random.default_rng(seed)
    kh, kw = a["k"]
    hw = tuple(max(o + s, 1) for o, s in zip(expected_hw(a) or (1, 1), a["skew"]))
    x = randn(rng, 2, 3, *a["size"])
    w = randn(rng, *hw, 2, 3, kh, kw)
    b = randn(rng, 2, *hw) if with_bias else None
    args = (x, w, b, a["stride"], a["padding"], a["dilation"])
    engine, reference = outcome(F.local_conv2d, *args), outcome(R.local_conv2d, *args)
    assert_same_outcome(engine, reference, str(a))
    valid = expected_hw(a) is not None and min(expected_hw(a)) >= 1 and hw == expected_hw(a)
    assert (reference[0] == "ok") == valid, (a, reference[:1] + reference[2:])
    if valid:
        assert reference[1].shape == (2, 2) + hw
        assert_close(engine[1], reference[1], atol=conv_atol(3 * kh * kw))


# ---------------------------------------------------------------------------------------------
# Pooling and resizing

@st.composite
def pool_arguments(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.sampled_from([None, 1, 2, 3, (1, 2), (3, 1)]))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    return dict(kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=draw(st.booleans()), size=size)


@settings(max_examples=300, deadline=None)
@given(pool_arguments(), st.booleans(), st.integers(0, 2**31 - 1))
def test_pool_geometry_agrees(a, average, seed):
    x = randn(np.random.default_rng(seed), 2, 3, *a["size"])
    kw = {k: v for k, v in a.items() if k != "size"}
    if average:
        kw.pop("dilation")
        kw["count_include_pad"] = bool(seed & 1)
    fn = "avg_pool2d" if average else "max_pool2d"
    engine, reference = outcome(getattr(F, fn), x, **kw), outcome(getattr(R, fn), x, **kw)
    assert_same_outcome(engine, reference, str(a))
    if engine[0] == "ok":
        assert_close(engine[1], reference[1], atol=1e-6)
    if HAVE_TORCH:
        if kw["stride"] is None:
            kw["stride"] = a["kernel_size"]
        want = torch_outcome(getattr(TF, fn), torch.from_numpy(x), **kw)
        got = reference[1].shape if reference[0] == "ok" else None
        if want is None and got is not None and not average:
            # A documented departure: torch's max_pool2d allows padding up to half the
            # kernel_size, convengine up to half the dilated (effective) kernel.
            p, k, d = a["padding"], a["kernel_size"], a["dilation"]
            if any(pi > ki // 2 and 2 * pi <= di * (ki - 1) + 1 for pi, ki, di in zip(p, k, d)):
                return
        assert got == want, f"{a}: reference {reference[:1] + reference[2:]}, torch {want}"


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.integers(1, 9), st.integers(1, 9)),
       st.one_of(st.floats(0.05, 4.0), st.tuples(st.floats(0.05, 4.0), st.floats(0.05, 4.0))),
       st.one_of(st.none(), st.integers(1, 12), st.tuples(st.integers(1, 12), st.integers(1, 12))),
       st.sampled_from(["nearest", "nearest-exact", "bilinear"]),
       st.sampled_from([None, False, True]), st.integers(0, 2**31 - 1))
def test_interpolate_geometry_agrees(in_size, scale, size, mode, recompute, seed):
    x = randn(np.random.default_rng(seed), 1, 2, *in_size)
    kw = dict(mode=mode, recompute_scale_factor=recompute)
    if size is None:
        kw["scale_factor"] = scale
    else:
        kw["size"] = size
    engine, reference = outcome(F.interpolate, x, **kw), outcome(R.interpolate, x, **kw)
    assert_same_outcome(engine, reference, str(kw))
    if engine[0] == "ok":
        assert_close(engine[1], reference[1], atol=1e-6)
    if HAVE_TORCH:
        want = torch_outcome(TF.interpolate, torch.from_numpy(x), **kw)
        got = reference[1].shape if reference[0] == "ok" else None
        assert got == want, f"{kw}: reference {reference[:1] + reference[2:]}, torch {want}"


@pytest.mark.parametrize("output_size", [1, 3, (2, None), (None, 5), (7, 2), (4, 4)])
def test_adaptive_geometry_agrees(rng, output_size):
    x = randn(rng, 2, 3, 5, 6)
    y, r = F.adaptive_avg_pool2d(x, output_size), R.adaptive_avg_pool2d(x, output_size)
    assert y.shape == r.shape
    assert_close(y, r, atol=1e-6)
    if HAVE_TORCH:
        assert r.shape == tuple(TF.adaptive_avg_pool2d(torch.from_numpy(x), output_size).shape)
