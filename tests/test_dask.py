"""The Dask recipes of the README ("Batch inference at scale"), run as written: a dask array of
images through `map_blocks` with the session as one `dask.delayed` node (threads, and the
processes scheduler, which pickles it to other interpreters), and a dask dataframe of image
paths through `map_partitions` with a `convengine.ray.Predictor` (which takes pandas frames
without Ray). Every output equals the single-process session's bit for bit. Skipped when dask is
not installed."""
from __future__ import annotations

import numpy as np
import pytest

import convengine
from convengine import zoo
from convengine.ray import Predictor

dask = pytest.importorskip("dask", reason="dask is not installed")
da = pytest.importorskip("dask.array", reason="dask[array] is not installed")


def predict(block, session):
    return session.run(None, {"input": block})[0]


@pytest.fixture(scope="module")
def case():
    session = convengine.InferenceSession(zoo.get("squeezenet1_1", seed=6, size=64))
    images = np.random.default_rng(1).standard_normal((50, 3, 64, 64)).astype(np.float32)
    return session, images, session.run(None, {"input": images})[0]


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_map_blocks_recipe(case, scheduler):
    session, images, want = case
    x = da.from_array(images, chunks=(16, 3, 64, 64))        # 16, 16, 16, 2 images
    logits = x.map_blocks(predict, dask.delayed(session), dtype=np.float32,
                          chunks=(x.chunks[0], (1000,)), drop_axis=[2, 3],
                          meta=np.empty((0, 0), np.float32))
    got = logits.compute(scheduler=scheduler)
    assert got.shape == want.shape and got.tobytes() == want.tobytes()


def classify(part, predictor):  # a pandas DataFrame of paths -> one of paths and logits
    return predictor(part.assign(image=[np.load(p) for p in part["path"]]))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_map_partitions_recipe(case, tmp_path, scheduler):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed")
    session, images, want = case
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i:03d}.npy"))
        np.save(paths[-1], img)
    predictor = dask.delayed(Predictor(session, keep_columns=["path"]))
    files = dd.from_pandas(pd.DataFrame({"path": paths}), npartitions=4)
    meta = pd.DataFrame({"path": pd.Series([], dtype=str), "logits": pd.Series([], dtype=object)})
    out = files.map_partitions(classify, predictor, meta=meta).compute(scheduler=scheduler)
    out = out.sort_values("path")
    assert list(out["path"]) == paths
    assert np.stack(out["logits"]).tobytes() == want.tobytes()
