def _todo(*a, **k):
    raise NotImplementedError


adaptive_avg_pool2d = avg_pool2d = batch_norm = channel_shuffle = hardsigmoid = hardswish = \
    interpolate = linear = max_pool2d = relu = relu6 = sigmoid = silu = _todo
