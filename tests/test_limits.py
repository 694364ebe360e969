"""Plans that do not fit in memory (issue 20, item 2): refused before anything is allocated with
a convengine.OutOfMemoryError (a MemoryError) naming the plan's input shapes, the arena or
tensor and the bytes; the C API returns CE_OUT_OF_MEMORY with the same message. None of these
tests allocates more than a few MiB: the inputs are broadcast views, and the check runs before
the plan is built."""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convengine as ce
from convengine import _capi, _native, zoo
from convengine.model import Graph, Model, Node, ValueInfo

CE_OUT_OF_MEMORY = 5
GIB = 1 << 30


def _feed(sess, shape, base_shape):
    """A feed of `shape` that costs no memory: zeros broadcast from `base_shape`."""
    x = np.broadcast_to(np.zeros(base_shape, np.float32), shape)
    return {sess.get_inputs()[0].name: x}


def _bound_below(monkeypatch, need):
    """On a machine whose memory bound is not below `need` bytes, lowers it (the test is about
    the refusal, not about this machine's size)."""
    limit, _ = _native.memory_limit()
    if limit >= need:
        monkeypatch.setenv("CONVENGINE_MEMORY_LIMIT", str(need // 2))


def _residual_model():
    """Three 16-channel 3x3 convs whose outputs are summed: at 11000 x 11000 each tensor is
    1.9e9 elements (under the 2^31 element limit) and 7.7 GB; four are live at the Sum."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    w3 = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    p = {"pads": [1, 1, 1, 1]}
    nodes = [Node("Conv", ["x", "w1"], ["a"], "conv1", p),
             Node("Conv", ["a", "w2"], ["b"], "conv2", p),
             Node("Conv", ["b", "w3"], ["c"], "conv3", p),
             Node("Sum", ["a", "b", "c"], ["s"], "sum"),
             Node("GlobalAveragePool", ["s"], ["y"], "gap")]
    g = Graph(nodes, [ValueInfo("x", [1, 3, "H", "W"])], [ValueInfo("y")],
              {"w1": w1, "w2": w2, "w3": w3})
    return Model(g)


def _check_message(msg, shape, what):
    assert f"[{', '.join(map(str, shape))}]" in msg, msg
    assert what in msg, msg
    assert re.search(r"\d{9,} bytes \(\d+\.\d GiB\)", msg), msg
    assert "nothing was allocated" in msg, msg
    assert "std::bad_alloc" not in msg, msg


def test_one_huge_image_is_refused_before_allocating(monkeypatch):
    # issue 20: one 11000 x 11000 image through a small conv model raised
    # "MemoryError: std::bad_alloc"
    sess = ce.InferenceSession(_residual_model())
    _bound_below(monkeypatch, 30 * GIB)
    shape = (1, 3, 11000, 11000)
    with pytest.raises(ce.OutOfMemoryError) as e:
        sess.run(None, _feed(sess, shape, (1, 3, 1, 1)))
    assert isinstance(e.value, MemoryError)
    assert e.value.code == CE_OUT_OF_MEMORY and e.value.bytes > 30 * GIB
    _check_message(str(e.value), shape, "the activation arena needs")
    assert "input x [1, 3, 11000, 11000]" in str(e.value)
    # nothing is cached or broken: a size that fits runs
    (y,) = sess.run(None, {"x": np.ones((1, 3, 20, 20), np.float32)})
    assert y.shape == (1, 16, 1, 1) and np.isfinite(y).all()


def test_a_huge_batch_is_refused_before_allocating(monkeypatch):
    # issue 20: MobileNetV2 at a batch of 2,650 raised "MemoryError: std::bad_alloc". At 2,650 a
    # tensor is above the element limit (a ModelError naming it); at 1,000 the plan needs 6.2 GiB,
    # here refused under a bound of 4 GiB.
    sess = ce.InferenceSession(zoo.get("mobilenet_v2"))
    with pytest.raises(ce.ModelError, match=r"features\.2\.conv\.0\.0 .* shape \(2650, 96, 112, "
                                            r"112\) has 3191193600 elements, more than the limit"):
        sess.run(None, _feed(sess, (2650, 3, 224, 224), (1, 3, 224, 224)))
    monkeypatch.setenv("CONVENGINE_MEMORY_LIMIT", str(4 * GIB))
    shape = (1000, 3, 224, 224)
    with pytest.raises(ce.OutOfMemoryError) as e:
        sess.run(None, _feed(sess, shape, (1, 3, 224, 224)))
    msg = str(e.value)
    _check_message(msg, shape, "the activation arena needs")
    assert "more than CONVENGINE_MEMORY_LIMIT (4294967296 bytes (4.0 GiB))" in msg, msg
    assert "the weights 13951264 bytes" in msg, msg


def test_the_bound_names_physical_memory():
    limit, source = _native.memory_limit()
    if "CONVENGINE_MEMORY_LIMIT" in os.environ:
        pytest.skip("CONVENGINE_MEMORY_LIMIT is set")
    phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < limit <= phys
    assert source in ("physical memory", "RLIMIT_AS", "RLIMIT_DATA", "the cgroup's memory.max")


def _huge_arena_file(arena_floats):
    w = _native.ModelWriter()
    w.add_input("x", "float32", [1, 4])
    w.add_output("y", "float32", [1, 4])
    w.set_arena_floats(arena_floats)
    w.add_step("add_copy", "copy", "", ["Copy", (2, 0, [1, 4], [4, 1]), (3, 0, [1, 4], [4, 1])])
    return w.finish()


def test_c_api_returns_out_of_memory_with_the_message():
    data = _huge_arena_file(1 << 38)  # 1 TiB of floats
    lib = _capi.library()
    m = ctypes.c_void_p()
    st = lib.ce_model_load_from_memory(data, len(data), ctypes.byref(m))
    assert st and not m.value
    code, msg = lib.ce_status_code(st), lib.ce_status_message(st).decode()
    lib.ce_status_free(st)
    assert code == CE_OUT_OF_MEMORY, msg
    assert msg.startswith("the plan for input x [1, 4]: the activation arena needs "
                          "1099511627840 bytes (1.0 TiB); with the inputs 16 bytes, the outputs 16 bytes, "
                          "the plan needs at least 1099511627872 bytes (1.0 TiB), more than "), msg
    with pytest.raises(ce.OutOfMemoryError) as e:
        _native.load_compiled(data)
    assert str(e.value) == msg


def test_a_failed_allocation_names_what_it_was_for(tmp_path):
    # Past the check, an allocation that fails (here: the address space is capped just above
    # what the process maps, and the arena is larger than what is left) names the plan, the
    # arena and the bytes. In a child process, so the cap does not reach this one.
    code = textwrap.dedent("""
        import resource, numpy as np, convengine as ce
        from convengine import _native
        def vm():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        w = _native.ModelWriter()
        w.add_input("x", "float32", [1, 4]); w.add_output("y", "float32", [1, 4])
        w.set_arena_floats(1 << 29)  # 2 GiB
        w.add_step("add_copy", "copy", "", ["Copy", (2, 0, [1, 4], [4, 1]),
                                            (3, 0, [1, 4], [4, 1])])
        data = w.finish()
        cap = max(vm() + (1 << 30), 5 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        eat = []
        while vm() < cap - (1 << 30):  # leave 1 GiB of address space: the arena cannot fit
            eat.append(np.empty(64 << 20, np.uint8))
        plan = _native.load_compiled(data)  # the check passes: 2 GiB < the cap
        try:
            plan.run([np.ones((1, 4), np.float32)])
        except ce.OutOfMemoryError as e:
            print("ERR", e)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("CONVENGINE_MEMORY_LIMIT", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert re.search(r"ERR the plan for input x \[1, 4\]: the activation arena: cannot allocate "
                     r"21\d{8} bytes \(2\.0 GiB\)", r.stdout), r.stdout + r.stderr
