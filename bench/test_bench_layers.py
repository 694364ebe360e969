"""pytest-benchmark suite of the layer table (convengine and, where installed, torch):

    python -m pytest bench/test_bench_layers.py --benchmark-only

Lives outside tests/ so the test command never times anything.
"""
import pytest

import convengine
from convengine._bench import LAYERS, make_layer, torch_layer

from layers import convengine_layer


@pytest.fixture(params=[1, 2], ids=lambda t: f"{t}thread")
def threads(request):
    old = convengine.get_num_threads()
    convengine.set_num_threads(request.param)
    try:
        import torch
        torch.set_num_threads(request.param)
    except ImportError:
        pass
    yield request.param
    convengine.set_num_threads(old)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_convengine(benchmark, layer, threads):
    desc, x, convs = make_layer(layer)
    run, _, algo, flops = convengine_layer(x, convs)
    benchmark.extra_info.update(desc=desc, algorithm=algo, mflops=flops / 1e6)
    benchmark(run)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_torch(benchmark, layer, threads):
    torch = pytest.importorskip("torch")
    desc, x, convs = make_layer(layer)
    tl = torch_layer(convs)
    tx = torch.from_numpy(x)
    benchmark.extra_info.update(desc=desc)
    benchmark(lambda: tl(tx))
