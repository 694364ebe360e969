"""The zoo's networks, written with the builder. Each function takes the builder and its own
keyword options, declares its input and returns its outputs ({name: tensor}).

Layer names follow torchvision's state_dict keys where torchvision has the network."""
from __future__ import annotations

import dataclasses

from ._builder import Builder


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    fn: object
    family: str
    kinds: tuple        # convolution kinds it exercises
    blocks: tuple       # other structure it exercises
    reference: str


REGISTRY: dict[str, Entry] = {}


def _model(family, kinds, blocks, reference):
    def deco(fn):
        REGISTRY[fn.__name__] = Entry(fn.__name__, fn, family, tuple(kinds), tuple(blocks),
                                      reference)
        return fn
    return deco


def _head(b, x, num_classes, name="fc"):
    x = b.flatten(b.global_avgpool(x))
    return {"logits": b.gemm(x, num_classes, name=name)}


# ---------------------------------------------------------------------------------------------
# MobileNets, Xception

@_model("mobilenet", ["standard", "depthwise", "pointwise", "depthwise separable"], [],
        "Howard et al. 2017, MobileNets (1.0, 224)")
def mobilenet_v1(b: Builder, size=224, num_classes=1000):
    x = b.input((3, size, size))
    with b.scope("features.0"):
        x = b.conv_bn(x, 32, 3, 2)
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
          [(1024, 2), (1024, 1)]
    cin = 32
    for i, (cout, s) in enumerate(cfg, 1):
        with b.scope(f"features.{i}"):
            x = b.conv_bn(x, cin, 3, s, groups=cin, conv="0", bn="1")
            x = b.conv_bn(x, cout, 1, conv="3", bn="4")
        cin = cout
    return _head(b, x, num_classes, "classifier")


@_model("mobilenet", ["standard", "depthwise", "pointwise", "depthwise separable"],
        ["inverted residual", "relu6 (Clip)"], "Sandler et al. 2018, MobileNetV2 (torchvision)")
def mobilenet_v2(b: Builder, size=224, num_classes=1000):
    x = b.input((3, size, size))
    with b.scope("features.0"):
        x = b.conv_bn(x, 32, 3, 2, act="relu6")
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
    cin, i = 32, 1
    for t, c, n, s in cfg:
        for j in range(n):
            stride = s if j == 0 else 1
            hidden = cin * t
            with b.scope(f"features.{i}.conv"):
                y, k = x, 0
                if t != 1:
                    with b.scope("0"):
                        y = b.conv_bn(y, hidden, 1, act="relu6")
                    k = 1
                with b.scope(str(k)):
                    y = b.conv_bn(y, hidden, 3, stride, groups=hidden, act="relu6")
                y = b.bn(b.conv(y, c, 1, name=str(k + 1)), str(k + 2))
            x = b.add(x, y) if stride == 1 and cin == c else y
            cin, i = c, i + 1
    with b.scope(f"features.{i}"):
        x = b.conv_bn(x, 1280, 1, act="relu6")
    return _head(b, x, num_classes, "classifier.1")


def _make_divisible(v, d=8):
    new_v = max(d, int(v + d / 2) // d * d)
    return new_v + d if new_v < 0.9 * v else new_v


def _se(b, x, squeeze, gate="sigmoid"):
    c = b.channels(x)
    s = b.global_avgpool(x)
    s = b.relu(b.conv(s, squeeze, 1, bias=True, name="fc1"))
    s = b.conv(s, c, 1, bias=True, name="fc2")
    s = b.hardsigmoid(s) if gate == "hardsigmoid" else b.sigmoid(s)
    return b.mul(x, s)


@_model("mobilenet", ["standard", "depthwise", "pointwise", "depthwise separable"],
        ["squeeze-excitation", "hardswish", "hardsigmoid", "inverted residual"],
        "Howard et al. 2019, MobileNetV3-Small (torchvision)")
def mobilenet_v3_small(b: Builder, size=224, num_classes=1000):
    eps = 1e-3
    x = b.input((3, size, size))
    with b.scope("features.0"):
        x = b.conv_bn(x, 16, 3, 2, act="hardswish", eps=eps)
    cfg = [(16, 3, 16, 16, True, "relu", 2), (16, 3, 72, 24, False, "relu", 2),
           (24, 3, 88, 24, False, "relu", 1), (24, 5, 96, 40, True, "hardswish", 2),
           (40, 5, 240, 40, True, "hardswish", 1), (40, 5, 240, 40, True, "hardswish", 1),
           (40, 5, 120, 48, True, "hardswish", 1), (48, 5, 144, 48, True, "hardswish", 1),
           (48, 5, 288, 96, True, "hardswish", 2), (96, 5, 576, 96, True, "hardswish", 1),
           (96, 5, 576, 96, True, "hardswish", 1)]
    for i, (cin, k, exp, cout, se, act, s) in enumerate(cfg, 1):
        with b.scope(f"features.{i}.block"):
            y, idx = x, 0
            if exp != cin:
                with b.scope("0"):
                    y = b.conv_bn(y, exp, 1, act=act, eps=eps)
                idx = 1
            with b.scope(str(idx)):
                y = b.conv_bn(y, exp, k, s, groups=exp, act=act, eps=eps)
            idx += 1
            if se:
                with b.scope(str(idx)):
                    y = _se(b, y, _make_divisible(exp // 4), "hardsigmoid")
                idx += 1
            with b.scope(str(idx)):
                y = b.conv_bn(y, cout, 1, act=None, eps=eps)
        x = b.add(x, y) if s == 1 and cin == cout else y
    with b.scope("features.12"):
        x = b.conv_bn(x, 576, 1, act="hardswish", eps=eps)
    x = b.flatten(b.global_avgpool(x))
    x = b.hardswish(b.gemm(x, 1024, name="classifier.0"))
    return {"logits": b.gemm(x, num_classes, name="classifier.3")}


def _sepconv(b, x, cout, name):
    with b.scope(name):
        x = b.conv(x, b.channels(x), 3, groups=b.channels(x), name="conv1")
        return b.conv(x, cout, 1, name="pointwise")


@_model("xception", ["standard", "depthwise", "pointwise", "depthwise separable"],
        ["residual (strided 1x1 projection)"], "Chollet 2017, Xception entry flow (299x299)")
def xception_entry(b: Builder, size=299):
    x = b.input((3, size, size))
    x = b.relu(b.bn(b.conv(x, 32, 3, 2, pad=0, name="conv1"), "bn1"))
    x = b.relu(b.bn(b.conv(x, 64, 3, 1, pad=0, name="conv2"), "bn2"))
    for i, (cout, start_relu) in enumerate([(128, False), (256, True), (728, True)], 1):
        with b.scope(f"block{i}"):
            skip = b.bn(b.conv(x, cout, 1, 2, pad=0, name="skip"), "skipbn")
            y = b.relu(x) if start_relu else x
            y = b.relu(b.bn(_sepconv(b, y, cout, "sep1"), "bn1"))
            y = b.bn(_sepconv(b, y, cout, "sep2"), "bn2")
            y = b.maxpool(y, 3, 2, 1)
            x = b.add(y, skip)
    return {"features": x}


# ---------------------------------------------------------------------------------------------
# ShuffleNets

@_model("shufflenet", ["standard", "depthwise", "pointwise", "pointwise grouped",
                       "shuffled grouped"], ["channel shuffle (custom op)", "residual",
                                              "concat shortcut"],
        "Zhang et al. 2018, ShuffleNet 1x (g = 3)")
def shufflenet_v1_g3(b: Builder, size=224, num_classes=1000):
    g = 3
    x = b.input((3, size, size))
    x = b.relu(b.bn(b.conv(x, 24, 3, 2, name="conv1"), "bn1"))
    x = b.maxpool(x, 3, 2, 1)
    cin = 24
    for si, (cout, reps) in enumerate([(240, 4), (480, 8), (960, 4)], 2):
        for j in range(reps):
            stride = 2 if j == 0 else 1
            mid = cout // 4
            g1 = 1 if cin == 24 else g
            with b.scope(f"stage{si}.{j}"):
                y = b.relu(b.bn(b.conv(x, mid, 1, groups=g1, name="gconv1"), "bn1"))
                if g1 > 1:
                    y = b.channel_shuffle(y, g)
                y = b.bn(b.conv(y, mid, 3, stride, groups=mid, name="dwconv"), "bn2")
                out = cout - cin if stride == 2 else cout
                y = b.bn(b.conv(y, out, 1, groups=g, name="gconv2"), "bn3")
                if stride == 2:
                    y = b.concat([b.avgpool(x, 3, 2, 1), y])
                else:
                    y = b.add(x, y)
                x = b.relu(y)
            cin = cout
    return _head(b, x, num_classes)


@_model("shufflenet", ["standard", "depthwise", "pointwise"],
        ["channel split", "channel shuffle (Reshape/Transpose/Reshape)", "concat"],
        "Ma et al. 2018, ShuffleNet V2 1.0x (torchvision)")
def shufflenet_v2_x1_0(b: Builder, size=224, num_classes=1000):
    x = b.input((3, size, size))
    with b.scope("conv1"):
        x = b.conv_bn(x, 24, 3, 2)
    x = b.maxpool(x, 3, 2, 1)
    cin = 24
    for si, (cout, reps) in enumerate([(116, 4), (232, 8), (464, 4)], 2):
        for j in range(reps):
            bf = cout // 2
            with b.scope(f"stage{si}.{j}"):
                if j == 0:
                    with b.scope("branch1"):
                        y1 = b.bn(b.conv(x, cin, 3, 2, groups=cin, name="0"), "1")
                        y1 = b.relu(b.bn(b.conv(y1, bf, 1, name="2"), "3"))
                    x2, stride = x, 2
                else:
                    y1, x2 = b.split(x, [bf, bf])
                    stride = 1
                with b.scope("branch2"):
                    y2 = b.relu(b.bn(b.conv(x2, bf, 1, name="0"), "1"))
                    y2 = b.bn(b.conv(y2, bf, 3, stride, groups=bf, name="3"), "4")
                    y2 = b.relu(b.bn(b.conv(y2, bf, 1, name="5"), "6"))
                x = b.channel_shuffle_reshape(b.concat([y1, y2]), 2)
            cin = cout
    with b.scope("conv5"):
        x = b.conv_bn(x, 1024, 1)
    return _head(b, x, num_classes)


# ---------------------------------------------------------------------------------------------
# ResNets and relatives

def _resnet(b, bottleneck, layers, size, num_classes, groups=1, width_per_group=64, se=False):
    x = b.input((3, size, size))
    x = b.relu(b.bn(b.conv(x, 64, 7, 2, 3, name="conv1"), "bn1"))
    x = b.maxpool(x, 3, 2, 1)
    inplanes = 64
    for li, (planes, n) in enumerate(zip([64, 128, 256, 512], layers), 1):
        for j in range(n):
            stride = 2 if j == 0 and li > 1 else 1
            with b.scope(f"layer{li}.{j}"):
                if bottleneck:
                    width = planes * width_per_group // 64 * groups
                    out_c = planes * 4
                    y = b.relu(b.bn(b.conv(x, width, 1, name="conv1"), "bn1"))
                    y = b.relu(b.bn(b.conv(y, width, 3, stride, groups=groups, name="conv2"),
                                    "bn2"))
                    y = b.bn(b.conv(y, out_c, 1, name="conv3"), "bn3")
                else:
                    out_c = planes
                    y = b.relu(b.bn(b.conv(x, planes, 3, stride, name="conv1"), "bn1"))
                    y = b.bn(b.conv(y, planes, 3, name="conv2"), "bn2")
                if se:
                    with b.scope("se"):
                        y = _se(b, y, out_c // 16)
                if stride != 1 or inplanes != out_c:
                    sc = b.bn(b.conv(x, out_c, 1, stride, name="downsample.0"), "downsample.1")
                else:
                    sc = x
                x = b.relu(b.add(y, sc))
            inplanes = out_c
    return _head(b, x, num_classes)


@_model("resnet", ["standard", "pointwise"], ["residual"], "He et al. 2016, ResNet-18")
def resnet18(b: Builder, size=224, num_classes=1000):
    return _resnet(b, False, [2, 2, 2, 2], size, num_classes)


@_model("resnet", ["standard", "pointwise"], ["residual", "1x1 bottleneck"],
        "He et al. 2016, ResNet-50")
def resnet50(b: Builder, size=224, num_classes=1000):
    return _resnet(b, True, [3, 4, 6, 3], size, num_classes)


@_model("resnet", ["standard", "pointwise", "grouped"], ["residual", "1x1 bottleneck"],
        "Xie et al. 2017, ResNeXt-50 32x4d")
def resnext50_32x4d(b: Builder, size=224, num_classes=1000):
    return _resnet(b, True, [3, 4, 6, 3], size, num_classes, groups=32, width_per_group=4)


@_model("resnet", ["standard", "pointwise"], ["residual", "1x1 bottleneck",
                                              "squeeze-excitation"],
        "Hu et al. 2018, SE-ResNet-50 (reduction 16)")
def se_resnet50(b: Builder, size=224, num_classes=1000):
    return _resnet(b, True, [3, 4, 6, 3], size, num_classes, se=True)


@_model("densenet", ["standard", "pointwise"], ["dense concat", "pre-activation BN-ReLU-conv"],
        "Huang et al. 2017, DenseNet-121")
def densenet121(b: Builder, size=224, num_classes=1000):
    growth, bn_size = 32, 4
    x = b.input((3, size, size))
    with b.scope("features"):
        x = b.relu(b.bn(b.conv(x, 64, 7, 2, 3, name="conv0"), "norm0"))
        x = b.maxpool(x, 3, 2, 1, name="pool0")
        for bi, n in enumerate([6, 12, 24, 16], 1):
            feats = [x]
            for li in range(1, n + 1):
                with b.scope(f"denseblock{bi}.denselayer{li}"):
                    y = b.concat(feats) if len(feats) > 1 else feats[0]
                    y = b.relu(b.bn(y, "norm1"))
                    y = b.relu(b.bn(b.conv(y, bn_size * growth, 1, name="conv1"), "norm2"))
                    feats.append(b.conv(y, growth, 3, name="conv2"))
            x = b.concat(feats)
            if bi != 4:
                with b.scope(f"transition{bi}"):
                    x = b.relu(b.bn(x, "norm"))
                    x = b.conv(x, b.channels(x) // 2, 1, name="conv")
                    x = b.avgpool(x, 2, 2, name="pool")
        x = b.relu(b.bn(x, "norm5"))
    return _head(b, x, num_classes, "classifier")


@_model("alexnet", ["standard", "grouped"], ["large-kernel stride-4 stem", "fully connected"],
        "Krizhevsky et al. 2012, AlexNet as trained on two GPUs (2-group conv2/4/5; "
        "227x227 input; LRN omitted)")
def alexnet(b: Builder, size=227, num_classes=1000):
    x = b.input((3, size, size))
    x = b.maxpool(b.relu(b.conv(x, 96, 11, 4, 0, bias=True, name="conv1")), 3, 2)
    x = b.maxpool(b.relu(b.conv(x, 256, 5, 1, 2, groups=2, bias=True, name="conv2")), 3, 2)
    x = b.relu(b.conv(x, 384, 3, 1, 1, bias=True, name="conv3"))
    x = b.relu(b.conv(x, 384, 3, 1, 1, groups=2, bias=True, name="conv4"))
    x = b.maxpool(b.relu(b.conv(x, 256, 3, 1, 1, groups=2, bias=True, name="conv5")), 3, 2)
    x = b.flatten(x)
    x = b.relu(b.gemm(x, 4096, name="fc6"))
    x = b.relu(b.gemm(x, 4096, name="fc7"))
    return {"logits": b.gemm(x, num_classes, name="fc8")}


# ---------------------------------------------------------------------------------------------
# Inception, SqueezeNet

def _basic(b, x, cout, k, stride=1, pad=None, name="conv"):
    """torchvision's BasicConv2d: conv (no bias), BN (eps 0.001), ReLU."""
    with b.scope(name):
        return b.relu(b.bn(b.conv(x, cout, k, stride, pad, name="conv"), "bn", eps=1e-3))


def _inception(b, x, name, c1, c3r, c3, c5r, c5, pp):
    with b.scope(name):
        y1 = _basic(b, x, c1, 1, name="branch1")
        y2 = _basic(b, _basic(b, x, c3r, 1, name="branch2.0"), c3, 3, name="branch2.1")
        y3 = _basic(b, _basic(b, x, c5r, 1, name="branch3.0"), c5, 5, name="branch3.1")
        y4 = _basic(b, b.maxpool(x, 3, 1, 1, ceil=True), pp, 1, name="branch4.1")
        return b.concat([y1, y2, y3, y4])


@_model("inception", ["standard", "pointwise"], ["inception (multi-branch concat)",
                                                 "1x1 bottleneck", "ceil-mode pooling"],
        "Szegedy et al. 2015, GoogLeNet (Inception v1, 5x5 branch as in the paper, BN as in "
        "torchvision, no auxiliary heads)")
def googlenet(b: Builder, size=224, num_classes=1000):
    x = b.input((3, size, size))
    x = _basic(b, x, 64, 7, 2, 3, name="conv1")
    x = b.maxpool(x, 3, 2, ceil=True)
    x = _basic(b, x, 64, 1, name="conv2")
    x = _basic(b, x, 192, 3, name="conv3")
    x = b.maxpool(x, 3, 2, ceil=True)
    x = _inception(b, x, "inception3a", 64, 96, 128, 16, 32, 32)
    x = _inception(b, x, "inception3b", 128, 128, 192, 32, 96, 64)
    x = b.maxpool(x, 3, 2, ceil=True)
    x = _inception(b, x, "inception4a", 192, 96, 208, 16, 48, 64)
    x = _inception(b, x, "inception4b", 160, 112, 224, 24, 64, 64)
    x = _inception(b, x, "inception4c", 128, 128, 256, 24, 64, 64)
    x = _inception(b, x, "inception4d", 112, 144, 288, 32, 64, 64)
    x = _inception(b, x, "inception4e", 256, 160, 320, 32, 128, 128)
    x = b.maxpool(x, 3, 2, ceil=True)
    x = _inception(b, x, "inception5a", 256, 160, 320, 32, 128, 128)
    x = _inception(b, x, "inception5b", 384, 192, 384, 48, 128, 128)
    return _head(b, x, num_classes)


@_model("inception", ["pointwise", "spatially separable"],
        ["inception (multi-branch concat)", "average-pool branch"],
        "Szegedy et al. 2016, Inception-v3 block Mixed_6b (InceptionC, 17x17x768, c7 = 128)")
def inception_v3_block(b: Builder, size=17, c7=128):
    x = b.input((768, size, size))
    with b.scope("Mixed_6b"):
        y1 = _basic(b, x, 192, 1, name="branch1x1")
        y2 = _basic(b, x, c7, 1, name="branch7x7_1")
        y2 = _basic(b, y2, c7, (1, 7), name="branch7x7_2")
        y2 = _basic(b, y2, 192, (7, 1), name="branch7x7_3")
        y3 = x
        for i, (c, k) in enumerate([(c7, 1), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)),
                                    (192, (1, 7))], 1):
            y3 = _basic(b, y3, c, k, name=f"branch7x7dbl_{i}")
        y4 = _basic(b, b.avgpool(x, 3, 1, 1), 192, 1, name="branch_pool")
        return {"output": b.concat([y1, y2, y3, y4])}


def _fire(b, x, name, sq, e1, e3):
    with b.scope(name):
        s = b.relu(b.conv(x, sq, 1, bias=True, name="squeeze"))
        return b.concat([b.relu(b.conv(s, e1, 1, bias=True, name="expand1x1")),
                         b.relu(b.conv(s, e3, 3, bias=True, name="expand3x3"))])


@_model("squeezenet", ["standard", "pointwise"], ["fire module (squeeze + expand concat)",
                                                  "ceil-mode pooling", "conv classifier"],
        "Iandola et al. 2016, SqueezeNet 1.1")
def squeezenet1_1(b: Builder, size=224, num_classes=1000):
    x = b.input((3, size, size))
    with b.scope("features"):
        x = b.relu(b.conv(x, 64, 3, 2, 0, bias=True, name="0"))
        x = b.maxpool(x, 3, 2, ceil=True)
        x = _fire(b, x, "3", 16, 64, 64)
        x = _fire(b, x, "4", 16, 64, 64)
        x = b.maxpool(x, 3, 2, ceil=True)
        x = _fire(b, x, "6", 32, 128, 128)
        x = _fire(b, x, "7", 32, 128, 128)
        x = b.maxpool(x, 3, 2, ceil=True)
        x = _fire(b, x, "9", 48, 192, 192)
        x = _fire(b, x, "10", 48, 192, 192)
        x = _fire(b, x, "11", 64, 256, 256)
        x = _fire(b, x, "12", 64, 256, 256)
    x = b.relu(b.conv(x, num_classes, 1, bias=True, name="classifier.1"))
    return {"logits": b.flatten(b.global_avgpool(x))}


# ---------------------------------------------------------------------------------------------
# Dense prediction: dilated, ASPP, U-Net, resize-conv

@_model("segmentation", ["standard", "dilated", "pointwise"], ["context aggregation"],
        "Yu & Koltun 2016, context module (basic: C channels; large: 2C..32C), dilations "
        "1, 1, 2, 4, 8, 16, 1")
def dilated_context(b: Builder, size=64, channels=21, large=False):
    x = b.input((channels, size, size))
    widths = [2, 2, 4, 8, 16, 32, 32] if large else [1] * 7
    with b.scope("ctx"):
        for i, (d, w) in enumerate(zip([1, 1, 2, 4, 8, 16, 1], widths)):
            x = b.relu(b.conv(x, w * channels, 3, dilation=d, bias=True, name=str(i)))
        return {"output": b.conv(x, channels, 1, bias=True, name="7")}


@_model("segmentation", ["dilated", "pointwise", "standard"],
        ["ASPP (parallel atrous branches + image pooling)", "bilinear resize"],
        "Chen et al. 2017, DeepLabV3 head (ASPP rates 6, 12, 18 on 2048x33x33 output-stride "
        "16 features; torchvision names)")
def deeplab_aspp(b: Builder, size=33, in_channels=2048, num_classes=21, rates=(6, 12, 18)):
    x = b.input((in_channels, size, size))
    with b.scope("classifier.0"):
        branches = []
        with b.scope("convs.0"):
            branches.append(b.conv_bn(x, 256, 1))
        for i, r in enumerate(rates, 1):
            with b.scope(f"convs.{i}"):
                branches.append(b.conv_bn(x, 256, 3, dilation=r))
        with b.scope(f"convs.{len(rates) + 1}"):
            p = b.global_avgpool(x)
            p = b.relu(b.bn(b.conv(p, 256, 1, name="1"), "2"))
            branches.append(b.resize(p, size, "bilinear"))
        with b.scope("project"):
            x = b.conv_bn(b.concat(branches), 256, 1)
    with b.scope("classifier"):
        x = b.conv_bn(x, 256, 3, conv="1", bn="2")
        return {"logits": b.conv(x, num_classes, 1, bias=True, name="4")}


def _double(b, x, c, name):
    with b.scope(name):
        x = b.conv_bn(x, c, 3, conv="conv1", bn="bn1")
        return b.conv_bn(x, c, 3, conv="conv2", bn="bn2")


@_model("segmentation", ["standard", "transposed", "pointwise"],
        ["encoder-decoder", "skip concat", "transposed-conv upsampling"],
        "Ronneberger et al. 2015, U-Net (3 levels, 16 base channels)")
def unet_small(b: Builder, size=128, in_channels=3, base=16, num_classes=2):
    x = b.input((in_channels, size, size))
    skips = []
    for i in range(3):
        x = _double(b, x, base << i, f"enc{i + 1}")
        skips.append(x)
        x = b.maxpool(x, 2, 2)
    x = _double(b, x, base << 3, "bottleneck")
    for i in reversed(range(3)):
        u = b.conv_transpose(x, base << i, 2, 2, name=f"up{i + 1}")
        x = _double(b, b.concat([u, skips[i]]), base << i, f"dec{i + 1}")
    return {"logits": b.conv(x, num_classes, 1, bias=True, name="head")}


@_model("generator", ["standard"], ["nearest and bilinear resize then conv", "tanh"],
        "Odena et al. 2016, resize-convolution decoder (checkerboard-free upsampling)")
def resize_conv_decoder(b: Builder, size=8, in_channels=256):
    x = b.input((in_channels, size, size))
    for i, (c, mode) in enumerate([(128, "nearest"), (64, "bilinear"), (32, "nearest"),
                                   (16, "bilinear")], 1):
        with b.scope(f"up{i}"):
            x = b.conv_bn(b.resize(x, 2, mode), c, 3, conv="conv", bn="bn")
    return {"image": b.tanh(b.conv(x, 3, 3, bias=True, name="head"))}


# ---------------------------------------------------------------------------------------------
# Unusual convolutions: deformable, locally connected, flattened, 3D, causal 1D

@_model("resnet", ["deformable v2", "pointwise", "standard"],
        ["residual", "offsets and mask produced by a conv", "channel split"],
        "Zhu et al. 2019, DCNv2 ResNet-50 conv3 bottleneck (512x28x28, 3x3 modulated "
        "deformable conv)")
def dcn_resnet_block(b: Builder, size=28, channels=512, mid=128):
    x = b.input((channels, size, size))
    y = b.relu(b.bn(b.conv(x, mid, 1, name="conv1"), "bn1"))
    om = b.conv(y, 27, 3, bias=True, name="conv2_offset")
    offset, mask = b.split(om, [18, 9])
    y = b.deform_conv(y, offset, b.sigmoid(mask), mid, 3, name="conv2")
    y = b.relu(b.bn(y, "bn2"))
    y = b.bn(b.conv(y, channels, 1, name="conv3"), "bn3")
    return {"output": b.relu(b.add(y, x))}


@_model("face", ["standard", "locally connected"], ["fully connected"],
        "Taigman et al. 2014, DeepFace (C1, M2, C3, L4, L5, L6, F7, F8 on 152x152)")
def deepface_local(b: Builder, size=152, num_classes=4030):
    x = b.input((3, size, size))
    x = b.relu(b.conv(x, 32, 11, pad=0, bias=True, name="c1"))
    x = b.maxpool(x, 3, 2, ceil=True)
    x = b.relu(b.conv(x, 16, 9, pad=0, bias=True, name="c3"))
    x = b.relu(b.local_conv(x, 16, 9, name="l4"))
    x = b.relu(b.local_conv(x, 16, 7, 2, name="l5"))
    x = b.relu(b.local_conv(x, 16, 5, name="l6"))
    x = b.relu(b.gemm(b.flatten(x), 4096, name="f7"))
    return {"logits": b.gemm(x, num_classes, name="f8")}


def _flat(b, x, cout, k, name):
    with b.scope(name):
        x = b.conv(x, cout, 1, name="lateral")
        x = b.conv(x, cout, (k, 1), groups=cout, name="vertical")
        return b.relu(b.conv(x, cout, (1, k), groups=cout, bias=True, name="horizontal"))


@_model("flattened", ["standard", "flattened", "pointwise", "spatially separable",
                      "depthwise"], [],
        "Jin et al. 2014, flattened CNN (lateral 1x1, vertical kx1, horizontal 1xk; CIFAR-10 "
        "scale)")
def flattened_cnn(b: Builder, size=32, num_classes=10, k=3):
    x = b.input((3, size, size))
    x = b.relu(b.conv(x, 64, 3, bias=True, name="conv1"))
    x = _flat(b, x, 96, k, "flat1")
    x = b.maxpool(_flat(b, x, 96, k, "flat2"), 2, 2)
    x = _flat(b, x, 192, k, "flat3")
    x = b.maxpool(_flat(b, x, 192, k, "flat4"), 2, 2)
    x = _flat(b, x, 192, k, "flat5")
    x = b.conv(x, num_classes, 1, bias=True, name="classifier")
    return {"logits": b.flatten(b.global_avgpool(x))}


@_model("video", ["3d"], ["3D max pooling", "fully connected"],
        "Tran et al. 2015, C3D at 1/4 width (3x3x3 convs, 16x112x112 clips, 101 classes)")
def c3d_small(b: Builder, frames=16, size=112, width=0.25, num_classes=101):
    x = b.input((3, frames, size, size))

    def c(n):
        return max(1, int(n * width))

    x = b.relu(b.conv(x, c(64), 3, bias=True, name="conv1a"))
    x = b.maxpool(x, (1, 2, 2), (1, 2, 2))
    x = b.relu(b.conv(x, c(128), 3, bias=True, name="conv2a"))
    x = b.maxpool(x, 2, 2)
    for stage, ch in ((3, 256), (4, 512), (5, 512)):
        x = b.relu(b.conv(x, c(ch), 3, bias=True, name=f"conv{stage}a"))
        x = b.relu(b.conv(x, c(ch), 3, bias=True, name=f"conv{stage}b"))
        x = b.maxpool(x, 2, 2, pad=(0, 1, 1) if stage == 5 else 0)
    x = b.flatten(x)
    x = b.relu(b.gemm(x, c(4096), name="fc6"))
    x = b.relu(b.gemm(x, c(4096), name="fc7"))
    return {"logits": b.gemm(x, num_classes, name="fc8")}


@_model("sequence", ["1d", "dilated", "causal (asymmetric padding)", "pointwise"],
        ["residual"], "Bai et al. 2018, TCN (dilated causal conv1d, 1 s of 16 kHz audio)")
def tcn_1d(b: Builder, length=16000, in_channels=1, channels=32, levels=8, k=3,
           num_classes=10):
    x = b.input((in_channels, length))
    cin = in_channels
    for i in range(levels):
        d = 2 ** i
        causal = [(k - 1) * d, 0]
        with b.scope(f"tcn.{i}"):
            y = b.relu(b.conv(x, channels, k, pad=causal, dilation=d, bias=True, name="conv1"))
            y = b.relu(b.conv(y, channels, k, pad=causal, dilation=d, bias=True, name="conv2"))
            sc = b.conv(x, channels, 1, bias=True, name="downsample") if cin != channels else x
            x = b.relu(b.add(y, sc))
        cin = channels
    return {"output": b.conv(x, num_classes, 1, bias=True, name="head")}
