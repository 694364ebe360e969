"""Channels-first <-> channels-last copies (the relayout steps around convolutions), with
channel counts below, at and above the 8- and 16-wide transpose blocks and pixel counts that do not
divide it: a 1x1 identity convolution must return its input bit for bit."""
import numpy as np
import pytest

import convengine as ce
from convengine.model import Graph, Model, Node, ValueInfo
from conftest import num_threads


@pytest.mark.parametrize("c", [1, 2, 3, 4, 5, 7, 8, 11, 13, 15, 16, 17, 31, 33, 100])
@pytest.mark.parametrize("hw", [(1, 1), (1, 9), (5, 7), (13, 13), (71, 97)])
@pytest.mark.parametrize("threads", [1, 2])
def test_identity_conv_round_trips_the_layout(isa, c, hw, threads):
    x = np.random.default_rng(c).standard_normal((2, c, *hw)).astype(np.float32)
    w = np.eye(c, dtype=np.float32).reshape(c, c, 1, 1)
    m = Model(Graph([Node("Conv", ["x", "w"], ["y"], "conv")], [ValueInfo("x", list(x.shape))],
                    [ValueInfo("y", None)], {"w": w}))
    with num_threads(threads):
        y = ce.InferenceSession(m).run(None, {"x": x})[0]
    assert np.array_equal(y, x)
