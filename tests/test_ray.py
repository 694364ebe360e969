"""Batch inference on Ray Data (convengine/ray.py): `Predictor` on its own (dict and DataFrame
batches, any batch size, chunks, a fixed-batch model padded, clear errors), and on a local Ray
instance (`ray.init(num_cpus=2)`): a few hundred inputs through two actors, each loading the
pickled session once and running with one engine thread (its num_cpus), every output equal to
the single-process session's bit for bit. Ray tests are skipped when ray is not installed
(`pip install convengine[ray]`)."""
from __future__ import annotations

import functools
import os
import pickle

import numpy as np
import pytest

import convengine
from convengine import InferenceSession, zoo
from convengine.ray import Predictor, assigned_cpus

MODEL = dict(name="squeezenet1_1", seed=6, size=64)


@functools.lru_cache(maxsize=1)
def _model(batch="N"):
    return zoo.get(MODEL["name"], seed=MODEL["seed"], size=MODEL["size"], batch=batch)


def _images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, MODEL["size"], MODEL["size"])) \
        .astype(np.float32)


@pytest.fixture(scope="module")
def reference():
    """The single-process session and its outputs for 300 inputs, one run per input."""
    session = InferenceSession(_model())
    x = _images(300)
    want = np.concatenate([session.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])
    return session, x, want


# ---------------------------------------------------------------------------------------------
# Predictor without Ray

@pytest.mark.parametrize("rows,max_batch", [(1, None), (37, None), (37, 8), (64, 64), (5, 16)])
def test_dict_batches_of_any_size(reference, rows, max_batch):
    session, x, want = reference
    p = Predictor(session, max_batch=max_batch, keep_columns="id")
    out = p({"id": np.arange(rows) + 100, "input": x[:rows]})
    assert sorted(out) == ["id", "logits"]
    assert np.array_equal(out["id"], np.arange(rows) + 100)
    assert out["logits"].dtype == np.float32 and out["logits"].tobytes() == want[:rows].tobytes()


def test_dataframe_with_an_image_column(reference):
    pd = pytest.importorskip("pandas")
    session, x, want = reference
    frame = pd.DataFrame({"path": [f"img{i}.png" for i in range(23)], "image": list(x[:23])})
    out = Predictor(session, keep_columns=["path"], max_batch=10)(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["path", "logits"]
    assert list(out["path"]) == list(frame["path"])
    assert np.stack(out["logits"]).tobytes() == want[:23].tobytes()


def test_model_forms_and_fixed_batch_padding(reference, tmp_path):
    session, x, want = reference
    _model().save(tmp_path / "m.json")
    for model in [tmp_path / "m.json", str(tmp_path / "m.json"), _model(),
                  functools.partial(zoo.get, MODEL["name"], seed=MODEL["seed"],
                                    size=MODEL["size"]),
                  pickle.loads(pickle.dumps(session))]:
        out = Predictor(model)({"data": x[:7]})
        assert out["logits"].tobytes() == want[:7].tobytes(), model
    # a model planned for batch 4 gets chunks of 4, the last padded: 7 -> 4 + 3
    fixed = Predictor(_model(batch=4))
    assert fixed._fixed_batch == 4
    assert fixed({"input": x[:7]})["logits"].tobytes() == want[:7].tobytes()


def test_preprocess_postprocess_and_threads(reference):
    session, x, want = reference
    images = (x[:9] * 50 + 128).clip(0, 255).astype(np.uint8)  # what an image decoder gives
    with pytest.raises(TypeError, match="column 'image' holds uint8 values; the model takes "
                                        "float32: pass preprocess="):
        Predictor(session)({"image": images})
    back = (images.astype(np.float32) - 128) / 50

    old = convengine.get_num_threads()
    try:
        p = Predictor(session, preprocess=lambda a: (a.astype(np.float32) - 128) / 50,
                      postprocess=lambda o: {"label": o["logits"].argmax(1)}, num_threads=1)
        assert p.num_threads == 1 and convengine.get_num_threads() == 1
        out = p({"image": images})
    finally:
        convengine.set_num_threads(old)
    (logits,) = session.run(None, {"input": back})
    assert list(out) == ["label"] and np.array_equal(out["label"], logits.argmax(1))
    assert assigned_cpus() is None or assigned_cpus() >= 1


def test_clear_errors(reference):
    session, x, _ = reference
    p = Predictor(session)
    with pytest.raises(ValueError, match=r"which column feeds input 'input'\? the batch has "
                                         r"\['a', 'b'\]: pass input_column="):
        p({"a": x[:2], "b": x[:2]})
    with pytest.raises(KeyError, match="input column 'z' is not in the batch"):
        Predictor(session, input_column="z")({"a": x[:2]})
    with pytest.raises(KeyError, match=r"keep_columns \['id'\] are not in the batch"):
        Predictor(session, keep_columns=["id"])({"input": x[:2]})
    with pytest.raises(ValueError, match="max_batch must be a positive int"):
        Predictor(session, max_batch=0)
    with pytest.raises(TypeError, match="session options apply to a path or a Model"):
        Predictor(session, precision="fast")
    with pytest.raises(TypeError, match="Predictor takes a path, an InferenceSession"):
        Predictor(3)
    with pytest.raises(ValueError, match="input 'input': expected shape"):
        p({"input": x[:2, :, :32]})


def test_works_without_ray():
    """Ray is imported lazily: convengine.ray works (and reports no assigned CPUs) where ray
    cannot be imported."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['ray'] = None; import numpy as np; "
            "from convengine import zoo; from convengine.ray import Predictor, assigned_cpus; "
            "assert assigned_cpus() is None; "
            "p = Predictor(zoo.get('tcn_1d', length=500)); "
            "print(p({'x': np.ones((3, 1, 500), np.float32)})[p.session.get_outputs()[0].name].shape)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("(3,"), r.stdout


# ---------------------------------------------------------------------------------------------
# on Ray

@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install convengine[ray])")
    pytest.importorskip("ray.data", reason="ray[data] is not installed")
    # Workers import convengine from where this process does (a source tree on PYTHONPATH).
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(convengine.__file__)))
    path = os.pathsep.join(p for p in [package_root, os.environ.get("PYTHONPATH", "")] if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        yield ray
    finally:
        ray.shutdown()


def _probe_class():
    """Predictor that also reports which process ran each row, with how many engine threads
    (made in a function: cloudpickle sends a local class by value, the workers cannot import
    this test module)."""
    class Probe(Predictor):
        def __call__(self, batch):
            out = super().__call__(batch)
            n = len(out["logits"])
            out["pid"] = np.full(n, os.getpid())
            out["threads"] = np.full(n, convengine.get_num_threads())
            return out
    return Probe


def test_two_actors_match_the_single_process_session(ray_cluster, reference):
    ray = ray_cluster
    session, x, want = reference
    n = len(x)
    ds = ray.data.from_items([{"id": i, "input": x[i]} for i in range(n)], override_num_blocks=8)
    out = ds.map_batches(_probe_class(), fn_constructor_kwargs={"model": session, "keep_columns": ["id"],
                                                        "max_batch": 16},
                         compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1,
                         batch_size=24).take_all()
    assert len(out) == n
    ids = np.array([r["id"] for r in out])
    assert sorted(ids) == list(range(n))
    got = np.stack([r["logits"] for r in out])[np.argsort(ids)]
    assert got.dtype == np.float32 and got.tobytes() == want.tobytes(), \
        f"{int((got != want).any(axis=1).sum())} of {n} outputs differ from the single process's"
    pids = {r["pid"] for r in out}
    assert len(pids) == 2 and os.getpid() not in pids, f"rows ran in processes {pids}"
    assert {r["threads"] for r in out} == {1}  # the engine's threads follow the actor's num_cpus


def test_pandas_batches_from_a_path(ray_cluster, reference, tmp_path):
    ray = ray_cluster
    session, x, want = reference
    _model().save(tmp_path / "m.json")
    n = 60
    ds = ray.data.from_items([{"id": i, "image": x[i]} for i in range(n)], override_num_blocks=3)
    out = ds.map_batches(Predictor, fn_constructor_kwargs={"model": str(tmp_path / "m.json"),
                                                           "keep_columns": ["id"]},
                         batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=2),
                         num_cpus=1, batch_size=25).to_pandas()
    out = out.sort_values("id")
    assert list(out["id"]) == list(range(n))
    assert np.stack(out["logits"]).tobytes() == want[:n].tobytes()
