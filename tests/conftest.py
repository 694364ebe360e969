import contextlib
import os
import sys
import zlib

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# The load-time cache (python/convengine/_load_cache.py) writes to a folder of this run's own,
# never the user's ~/.cache; tests of the cache point CONVENGINE_CACHE_DIR elsewhere. Worker
# processes that import this file inherit the folder (the marker) and do not make their own.
if "CONVENGINE_TEST_CACHE_OWNER" not in os.environ:
    import atexit
    import shutil
    import tempfile
    os.environ["CONVENGINE_CACHE_DIR"] = tempfile.mkdtemp(prefix="convengine-test-cache-")
    os.environ["CONVENGINE_TEST_CACHE_OWNER"] = str(os.getpid())
    atexit.register(shutil.rmtree, os.environ["CONVENGINE_CACHE_DIR"], True)


# Spellings of stride 1, dilation 1, padding 1 of a 2-D window op (3x3 kernel) that the
# functional API and the reference must both accept (deform and local conv tests).
GOOD_WINDOW_FORMS = {
    "as-given": {},
    "padding-pair": dict(padding=(1, 1)),
    "padding-onnx": dict(padding=[1, 1, 1, 1]),
    "padding-same": dict(padding="same"),
    "stride-tuple": dict(stride=(1, 1)),
    "stride-list1": dict(stride=[1]),
    "dilation-numpy": dict(dilation=np.int64(1)),
}


def assert_close(actual, expected, atol=1e-5, rtol=1e-4, what=""):
    """Elementwise |actual - expected| <= max(atol, rtol * |expected|), with a message that names
    the worst element. Shapes must match exactly."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    assert np.all(np.isfinite(actual)) or not np.all(np.isfinite(expected)), f"{what}: non-finite output"
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    tol = np.maximum(atol, rtol * np.abs(expected.astype(np.float64)))
    bad = err > tol
    if bad.any():
        idx = np.unravel_index(np.argmax(err - tol), err.shape)
        raise AssertionError(
            f"{what}: {bad.sum()} of {err.size} elements outside max({atol:g}, {rtol:g}*|ref|); "
            f"worst at {idx}: got {actual[idx]!r}, expected {expected[idx]!r}")


def conv_atol(terms):
    """Absolute tolerance for a float32 sum of `terms` products of unit-normal values: the sum's
    magnitude grows like sqrt(terms), and so does its rounding error."""
    return 1e-5 * max(1.0, float(terms)) ** 0.5


# Winograd: bound on max|y - y64| relative to the largest sum of |w||x| of any output, about 3x
# the worst error measured per variant (tests/test_winograd.py). Error in the transformed
# domain is spread over a tile's window, so it does not shrink with sqrt(terms) like conv_atol.
WINOGRAD_REL_BOUND = {"winograd_f2": 1e-5, "winograd_f4": 2e-5, "winograd_f6": 2e-5, "winograd1d": 2e-5,
                      "winograd_s2": 2e-5}


def conv_tol(algorithm, terms):
    """conv_atol(terms), widened for the Winograd algorithms: with unit-normal x and w the
    largest sum |w||x| of an output is about `terms` (0.64 terms on average)."""
    bound = WINOGRAD_REL_BOUND.get(algorithm)
    return conv_atol(terms) if bound is None else max(conv_atol(terms), bound * float(terms))


@pytest.fixture
def rng(request):
    # Deterministic per test, independent of test order.
    # (str hash() is salted per process; crc32 is not)
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


try:
    import torch as _torch  # noqa: F401
    HAVE_TORCH = True
except Exception:  # pragma: no cover - torch is optional
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")


@contextlib.contextmanager
def num_threads(n):
    """convengine's thread count is n inside the block and restored after it."""
    import convengine
    old = convengine.get_num_threads()
    convengine.set_num_threads(n)
    try:
        yield
    finally:
        convengine.set_num_threads(old)


@pytest.fixture(params=["avx512", "avx2", "neon", "scalar"])
def isa(request):
    """Runs a test once per instruction-set level (engine/cpu.h): AVX-512 and AVX2 on x86-64, NEON
    on aarch64, and the portable fallback; a level the CPU lacks is skipped, with the reason."""
    from convengine import _native
    if not _native.cpu_supports_isa(request.param):
        pytest.skip(f"the CPU lacks {request.param} (best here: {_native.best_isa()})")
    old = _native.get_isa()
    _native.set_isa(request.param)
    yield request.param
    _native.set_isa(old)


sys.path.insert(0, HERE)


def resize_inputs(scales=None, sizes=None):
    """Initializers and input names of a Resize node on "x" with constant scales or sizes."""
    inits, ins = {}, ["x", "", ""]
    if scales is not None:
        inits["s"] = np.array(scales, np.float32)
        ins[2] = "s"
    if sizes is not None:
        inits["z"] = np.array(sizes, np.int64)
        ins.append("z")
    return inits, ins


def pad_inputs(pads, value=None, axes=None):
    """Initializers and input names after the data input of an opset-11+ Pad: pads, then the
    constant value (0 unless `value`) when a value or axes are given, then axes."""
    inits, ins = {"pads": np.array(pads, np.int64)}, ["pads"]
    if value is not None or axes is not None:
        inits["value"] = np.array(0.0 if value is None else value, np.float32)
        ins.append("value")
    if axes is not None:
        inits["axes"] = np.array(axes, np.int64)
        ins.append("axes")
    return inits, ins
