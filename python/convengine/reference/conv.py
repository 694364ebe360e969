def _todo(*a, **k):
    raise NotImplementedError


conv1d = conv2d = conv3d = conv_transpose1d = conv_transpose2d = conv_transpose3d = convolve2d = _todo
