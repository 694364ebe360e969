"""The reference implementation of every op: plain nested loops in Cython that read like the
definition, with float64 accumulation. It is the oracle the tests check the fast paths against
(no torch needed) and the readable spec of each op's semantics. Signatures are those of
convengine.functional; results are float32 arrays. It shares no code with the engine (its
argument checks are _args.py) and imports without the compiled extension convengine._native.
"""
from .conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
                   convolve2d)
from .deform import deform_conv2d, local_conv2d
from .ops import (adaptive_avg_pool2d, avg_pool2d, batch_norm, channel_shuffle, hardsigmoid,
                  hardswish, interpolate, linear, max_pool2d, relu, relu6, sigmoid, silu)
