"""torch equivalents of the zoo networks (tests only), written independently of the zoo's graphs
in plain torch.nn style; parameter names match the zoo's initializer names, so
`load_zoo_weights(module, model)` copies the same tensors in with strict=True (a missing,
extra or misshapen tensor fails loudly).

`run_graph(model, feeds)` is a second, independent check: it interprets the zoo's ONNX-style
graph node by node with torch ops, so the tests can tell a wrong graph from a wrong engine."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# building blocks


def cbr(cin, cout, k, s=1, p=None, g=1, act="relu", eps=1e-5):
    """Conv (no bias) + BN + activation as nn.Sequential (names .0, .1 like torchvision)."""
    p = (k - 1) // 2 if p is None else p
    layers = [nn.Conv2d(cin, cout, k, s, p, groups=g, bias=False), nn.BatchNorm2d(cout, eps=eps)]
    if act == "relu":
        layers.append(nn.ReLU())
    elif act == "relu6":
        layers.append(nn.ReLU6())
    elif act == "hardswish":
        layers.append(nn.Hardswish())
    return nn.Sequential(*layers)


class SE(nn.Module):
    def __init__(self, c, squeeze, gate=nn.Sigmoid):
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.gate = gate()

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(F.relu(self.fc1(s))))


class Head(nn.Module):
    def __init__(self, cin, n):
        super().__init__()
        self.fc = nn.Linear(cin, n)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------------------------------------
# MobileNets, Xception


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
              [(1024, 2), (1024, 1)]
        layers = [cbr(3, 32, 3, 2)]
        cin = 32
        for cout, s in cfg:
            layers.append(nn.Sequential(*cbr(cin, cin, 3, s, g=cin), *cbr(cin, cout, 1)))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1024, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [cbr(cin, hidden, 1, act="relu6")] if t != 1 else []
        layers += [cbr(hidden, hidden, 3, stride, g=hidden, act="relu6"),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]
        layers = [cbr(3, 32, 3, 2, act="relu6")]
        cin = 32
        for t, c, n, s in cfg:
            for j in range(n):
                layers.append(InvertedResidual(cin, c, s if j == 0 else 1, t))
                cin = c
        layers.append(cbr(320, 1280, 1, act="relu6"))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def make_divisible(v, d=8):
    new_v = max(d, int(v + d / 2) // d * d)
    return new_v + d if new_v < 0.9 * v else new_v


class V3Block(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, s):
        super().__init__()
        layers = []
        if exp != cin:
            layers.append(cbr(cin, exp, 1, act=act, eps=1e-3))
        layers.append(cbr(exp, exp, k, s, g=exp, act=act, eps=1e-3))
        if se:
            layers.append(SE(exp, make_divisible(exp // 4), nn.Hardsigmoid))
        layers.append(cbr(exp, cout, 1, act=None, eps=1e-3))
        self.block = nn.Sequential(*layers)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.res else self.block(x)


class MobileNetV3Small(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        cfg = [(16, 3, 16, 16, True, "relu", 2), (16, 3, 72, 24, False, "relu", 2),
               (24, 3, 88, 24, False, "relu", 1), (24, 5, 96, 40, True, "hardswish", 2),
               (40, 5, 240, 40, True, "hardswish", 1), (40, 5, 240, 40, True, "hardswish", 1),
               (40, 5, 120, 48, True, "hardswish", 1), (48, 5, 144, 48, True, "hardswish", 1),
               (48, 5, 288, 96, True, "hardswish", 2), (96, 5, 576, 96, True, "hardswish", 1),
               (96, 5, 576, 96, True, "hardswish", 1)]
        self.features = nn.Sequential(cbr(3, 16, 3, 2, act="hardswish", eps=1e-3),
                                      *[V3Block(*c) for c in cfg],
                                      cbr(96, 576, 1, act="hardswish", eps=1e-3))
        self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(1024, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class SepConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class XceptionBlock(nn.Module):
    def __init__(self, cin, cout, start_relu):
        super().__init__()
        self.skip = nn.Conv2d(cin, cout, 1, 2, bias=False)
        self.skipbn = nn.BatchNorm2d(cout)
        self.sep1, self.bn1 = SepConv(cin, cout), nn.BatchNorm2d(cout)
        self.sep2, self.bn2 = SepConv(cout, cout), nn.BatchNorm2d(cout)
        self.start_relu = start_relu

    def forward(self, x):
        y = F.relu(x) if self.start_relu else x
        y = F.relu(self.bn1(self.sep1(y)))
        y = F.max_pool2d(self.bn2(self.sep2(y)), 3, 2, 1)
        return y + self.skipbn(self.skip(x))


class XceptionEntry(nn.Module):
    def __init__(self, **_):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, 2, bias=False), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64)
        self.block1 = XceptionBlock(64, 128, False)
        self.block2 = XceptionBlock(128, 256, True)
        self.block3 = XceptionBlock(256, 728, True)

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return self.block3(self.block2(self.block1(x)))


# ---------------------------------------------------------------------------------------------
# ShuffleNets


class ShuffleV1Unit(nn.Module):
    def __init__(self, cin, cout, stride, g=3):
        super().__init__()
        mid = cout // 4
        self.g1 = 1 if cin == 24 else g
        self.g = g
        self.stride = stride
        self.gconv1 = nn.Conv2d(cin, mid, 1, groups=self.g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.dwconv = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        out = cout - cin if stride == 2 else cout
        self.gconv2 = nn.Conv2d(mid, out, 1, groups=g, bias=False)
        self.bn3 = nn.BatchNorm2d(out)

    def forward(self, x):
        y = F.relu(self.bn1(self.gconv1(x)))
        if self.g1 > 1:
            n, c, h, w = y.shape
            y = y.view(n, self.g, c // self.g, h, w).transpose(1, 2).reshape(n, c, h, w)
        y = self.bn3(self.gconv2(self.bn2(self.dwconv(y))))
        if self.stride == 2:
            return F.relu(torch.cat([F.avg_pool2d(x, 3, 2, 1), y], 1))
        return F.relu(x + y)


class ShuffleNetV1(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24)
        cin = 24
        for si, (cout, reps) in enumerate([(240, 4), (480, 8), (960, 4)], 2):
            units = []
            for j in range(reps):
                units.append(ShuffleV1Unit(cin, cout, 2 if j == 0 else 1))
                cin = cout
            setattr(self, f"stage{si}", nn.Sequential(*units))
        self.fc = nn.Linear(960, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ShuffleV2Unit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        bf = cout // 2
        self.stride = stride
        if stride == 2:
            self.branch1 = nn.Sequential(
                nn.Conv2d(cin, cin, 3, 2, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())
        c2 = cin if stride == 2 else bf
        self.branch2 = nn.Sequential(
            nn.Conv2d(c2, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False), nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleNetV2(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        self.conv1 = cbr(3, 24, 3, 2)
        cin = 24
        for si, (cout, reps) in enumerate([(116, 4), (232, 8), (464, 4)], 2):
            units = []
            for j in range(reps):
                units.append(ShuffleV2Unit(cin, cout, 2 if j == 0 else 1))
                cin = cout
            setattr(self, f"stage{si}", nn.Sequential(*units))
        self.conv5 = cbr(464, 1024, 1)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 3, 2, 1)
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


# ---------------------------------------------------------------------------------------------
# ResNets, DenseNet, AlexNet


class Block(nn.Module):
    def __init__(self, inplanes, planes, stride, bottleneck, groups=1, wpg=64, se=False):
        super().__init__()
        if bottleneck:
            width = planes * wpg // 64 * groups
            out = planes * 4
            self.conv1, self.bn1 = nn.Conv2d(inplanes, width, 1, bias=False), nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3, self.bn3 = nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out)
        else:
            out = planes
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
        self.bottleneck = bottleneck
        self.se = SE(out, out // 16) if se else None
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False),
                                            nn.BatchNorm2d(out))
        self.out = out

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        if self.bottleneck:
            y = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)))))
        else:
            y = self.bn2(self.conv2(y))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, layers, bottleneck, groups=1, wpg=64, se=False, num_classes=1000, **_):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        inplanes = 64
        for li, (planes, n) in enumerate(zip([64, 128, 256, 512], layers), 1):
            blocks = []
            for j in range(n):
                blk = Block(inplanes, planes, 2 if j == 0 and li > 1 else 1, bottleneck, groups,
                            wpg, se)
                blocks.append(blk)
                inplanes = blk.out
            setattr(self, f"layer{li}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth=32, bn_size=4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, feats):
        x = torch.cat(feats, 1)
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, n, cin):
        super().__init__()
        for i in range(n):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + 32 * i)

    def forward(self, x):
        feats = [x]
        for layer in self.values():
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class DenseNet121(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        f = nn.Sequential()
        f.add_module("conv0", nn.Conv2d(3, 64, 7, 2, 3, bias=False))
        f.add_module("norm0", nn.BatchNorm2d(64))
        f.add_module("relu0", nn.ReLU())
        f.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        c = 64
        for i, n in enumerate([6, 12, 24, 16], 1):
            f.add_module(f"denseblock{i}", DenseBlock(n, c))
            c += 32 * n
            if i != 4:
                t = nn.Sequential()
                t.add_module("norm", nn.BatchNorm2d(c))
                t.add_module("relu", nn.ReLU())
                t.add_module("conv", nn.Conv2d(c, c // 2, 1, bias=False))
                t.add_module("pool", nn.AvgPool2d(2, 2))
                f.add_module(f"transition{i}", t)
                c //= 2
        f.add_module("norm5", nn.BatchNorm2d(c))
        self.features = f
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class AlexNet2GPU(nn.Module):
    def __init__(self, size=227, num_classes=1000, **_):
        super().__init__()
        s = (size - 11) // 4 + 1
        for _ in range(3):
            s = (s - 3) // 2 + 1
        self.conv1 = nn.Conv2d(3, 96, 11, 4)
        self.conv2 = nn.Conv2d(96, 256, 5, 1, 2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, 1, 1)
        self.conv4 = nn.Conv2d(384, 384, 3, 1, 1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, 1, 1, groups=2)
        self.fc6, self.fc7 = nn.Linear(256 * s * s, 4096), nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 3, 2)
        x = F.relu(self.conv4(F.relu(self.conv3(x))))
        x = torch.flatten(F.max_pool2d(F.relu(self.conv5(x)), 3, 2), 1)
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(x)))))


# ---------------------------------------------------------------------------------------------
# Inception, SqueezeNet


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=None):
        super().__init__()
        if padding is None:
            kk = k if isinstance(k, tuple) else (k, k)
            padding = (kk[0] // 2, kk[1] // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, 1), BasicConv2d(c3r, c3, 3))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, 1), BasicConv2d(c5r, c5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     BasicConv2d(cin, pp, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, 7, 2, 3)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        pool = lambda t: F.max_pool2d(t, 3, 2, ceil_mode=True)  # noqa: E731
        x = pool(self.conv1(x))
        x = pool(self.conv3(self.conv2(x)))
        x = pool(self.inception3b(self.inception3a(x)))
        for n in "abcde":
            x = getattr(self, f"inception4{n}")(x)
        x = self.inception5b(self.inception5a(pool(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InceptionC(nn.Module):
    def __init__(self, cin=768, c7=128):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionV3Block(nn.Module):
    def __init__(self, c7=128, **_):
        super().__init__()
        self.Mixed_6b = InceptionC(768, c7)

    def forward(self, x):
        return self.Mixed_6b(x)


class Fire(nn.Module):
    def __init__(self, cin, sq, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, sq, 1)
        self.expand1x1 = nn.Conv2d(sq, e1, 1)
        self.expand3x3 = nn.Conv2d(sq, e3, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], 1)


class SqueezeNet11(nn.Module):
    def __init__(self, num_classes=1000, **_):
        super().__init__()
        pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool, Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
            pool, Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool,
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1),
                                        nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


# ---------------------------------------------------------------------------------------------
# Dense prediction


class DilatedContext(nn.Module):
    def __init__(self, channels=21, large=False, **_):
        super().__init__()
        widths = [2, 2, 4, 8, 16, 32, 32] if large else [1] * 7
        layers, cin = [], channels
        for d, w in zip([1, 1, 2, 4, 8, 16, 1], widths):
            layers += [nn.Conv2d(cin, w * channels, 3, padding=d, dilation=d)]
            cin = w * channels
        layers.append(nn.Conv2d(cin, channels, 1))
        self.ctx = nn.ModuleList(layers)

    def forward(self, x):
        for conv in self.ctx[:-1]:
            x = F.relu(conv(x))
        return self.ctx[-1](x)


class ASPPPooling(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x):
        return F.interpolate(super().forward(x), size=x.shape[-2:], mode="bilinear",
                             align_corners=False)


class ASPP(nn.Module):
    def __init__(self, cin, rates, cout=256):
        super().__init__()
        convs = [cbr(cin, cout, 1)] + [cbr(cin, cout, 3, p=r) for r in rates]
        for c, r in zip(convs[1:], rates):
            c[0].dilation = (r, r)
        convs.append(ASPPPooling(cin, cout))
        self.convs = nn.ModuleList(convs)
        self.project = cbr(cout * len(convs), cout, 1)

    def forward(self, x):
        return self.project(torch.cat([c(x) for c in self.convs], 1))


class DeepLabHead(nn.Module):
    def __init__(self, in_channels=2048, num_classes=21, rates=(6, 12, 18), **_):
        super().__init__()
        self.classifier = nn.Sequential(
            ASPP(in_channels, rates), nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256), nn.ReLU(), nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        return self.classifier(x)


class Double(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class UNetSmall(nn.Module):
    def __init__(self, in_channels=3, base=16, num_classes=2, **_):
        super().__init__()
        c = [base, base * 2, base * 4, base * 8]
        self.enc1 = Double(in_channels, c[0])
        self.enc2, self.enc3 = Double(c[0], c[1]), Double(c[1], c[2])
        self.bottleneck = Double(c[2], c[3])
        self.up3, self.dec3 = nn.ConvTranspose2d(c[3], c[2], 2, 2), Double(c[3], c[2])
        self.up2, self.dec2 = nn.ConvTranspose2d(c[2], c[1], 2, 2), Double(c[2], c[1])
        self.up1, self.dec1 = nn.ConvTranspose2d(c[1], c[0], 2, 2), Double(c[1], c[0])
        self.head = nn.Conv2d(c[0], num_classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        m = self.bottleneck(F.max_pool2d(e3, 2))
        d3 = self.dec3(torch.cat([self.up3(m), e3], 1))
        d2 = self.dec2(torch.cat([self.up2(d3), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class ResizeConvDecoder(nn.Module):
    def __init__(self, in_channels=256, **_):
        super().__init__()
        cin = in_channels
        self.modes = ["nearest", "bilinear", "nearest", "bilinear"]
        for i, c in enumerate([128, 64, 32, 16], 1):
            m = nn.Module()
            m.conv, m.bn = nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            setattr(self, f"up{i}", m)
            cin = c
        self.head = nn.Conv2d(16, 3, 3, padding=1)

    def forward(self, x):
        for i, mode in enumerate(self.modes, 1):
            m = getattr(self, f"up{i}")
            kw = {} if mode == "nearest" else {"align_corners": False}
            x = F.interpolate(x, scale_factor=2, mode=mode, **kw)
            x = F.relu(m.bn(m.conv(x)))
        return torch.tanh(self.head(x))


# ---------------------------------------------------------------------------------------------
# Deformable, locally connected, flattened, 3D, causal 1D


def deform_conv2d(x, offset, weight, bias=None, stride=1, padding=1, dilation=1, mask=None):
    """torchvision.ops.deform_conv2d semantics (groups = 1, one offset group) with torch ops:
    each tap's bilinear sample via grid_sample (zero outside), then one matmul."""
    n, c, h, w = x.shape
    cout, _, kh, kw = weight.shape
    oh, ow = offset.shape[-2:]
    ys = torch.arange(oh, dtype=x.dtype).view(oh, 1) * stride - padding
    xs = torch.arange(ow, dtype=x.dtype).view(1, ow) * stride - padding
    cols = []
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            py = ys + i * dilation + offset[:, 2 * t]
            px = xs + j * dilation + offset[:, 2 * t + 1]
            grid = torch.stack([2 * px / (w - 1) - 1, 2 * py / (h - 1) - 1], -1)
            s = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            if mask is not None:
                s = s * mask[:, t:t + 1]
            cols.append(s)
    col = torch.stack(cols, 2)                                   # n, c, taps, oh, ow
    y = torch.einsum("nctyx,oct->noyx", col, weight.reshape(cout, c, kh * kw))
    return y if bias is None else y + bias.view(1, -1, 1, 1)


class DeformConv2d(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))

    def forward(self, x, offset, mask):
        return deform_conv2d(x, offset, self.weight, padding=self.weight.shape[-1] // 2,
                             mask=mask)


class DCNBlock(nn.Module):
    def __init__(self, channels=512, mid=128, **_):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, mid, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv2_offset = nn.Conv2d(mid, 27, 3, padding=1)
        self.conv2, self.bn2 = DeformConv2d(mid, mid, 3), nn.BatchNorm2d(mid)
        self.conv3, self.bn3 = nn.Conv2d(mid, channels, 1, bias=False), nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        om = self.conv2_offset(y)
        y = F.relu(self.bn2(self.conv2(y, om[:, :18], torch.sigmoid(om[:, 18:]))))
        return F.relu(self.bn3(self.conv3(y)) + x)


class LocallyConnected2d(nn.Module):
    """weight (H_out, W_out, C_out, C_in, kh, kw), bias (C_out, H_out, W_out)."""

    def __init__(self, cin, cout, in_hw, k, stride=1):
        super().__init__()
        oh = (in_hw[0] - k) // stride + 1
        ow = (in_hw[1] - k) // stride + 1
        self.k, self.stride = k, stride
        self.weight = nn.Parameter(torch.empty(oh, ow, cout, cin, k, k))
        self.bias = nn.Parameter(torch.empty(cout, oh, ow))

    def forward(self, x):
        oh, ow, cout = self.weight.shape[:3]
        cols = F.unfold(x, self.k, stride=self.stride)            # n, cin*k*k, oh*ow
        w = self.weight.reshape(oh * ow, cout, -1)
        y = torch.einsum("nkp,pok->nop", cols, w).reshape(x.shape[0], cout, oh, ow)
        return y + self.bias


class DeepFace(nn.Module):
    def __init__(self, size=152, num_classes=4030, **_):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 11)
        self.c3 = nn.Conv2d(32, 16, 9)
        s = size - 10
        s = -(-(s - 3) // 2) + 1
        s = s - 8
        self.l4 = LocallyConnected2d(16, 16, (s, s), 9)
        s = s - 8
        self.l5 = LocallyConnected2d(16, 16, (s, s), 7, 2)
        s = (s - 7) // 2 + 1
        self.l6 = LocallyConnected2d(16, 16, (s, s), 5)
        s = s - 4
        self.f7 = nn.Linear(16 * s * s, 4096)
        self.f8 = nn.Linear(4096, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 3, 2, ceil_mode=True)
        x = F.relu(self.c3(x))
        x = F.relu(self.l6(F.relu(self.l5(F.relu(self.l4(x))))))
        return self.f8(F.relu(self.f7(torch.flatten(x, 1))))


class Flat(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.lateral = nn.Conv2d(cin, cout, 1, bias=False)
        self.vertical = nn.Conv2d(cout, cout, (k, 1), padding=(k // 2, 0), groups=cout, bias=False)
        self.horizontal = nn.Conv2d(cout, cout, (1, k), padding=(0, k // 2), groups=cout)

    def forward(self, x):
        return F.relu(self.horizontal(self.vertical(self.lateral(x))))


class FlattenedCNN(nn.Module):
    def __init__(self, num_classes=10, k=3, **_):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.flat1, self.flat2 = Flat(64, 96, k), Flat(96, 96, k)
        self.flat3, self.flat4 = Flat(96, 192, k), Flat(192, 192, k)
        self.flat5 = Flat(192, 192, k)
        self.classifier = nn.Conv2d(192, num_classes, 1)

    def forward(self, x):
        x = self.flat1(F.relu(self.conv1(x)))
        x = F.max_pool2d(self.flat2(x), 2)
        x = F.max_pool2d(self.flat4(self.flat3(x)), 2)
        x = self.classifier(self.flat5(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class C3DSmall(nn.Module):
    def __init__(self, frames=16, size=112, width=0.25, num_classes=101, **_):
        super().__init__()
        c = lambda n: max(1, int(n * width))  # noqa: E731
        chans = [("conv1a", 3, c(64)), ("conv2a", c(64), c(128)), ("conv3a", c(128), c(256)),
                 ("conv3b", c(256), c(256)), ("conv4a", c(256), c(512)),
                 ("conv4b", c(512), c(512)), ("conv5a", c(512), c(512)),
                 ("conv5b", c(512), c(512))]
        for name, i, o in chans:
            setattr(self, name, nn.Conv3d(i, o, 3, padding=1))
        t = (frames // 8 - 2) // 2 + 1
        s = size // 16 // 2 + 1
        self.fc6 = nn.Linear(c(512) * t * s * s, c(4096))
        self.fc7 = nn.Linear(c(4096), c(4096))
        self.fc8 = nn.Linear(c(4096), num_classes)

    def forward(self, x):
        x = F.max_pool3d(F.relu(self.conv1a(x)), (1, 2, 2))
        x = F.max_pool3d(F.relu(self.conv2a(x)), 2)
        for st in (3, 4, 5):
            x = F.relu(getattr(self, f"conv{st}b")(F.relu(getattr(self, f"conv{st}a")(x))))
            x = F.max_pool3d(x, 2, padding=(0, 1, 1) if st == 5 else 0)
        x = torch.flatten(x, 1)
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(x)))))


class TemporalBlock(nn.Module):
    """As in Bai et al.'s code: symmetric padding (k - 1) d, then the last (k - 1) d outputs
    are chopped off ("Chomp1d"), which makes the conv causal."""

    def __init__(self, cin, cout, k, d):
        super().__init__()
        self.chomp = (k - 1) * d
        self.conv1 = nn.Conv1d(cin, cout, k, padding=self.chomp, dilation=d)
        self.conv2 = nn.Conv1d(cout, cout, k, padding=self.chomp, dilation=d)
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        y = F.relu(self.conv1(x)[:, :, :-self.chomp])
        y = F.relu(self.conv2(y)[:, :, :-self.chomp])
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class TCN(nn.Module):
    def __init__(self, in_channels=1, channels=32, levels=8, k=3, num_classes=10, **_):
        super().__init__()
        self.tcn = nn.Sequential(*[TemporalBlock(in_channels if i == 0 else channels, channels,
                                                 k, 2 ** i) for i in range(levels)])
        self.head = nn.Conv1d(channels, num_classes, 1)

    def forward(self, x):
        return self.head(self.tcn(x))


MODULES = {
    "mobilenet_v1": MobileNetV1,
    "mobilenet_v2": MobileNetV2,
    "mobilenet_v3_small": MobileNetV3Small,
    "xception_entry": XceptionEntry,
    "shufflenet_v1_g3": ShuffleNetV1,
    "shufflenet_v2_x1_0": ShuffleNetV2,
    "resnet18": lambda **kw: ResNet([2, 2, 2, 2], False, **kw),
    "resnet50": lambda **kw: ResNet([3, 4, 6, 3], True, **kw),
    "resnext50_32x4d": lambda **kw: ResNet([3, 4, 6, 3], True, groups=32, wpg=4, **kw),
    "se_resnet50": lambda **kw: ResNet([3, 4, 6, 3], True, se=True, **kw),
    "densenet121": DenseNet121,
    "alexnet": AlexNet2GPU,
    "googlenet": GoogLeNet,
    "inception_v3_block": InceptionV3Block,
    "squeezenet1_1": SqueezeNet11,
    "dilated_context": DilatedContext,
    "deeplab_aspp": DeepLabHead,
    "unet_small": UNetSmall,
    "resize_conv_decoder": ResizeConvDecoder,
    "dcn_resnet_block": DCNBlock,
    "deepface_local": DeepFace,
    "flattened_cnn": FlattenedCNN,
    "c3d_small": C3DSmall,
    "tcn_1d": TCN,
}


def torch_module(name, model, **options):
    """The torch module for zoo model `name` (built with `options`), holding `model`'s weights,
    in eval mode."""
    m = MODULES[name](**options)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.graph.initializers.items()
             if not k.startswith("const.")}
    m.load_state_dict(state, strict=True)
    return m.eval()


# ---------------------------------------------------------------------------------------------
# An independent interpreter of the zoo's graphs with torch ops


def _ints(a, r, default):
    return tuple(a) if a is not None else (default,) * r


def _pads(node, r):
    p = node.attrs.get("pads") or [0] * (2 * r)
    return list(p[:r]), list(p[r:])


def _conv_like(x, node, r):
    begin, end = _pads(node, r)
    if begin != end:
        pad = []
        for i in reversed(range(r)):
            pad += [begin[i], end[i]]
        return F.pad(x, pad), [0] * r
    return x, begin


def run_graph(model, feeds):
    """Evaluates the graph with torch ops (float32); returns {output name: ndarray}."""
    g = model.graph
    env = {k: torch.from_numpy(np.array(v)) for k, v in g.initializers.items()}
    env.update({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in feeds.items()})
    env[""] = None
    with torch.no_grad():
        for n in g.nodes:
            ins = [env[i] for i in n.inputs]
            a = n.attrs
            op = n.op_type
            x = ins[0]
            r = x.dim() - 2 if x is not None else 0
            if op in ("Conv", "DeformConv", "LocalConv"):
                x, pad = _conv_like(x, n, r)
                s = _ints(a.get("strides"), r, 1)
                d = _ints(a.get("dilations"), r, 1)
                if op == "Conv":
                    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[r]
                    y = conv(x, ins[1], ins[2] if len(ins) > 2 else None, s, pad, d,
                             a.get("group", 1))
                elif op == "DeformConv":
                    y = deform_conv2d(x, ins[2], ins[1], ins[3] if len(ins) > 3 else None,
                                      s[0], pad[0], d[0], ins[4] if len(ins) > 4 else None)
                else:
                    oh, ow, cout, cin, kh, kw = ins[1].shape
                    xp = F.pad(x, [pad[1], pad[1], pad[0], pad[0]])
                    cols = F.unfold(xp, (kh, kw), dilation=d, stride=s)
                    y = torch.einsum("nkp,pok->nop", cols, ins[1].reshape(oh * ow, cout, -1))
                    y = y.reshape(x.shape[0], cout, oh, ow)
                    if len(ins) > 2:
                        y = y + ins[2]
            elif op == "ConvTranspose":
                s = _ints(a.get("strides"), r, 1)
                begin, _ = _pads(n, r)
                y = F.conv_transpose2d(x, ins[1], ins[2] if len(ins) > 2 else None, s, begin,
                                       _ints(a.get("output_padding"), r, 0), a.get("group", 1))
            elif op == "BatchNormalization":
                y = F.batch_norm(x, ins[3], ins[4], ins[1], ins[2], False, 0.0,
                                 a.get("epsilon", 1e-5))
            elif op == "Relu":
                y = F.relu(x)
            elif op == "Clip":
                y = torch.clamp(x, float(ins[1]), float(ins[2]))
            elif op == "HardSwish":
                y = F.hardswish(x)
            elif op == "HardSigmoid":
                y = torch.clamp(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1)
            elif op == "Sigmoid":
                y = torch.sigmoid(x)
            elif op == "Tanh":
                y = torch.tanh(x)
            elif op == "Add":
                y = x + ins[1]
            elif op == "Mul":
                y = x * ins[1]
            elif op == "Concat":
                y = torch.cat(ins, a["axis"])
            elif op == "Split":
                y = torch.split(x, [int(v) for v in ins[1]], a.get("axis", 0))
            elif op in ("MaxPool", "AveragePool"):
                x, pad = _conv_like(x, n, r)
                k = tuple(a["kernel_shape"])
                s = _ints(a.get("strides"), r, 1)
                ceil = bool(a.get("ceil_mode", 0))
                if op == "MaxPool":
                    y = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[r](
                        x, k, s, pad, ceil_mode=ceil)
                else:
                    y = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[r](
                        x, k, s, pad, ceil_mode=ceil,
                        count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
            elif op == "Flatten":
                y = torch.flatten(x, a.get("axis", 1))
            elif op == "Gemm":
                assert a.get("transB") == 1 and not a.get("transA")
                y = F.linear(x, ins[1], ins[2] if len(ins) > 2 else None)
            elif op == "Reshape":
                y = x.reshape([int(v) for v in ins[1]])
            elif op == "Transpose":
                y = x.permute(*a["perm"])
            elif op == "ChannelShuffle":
                y = F.channel_shuffle(x, a["group"])
            elif op == "Resize":
                scale = [float(v) for v in ins[2][2:]]
                if a.get("mode") == "nearest":
                    assert a.get("coordinate_transformation_mode") == "asymmetric"
                    assert a.get("nearest_mode") == "floor"
                    y = F.interpolate(x, scale_factor=scale, mode="nearest")
                else:
                    assert a.get("coordinate_transformation_mode") == "half_pixel"
                    size = [int(s * f) for s, f in zip(x.shape[2:], scale)]
                    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            else:
                raise NotImplementedError(f"run_graph: op {op}")
            if isinstance(y, (tuple, list)):
                for o, t in zip(n.outputs, y):
                    env[o] = t
            else:
                env[n.outputs[0]] = y
    return {v.name: env[v.name].numpy() for v in g.outputs}
