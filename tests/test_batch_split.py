"""Batch split (python/convengine/_batch_split.py): a batch on >= 2 threads runs one chunk of
images per thread when the graph keeps images apart; graphs that mix images run unsplit."""
import threading

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import convengine as ce
from convengine import zoo
from conftest import num_threads
from test_zoo import REDUCED


def _feed(sess, batch, seed=0):
    rng = np.random.default_rng(seed)
    return {i.name: rng.standard_normal([batch] + list(i.shape[1:])).astype(np.float32)
            for i in sess.get_inputs()}


def _chunks_alone(sess, feed, sizes):
    """The outputs of each chunk run by itself (unsplit), concatenated."""
    sess.batch_split = False
    try:
        parts, start = [], 0
        for n in sizes:
            parts.append(sess.run(None, {k: v[start:start + n] for k, v in feed.items()}))
            start += n
    finally:
        sess.batch_split = True
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


@pytest.mark.parametrize("name", sorted(zoo.list()))
def test_zoo_batches_split_into_chunks(name):
    """Every zoo model is separable; a batch of 5 on 2 threads runs chunks of 3 and 2, each
    equal (to within the other chunk size's summation order) to the chunk run alone and to the
    unsplit run."""
    sess = ce.InferenceSession(zoo.get(name, **REDUCED.get(name, {})))
    feed = _feed(sess, 5)
    with num_threads(2):
        got = sess.run(None, feed)
        plan = sess._plan_for({k: v.shape for k, v in feed.items()})
        assert plan.batch_separable is True
        alone = _chunks_alone(sess, feed, [3, 2])
        sess.batch_split = False
        whole = sess.run(None, feed)
        sess.batch_split = True
    for g, a, w in zip(got, alone, whole):
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, a, rtol=0, atol=2e-6 * scale)
        np.testing.assert_allclose(g, w, rtol=0, atol=2e-5 * scale)


def test_no_split_on_one_thread_or_one_image(monkeypatch):
    from convengine import _native
    calls = []
    real = _native.run_batch_split
    monkeypatch.setattr(_native, "run_batch_split",
                        lambda *a: calls.append(a[2]) or real(*a))
    sess = ce.InferenceSession(zoo.get("squeezenet1_1", **REDUCED.get("squeezenet1_1", {})))
    with num_threads(1):
        sess.run(None, _feed(sess, 4))
    with num_threads(2):
        sess.run(None, _feed(sess, 1))
        assert calls == []
        sess.run(None, _feed(sess, 7))
        sess.run(None, _feed(sess, 2))
    assert calls == [[4, 3], [1, 1]]


def _model(nodes, inits=(), x_shape=("N", 3, 5, 5), y_shape=None):
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return ce.from_onnx(m.SerializeToString())


# graphs that combine images while every tensor keeps the batch as an axis
MIXING = {
    "softmax_axis0": [helper.make_node("Softmax", ["x"], ["y"], axis=0)],
    "softmax_axis_minus4": [helper.make_node("Softmax", ["x"], ["y"], axis=-4)],
    "mvn_default_axes": [helper.make_node("MeanVarianceNormalization", ["x"], ["y"])],
    "reduce_axis0_broadcast": [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[0], keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["y"])],
    "transpose_batch": [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2, 3]),
                        helper.make_node("Softmax", ["t"], ["u"], axis=1),
                        helper.make_node("Transpose", ["u"], ["y"], perm=[1, 0, 2, 3])],
    "gather_axis0": [helper.make_node("Gather", ["x", "idx"], ["y"])],
    "slice_reversed_batch": [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
}
MIXING_INITS = {"gather_axis0": [("idx", np.array([0], np.int64))],
                "slice_reversed_batch": [("st", np.array([-1], np.int64)),
                                         ("en", np.array([-(2**62)], np.int64)),
                                         ("ax", np.array([0], np.int64)),
                                         ("sp", np.array([-1], np.int64))]}


@pytest.mark.parametrize("case", sorted(MIXING))
def test_graphs_that_mix_images_are_not_split(case):
    ort = pytest.importorskip("onnxruntime")
    del ort
    try:
        model = _model(MIXING[case], MIXING_INITS.get(case, ()))
        sess = ce.InferenceSession(model)
    except ce.ModelError as e:
        pytest.skip(f"convengine does not run this graph: {e}")
    x = np.random.default_rng(1).standard_normal((4, 3, 5, 5)).astype(np.float32)
    with num_threads(2):
        got = sess.run(None, {"x": x})[0]
        assert sess._plan_for({"x": x.shape}).batch_separable is False
        sess.batch_split = False
        want = sess.run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, want)
    # a split would have computed each half alone: different values
    halves = np.concatenate([ce.InferenceSession(model).run(None, {"x": x[:2]})[0],
                             ce.InferenceSession(model).run(None, {"x": x[2:]})[0]])
    assert not np.allclose(halves, want)


def test_concurrent_batched_runs_on_one_session():
    """Runs that find the pool busy run their chunks one after another on their own thread."""
    sess = ce.InferenceSession(zoo.get("mobilenet_v3_small", **REDUCED.get("mobilenet_v3_small",
                                                                            {})))
    feeds = [_feed(sess, b, seed=b) for b in (2, 3, 4, 5)]
    with num_threads(2):
        sess.batch_split = False
        want = [sess.run(None, f)[0] for f in feeds]
        sess.batch_split = True
        split = [sess.run(None, f)[0] for f in feeds]
        errors = []

        def worker(t):
            for r in range(4):
                i = (t + r) % len(feeds)
                got = sess.run(None, feeds[i])[0]
                if not np.array_equal(got, split[i]):
                    errors.append((t, r, i))

        ts = [threading.Thread(target=worker, args=(t,)) for t in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert not errors, errors
    for s, w in zip(split, want):
        np.testing.assert_allclose(s, w, rtol=0, atol=2e-5 * max(1.0, float(np.abs(w).max())))
