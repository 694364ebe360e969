"""Packed weights are shared across plans and sessions (engine/shared_weights.h), and the plans
of one session share one pool of activation arenas: memory per new input shape and per further
session of a model (issue 20 item 4, issue 22 item 3)."""
import gc
import threading

import numpy as np
import pytest

import convengine as ce
from convengine import _native, zoo


def _rss_anon_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no RssAnon in /proc/self/status")


def _feed(sess, shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return {sess.get_inputs()[0].name: x}


def _mobilenet_v2():
    return zoo.get("mobilenet_v2")


def test_new_batch_sizes_cost_neither_weights_nor_arenas():
    """Each new batch size used to add its own packed weights (~14 MB for MobileNetV2) and its
    own arena kept after its runs: batches 1..8 added ~300 MiB. Now the plans share both: the
    growth is about one arena, the largest (batch 8: 46 MiB; bound +64 MiB for the allocator)."""
    sess = ce.InferenceSession(_mobilenet_v2())
    sess.run(None, _feed(sess, (1, 3, 224, 224)))
    shared0 = _native.shared_weights()
    before = _rss_anon_mib()
    for b in range(2, 9):
        sess.run(None, _feed(sess, (b, 3, 224, 224)))
    grown = _rss_anon_mib() - before
    largest = 4 * sess._plan_for({sess.get_inputs()[0].name: (8, 3, 224, 224)}).arena_floats
    shared1 = _native.shared_weights()
    assert grown <= largest / 2**20 + 64, f"RSS grew {grown:.0f} MiB over 7 new batch sizes"
    # every packed weight of the later plans was found in the store
    assert shared1["bytes"] <= shared0["bytes"] * 1.05, (shared0, shared1)
    assert shared1["hits"] - shared0["hits"] >= 7 * 50, (shared0, shared1)


def test_sessions_of_one_model_share_packed_weights():
    m = _mobilenet_v2()
    gc.collect()
    base = _native.shared_weights()["bytes"]
    s1 = ce.InferenceSession(m)
    one = _native.shared_weights()
    s2 = ce.InferenceSession(m)
    two = _native.shared_weights()
    assert one["bytes"] - base > 10 * 2**20  # MobileNetV2's packed weights
    assert two["bytes"] == one["bytes"] and two["buffers"] == one["buffers"]
    assert two["hits"] - one["hits"] == two["calls"] - one["calls"] > 40
    feed = _feed(s1, (2, 3, 224, 224))
    np.testing.assert_array_equal(s1.run(None, feed)[0], s2.run(None, feed)[0])
    del s1
    gc.collect()
    # s2 still holds every buffer; its results do not change
    assert _native.shared_weights()["bytes"] == one["bytes"]
    np.testing.assert_array_equal(s2.run(None, feed)[0],
                                  ce.InferenceSession(m, optimize=True).run(None, feed)[0])
    del s2
    gc.collect()
    assert _native.shared_weights()["bytes"] == base  # released with the last session


def test_different_weights_are_not_shared():
    """Same architecture, other weights: nothing found in the store, other outputs."""
    a = _mobilenet_v2()
    b = _mobilenet_v2()
    rng = np.random.default_rng(3)
    for k, v in b.graph.initializers.items():
        if v.dtype == np.float32 and v.size > 1:
            b.graph.initializers[k] = (v * rng.uniform(0.5, 1.5, v.shape)).astype(np.float32)
    sa = ce.InferenceSession(a)
    before = _native.shared_weights()
    sb = ce.InferenceSession(b)
    after = _native.shared_weights()
    assert after["bytes"] > before["bytes"] + 10 * 2**20
    feed = _feed(sa, (1, 3, 224, 224))
    ya, yb = sa.run(None, feed)[0], sb.run(None, feed)[0]
    assert not np.array_equal(ya, yb)
    np.testing.assert_array_equal(yb, ce.InferenceSession(b).run(None, feed)[0])


def test_shapes_run_concurrently_on_the_shared_arena_pool():
    """Threads running different input shapes at once on one session take arenas from one
    pool (the smallest that fits, or a new one): every output equals the serial one."""
    sess = ce.InferenceSession(zoo.get("resnet18"))
    shapes = [(b, 3, 224, 224) for b in (1, 3, 2, 4)]
    feeds = [_feed(sess, sh, seed=i) for i, sh in enumerate(shapes)]
    want = [sess.run(None, f)[0] for f in feeds]
    errors = []

    def worker(t):
        try:
            for r in range(6):
                i = (t + r) % len(feeds)
                got = sess.run(None, feeds[i])[0]
                if not np.array_equal(got, want[i]):
                    errors.append((t, r, shapes[i]))
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
