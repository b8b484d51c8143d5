"""CNN and TinyML model files against published totals and closed forms.

Every expected figure is written here from the cited source (never read from a file's
``totals``), and every file is also checked layer by layer against a closed form computed
here from the architecture constants. What the IR counts: multiply-accumulates (MACs) of
conv2d / linear layers and their parameters (weights + biases). Batch norm is folded into the
convolutions (inference), so a reference implementation's parameter count exceeds the file's
by 2 parameters (BN weight and bias) per BN channel; that difference is computed exactly below.

Published figures (224x224 unless stated):

- AlexNet, torchvision variant (Krizhevsky, "One weird trick for parallelizing convolutional
  neural networks", arXiv:1404.5997, 2014: 64-192-384-256-256 channels); torchvision ``alexnet``
  model card: 0.71 GFLOPS (MACs; 0.714 G to three figures), 61,100,840 params. No BN.
- VGG-16: Simonyan & Zisserman, ICLR 2015, Table 1 configuration D, Table 2 (138 M params);
  torchvision ``vgg16`` model card: 15.47 GFLOPS (MACs), 138,357,544 params. No BN.
- ResNet-50 v1.5: He et al., CVPR 2016, Table 1 (50-layer), with torchvision's stride on the
  3x3 of each downsampling bottleneck; torchvision ``resnet50`` model card: 4.09 GFLOPS (MACs),
  25,557,032 params, of which 53,120 are BN (26,560 BN channels).
- EfficientNet-B0: Tan & Le, ICML 2019, Table 1 (architecture) and Table 2 (0.39 B FLOPs, which
  are multiply-adds, and 5.3 M params); torchvision ``efficientnet_b0``: 5,288,548 params, of
  which 42,016 are BN (21,008 BN channels). 0.39 B is given to two significant figures, so the
  test asserts the file's count rounds to it (0.385 to 0.395 G); the file has 385.8 M.
- DS-CNN (small): Zhang, Suda, Lai, Chandra, "Hello Edge: Keyword Spotting on Microcontrollers",
  arXiv:1711.07128, 2017, Table 7: DS-CNN S 38.6 KB memory, 5.4 M operations (M: 189.2 KB,
  19.8 M; L: 497.6 KB, 56.9 M). Layer sizes from the authors' ML-KWS-for-MCU train_commands.txt
  (49 frames x 10 MFCC). The paper counts "operations" as a multiply and an add per MAC plus one
  add per bias, and "memory" as 8-bit weights (BN folded) plus the two largest consecutive 8-bit
  activation buffers; the closed forms below reproduce all three variants' table entries.
- ResNet-18 and MobileNetV2 (also in tests/test_workloads.py): 1.814 G MACs, 11,689,512 params
  (9,600 BN); 300 M MACs, 3,504,872 params (34,112 BN).
"""

import math
from pathlib import Path

import pytest
import yaml

from codesign.workload.zoo import MODELS_DIR, load_model, model_names

CNN_MODELS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenetv2", "efficientnet_b0", "ds_cnn")
ACTIVATIONS = ("relu", "gelu", "silu", "sigmoid")


def _out(size, kernel, stride=1, pad=0):
    """Output size of a convolution / pooling window with symmetric padding ``pad``."""
    return (size + 2 * pad - kernel) // stride + 1


class Net:
    """Closed-form accumulator: MACs, params (weights + biases) and BN channels of a network."""

    def __init__(self):
        self.macs = self.conv_macs = self.params = self.bn = 0

    def conv(self, cin, cout, k, size, stride=1, pad=0, groups=1, bias=False, bn=True):
        """A k x k convolution on a size x size map; returns the output size."""
        p = _out(size, k, stride, pad)
        weights = cout * (cin // groups) * k * k
        self.macs += weights * p * p
        self.conv_macs += weights * p * p
        self.params += weights + (cout if bias else 0)
        self.bn += cout if bn else 0
        return p

    def fc(self, n_in, n_out, bias=True):
        self.macs += n_in * n_out
        self.params += n_in * n_out + (n_out if bias else 0)


def alexnet(image=224):
    n = Net()
    h = n.conv(3, 64, 11, image, 4, 2, bias=True, bn=False)
    h = _out(h, 3, 2)
    h = n.conv(64, 192, 5, h, 1, 2, bias=True, bn=False)
    h = _out(h, 3, 2)
    for cin, cout in ((192, 384), (384, 256), (256, 256)):
        h = n.conv(cin, cout, 3, h, 1, 1, bias=True, bn=False)
    for a, b in ((256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)):   # adaptive pool to 6x6
        n.fc(a, b)
    return n


def vgg16(image=224):
    n = Net()
    h, cin = image, 3
    for group in ([64] * 2, [128] * 2, [256] * 3, [512] * 3, [512] * 3):
        for cout in group:
            h = n.conv(cin, cout, 3, h, 1, 1, bias=True, bn=False)
            cin = cout
        h = _out(h, 2, 2)
    for a, b in ((512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)):   # adaptive pool to 7x7
        n.fc(a, b)
    return n


def resnet(blocks, bottleneck, image=224):
    n = Net()
    h = n.conv(3, 64, 7, image, 2, 3)
    h = _out(h, 3, 2, 1)
    cin = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        for b in range(count):
            stride = 2 if (b == 0 and stage > 0) else 1
            if bottleneck:                                   # v1.5: stride on the 3x3
                n.conv(cin, planes, 1, h)
                h2 = n.conv(planes, planes, 3, h, stride, 1)
                cout = 4 * planes
                n.conv(planes, cout, 1, h2)
            else:
                h2 = n.conv(cin, planes, 3, h, stride, 1)
                cout = planes
                n.conv(planes, planes, 3, h2, 1, 1)
            if stride != 1 or cin != cout:
                n.conv(cin, cout, 1, h, stride)
            h, cin = h2, cout
    n.fc(cin, 1000)
    return n


def mobilenetv2(image=224):
    n = Net()
    h = n.conv(3, 32, 3, image, 2, 1)
    cin = 32
    for t, c, reps, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                          (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(reps):
            hidden = cin * t
            if t != 1:
                n.conv(cin, hidden, 1, h)
            h = n.conv(hidden, hidden, 3, h, s if i == 0 else 1, 1, groups=hidden)
            n.conv(hidden, c, 1, h)
            cin = c
    n.conv(320, 1280, 1, h)
    n.fc(1280, 1000)
    return n


def efficientnet_b0(image=224):
    n = Net()
    h = n.conv(3, 32, 3, image, 2, 1)
    for t, k, s, c_in, c_out, reps in ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                       (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                                       (6, 3, 1, 192, 320, 1)):
        for i in range(reps):
            cin = c_in if i == 0 else c_out
            hidden = cin * t
            if t != 1:
                n.conv(cin, hidden, 1, h)
            h = n.conv(hidden, hidden, k, h, s if i == 0 else 1, k // 2, groups=hidden)
            squeeze = max(1, cin // 4)                        # SE ratio 0.25 of the block input
            n.fc(hidden, squeeze)
            n.fc(squeeze, hidden)
            n.conv(hidden, c_out, 1, h)
    n.conv(320, 1280, 1, h)
    n.fc(1280, 1000)
    return n


def ds_cnn(features, first_stride, ds_strides, frames=49, coeffs=10):
    """Hello Edge DS-CNN: conv 10x4 ('SAME', stride first_stride), then 3x3 depthwise-separable layers, all with bias.

    Returns the network and its (operations, memory bytes) as the paper counts them.
    """
    n = Net()
    t, f = math.ceil(frames / first_stride[0]), math.ceil(coeffs / first_stride[1])   # 'SAME' padding
    weights = features * 10 * 4
    n.macs = n.conv_macs = weights * t * f
    n.params = weights + features
    bias_adds, buffers = features * t * f, [frames * coeffs + features * t * f]
    for stride in ds_strides:
        t2, f2 = math.ceil(t / stride), math.ceil(f / stride)
        for weights in (features * 3 * 3, features * features):          # depthwise, pointwise
            n.macs += weights * t2 * f2
            n.conv_macs += weights * t2 * f2
            n.params += weights + features
            bias_adds += features * t2 * f2
        buffers.append(features * t * f + features * t2 * f2)
        t, f = t2, f2
    n.fc(features, 12)
    bias_adds += 12
    return n, 2 * n.macs + bias_adds, n.params + max(buffers)


DS_CNN_S = ((64, (2, 2), (1, 1, 1, 1)), 5.4e6, 38.6e3)       # (features, conv stride, DS strides), ops, bytes
DS_CNN_M = ((172, (2, 1), (2, 1, 1, 1)), 19.8e6, 189.2e3)
DS_CNN_L = ((276, (2, 1), (2, 1, 1, 1, 1)), 56.9e6, 497.6e3)

CLOSED_FORM = {
    "alexnet": alexnet, "vgg16": vgg16, "resnet18": lambda image=224: resnet((2, 2, 2, 2), False, image),
    "resnet50": lambda image=224: resnet((3, 4, 6, 3), True, image), "mobilenetv2": mobilenetv2,
    "efficientnet_b0": efficientnet_b0,
}


def _split(w):
    """(conv MACs, linear MACs) of a workload."""
    conv = sum(layer.macs * layer.count for layer in w.layers if layer.op == "conv2d")
    return conv, w.total_macs - conv


def _doc(name):
    return yaml.safe_load((Path(MODELS_DIR) / f"{name}.yaml").read_text())


# ================================================================ published totals

def test_alexnet_published():
    w = load_model("alexnet")
    assert w.total_macs == pytest.approx(0.714e9, rel=0.01)
    assert w.total_params == 61_100_840                     # no BN: the same things as torchvision


def test_vgg16_published():
    w = load_model("vgg16")
    assert w.total_macs == pytest.approx(15.47e9, rel=0.01)
    assert w.total_params == 138_357_544                    # no BN
    assert w.total_params == pytest.approx(138.36e6, rel=0.01)


def test_resnet50_published():
    w = load_model("resnet50")
    assert w.total_macs == pytest.approx(4.09e9, rel=0.01)
    bn = resnet((3, 4, 6, 3), True).bn
    assert 2 * bn == 53_120
    assert w.total_params + 2 * bn == 25_557_032
    assert w.total_params + 2 * bn == pytest.approx(25.56e6, rel=0.01)


def test_efficientnet_b0_published():
    w = load_model("efficientnet_b0")
    assert round(w.total_macs / 1e9, 2) == 0.39             # 0.39 B, two significant figures
    bn = efficientnet_b0().bn
    assert 2 * bn == 42_016
    assert w.total_params + 2 * bn == 5_288_548             # torchvision efficientnet_b0
    assert w.total_params + 2 * bn == pytest.approx(5.3e6, rel=0.01)


def test_ds_cnn_s_published():
    """Table 7's 5.4 M operations and 38.6 KB memory for DS-CNN S, from the file's layers."""
    w = load_model("ds_cnn")
    bias_adds = sum(layer.tensor("outputs").size(layer.bounds) * layer.count for layer in w.layers)
    assert 2 * w.total_macs + bias_adds == pytest.approx(5.4e6, rel=0.01)
    largest_pair = 2 * 64 * 25 * 5                          # two 25x5x64 8-bit activation buffers
    assert w.total_params + largest_pair == pytest.approx(38.6e3, rel=0.01)


@pytest.mark.parametrize("sizes, ops, memory", [DS_CNN_S, DS_CNN_M, DS_CNN_L], ids=["S", "M", "L"])
def test_hello_edge_counting_convention(sizes, ops, memory):
    """The ops/memory convention used above reproduces all three DS-CNN rows of Table 7 (to 0.1 M / 0.1 KB)."""
    _, got_ops, got_memory = ds_cnn(*sizes)
    assert round(got_ops / 1e6, 1) == pytest.approx(ops / 1e6)
    assert round(got_memory / 1e3, 1) == pytest.approx(memory / 1e3)


def test_resnet18_mobilenetv2_published():
    r18, mb2 = load_model("resnet18"), load_model("mobilenetv2")
    assert r18.total_macs == pytest.approx(1.814e9, rel=1e-3)
    assert r18.total_params + 2 * CLOSED_FORM["resnet18"]().bn == 11_689_512
    assert mb2.total_macs == pytest.approx(300e6, rel=0.01)
    assert mb2.total_params + 2 * mobilenetv2().bn == 3_504_872


# ================================================================ closed forms, layer by layer

@pytest.mark.parametrize("name", sorted(CLOSED_FORM))
@pytest.mark.parametrize("image", [224, 225, 448])
def test_matches_closed_form(name, image):
    """MACs and params equal the architecture's closed form, also at odd resolutions (torchvision's sizes)."""
    if name == "alexnet" and image != 224 or name == "vgg16" and image % 32:
        pytest.skip("the fixed-size classifier follows an adaptive pool the IR cannot express; see the file")
    w, n = load_model(name, overrides={"image": image}), CLOSED_FORM[name](image)
    assert _split(w)[0] == n.conv_macs
    assert w.total_macs == n.macs
    assert w.total_params == n.params


def test_ds_cnn_matches_closed_form():
    w = load_model("ds_cnn")
    n, _, _ = ds_cnn(*DS_CNN_S[0])
    assert (w.total_macs, w.total_params) == (n.macs, n.params) == (2_656_768, 22_604)
    longer = load_model("ds_cnn", overrides={"frames": 99})   # 2 s of audio at 20 ms stride
    n, _, _ = ds_cnn(*DS_CNN_S[0], frames=99)
    assert longer.total_macs == n.macs and _split(longer)[0] == n.conv_macs


# ================================================================ the files' own totals

@pytest.mark.parametrize("name", CNN_MODELS)
def test_totals_field_agrees(name):
    """The file's ``totals`` match what it loads to within 1%, or its note states the loaded count."""
    doc, w = _doc(name), load_model(name)
    assert doc["family"] in ("cnn", "tinyml")
    assert doc["source"] and doc["description"]
    totals = doc["totals"]
    for key, loaded in (("macs", w.total_macs), ("params", w.total_params)):
        if abs(loaded / totals[key] - 1) > 0.01:
            assert f"{loaded:,}" in totals["note"], f"{name}: {key} {loaded:,} vs totals {totals[key]:,}"


# ================================================================ non-MAC operators

EXPECTED_VECTOR_OPS = {   # op -> occurrences (sum of counts)
    "alexnet": {"relu": 7, "maxpool": 3},
    "vgg16": {"relu": 15, "maxpool": 5},
    "resnet18": {"relu": 17, "maxpool": 1, "add": 8, "globalavgpool": 1},
    "resnet50": {"relu": 49, "maxpool": 1, "add": 16, "globalavgpool": 1},
    "mobilenetv2": {"relu": 35, "add": 10, "globalavgpool": 1},
    "efficientnet_b0": {"silu": 49, "sigmoid": 16, "mul": 16, "add": 9, "globalavgpool": 17},
    "ds_cnn": {"relu": 9, "globalavgpool": 1},
}


@pytest.mark.parametrize("name", CNN_MODELS)
def test_vector_op_inventory(name):
    got: dict[str, int] = {}
    for op in load_model(name).vector_ops:
        got[op.op] = got.get(op.op, 0) + op.count
    assert got == EXPECTED_VECTOR_OPS[name]


def _value(expr, symbols):
    return expr if isinstance(expr, (int, bool, list)) else eval(expr, {"__builtins__": {}}, dict(symbols))


def _pads(pad):
    if isinstance(pad, list):
        return (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else tuple(pad)
    return (pad,) * 4


def _pair(v):
    return (v[0], v[1]) if isinstance(v, list) else (v, v)


@pytest.mark.parametrize("name", CNN_MODELS)
@pytest.mark.parametrize("scale", [1, 2])
def test_dataflow_and_element_counts(name, scale):
    """Walk each file in order: every conv/pool reads a tensor produced earlier (or the input), every
    activation is fused and covers exactly its producer's output, every residual add / SE scale covers
    the output it combines, and every linear reads a produced tensor's size."""
    doc = _doc(name)
    symbols = dict(doc["params"])
    for key in ("image", "frames"):
        if key in symbols:
            symbols[key] *= scale
    if name in ("alexnet", "vgg16") and scale != 1:
        pytest.skip("the classifier input is fixed by an adaptive pool the IR cannot express")
    if "image" in symbols:
        produced = [(3, symbols["image"], symbols["image"])]
    else:
        produced = [(1, symbols["frames"], symbols["coeffs"])]
    last = produced[0]            # output of the latest producer (conv, linear, add, mul, pool)
    last_conv = None
    se_input = None
    for entry in doc["layers"]:
        e = {k: _value(v, symbols) for k, v in entry.items() if k not in ("name", "op")}
        op, where = entry["op"], entry["name"]
        if op == "conv2d" or op in ("maxpool", "avgpool", "globalavgpool"):
            shape = (e["C"], e["H"], e.get("W", e["H"]))
            assert shape in produced, f"{where} reads {shape}, never produced"
        if op == "conv2d":
            r = e.get("R", 1)
            s = e.get("S", r)
            sh, sw = _pair(e.get("stride", 1))
            top, left, bottom, right = _pads(e.get("pad", 0))
            last = last_conv = (e["K"], (e["H"] + top + bottom - r) // sh + 1, (shape[2] + left + right - s) // sw + 1)
        elif op in ("maxpool", "avgpool"):
            r = e["R"]
            st = e.get("stride", 1)
            top, left, bottom, right = _pads(e.get("pad", 0))
            last = (e["C"], (e["H"] + top + bottom - r) // st + 1, (shape[2] + left + right - r) // st + 1)
        elif op == "globalavgpool":
            se_input = shape
            last = (e["C"], 1, 1)
        elif op == "linear":
            assert e["in"] in {math.prod(p) for p in produced}, f"{where} reads {e['in']} values, never produced"
            last = (e["out"], 1, 1)
        elif op in ACTIVATIONS:
            assert e.get("fused") is True, f"{where}: activations are fused into their producer"
            assert e["elements"] == math.prod(last), f"{where}: {e['elements']} elements, producer has {last}"
        elif op == "add":
            assert e["elements"] == math.prod(last_conv), f"{where}: {e['elements']} vs {last_conv}"
            last = last_conv
        elif op == "mul":
            assert e["elements"] == math.prod(se_input), f"{where}: {e['elements']} vs {se_input}"
            last = se_input
        else:
            pytest.fail(f"{where}: unexpected op {op}")
        produced.append(last)


# ================================================================ resolution and batch

def test_resolution_scales_conv_macs():
    """ResNet-50 at 448x448: every feature map doubles per side, so conv MACs are exactly 4x; the classifier is unchanged."""
    base, big = load_model("resnet50"), load_model("resnet50", overrides={"image": 448})
    (conv, fc), (conv4, fc4) = _split(base), _split(big)
    assert conv4 == 4 * conv
    assert fc4 == fc == 2048 * 1000
    assert big.total_macs == pytest.approx(4 * base.total_macs, rel=0.001)
    assert big.total_params == base.total_params
    for op, op4 in zip(base.vector_ops, big.vector_ops):
        assert op4.elements == (op.elements if op.op == "globalavgpool" else 4 * op.elements)


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "mobilenetv2", "efficientnet_b0"])
def test_resolution_parameter(name):
    base, big = load_model(name), load_model(name, overrides={"image": 448})
    (conv, fc), (conv4, fc4) = _split(base), _split(big)
    assert (conv4, fc4) == (4 * conv, fc)
    small = load_model(name, overrides={"image": 160})              # 5x5 last feature map instead of 7x7
    assert _split(small)[0] * 224 ** 2 == conv * 160 ** 2


@pytest.mark.parametrize("name", CNN_MODELS)
def test_batch_two_doubles_macs(name):
    one, two = load_model(name), load_model(name, batch=2)
    assert two.total_macs == 2 * one.total_macs
    assert two.total_params == one.total_params
    assert [op.elements for op in two.vector_ops] == [2 * op.elements for op in one.vector_ops]


def test_models_listed():
    assert set(CNN_MODELS) <= set(model_names())
