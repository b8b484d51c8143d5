"""Model files against published totals, and the operator IR against closed forms.

Published figures: ResNet-18 at 224x224 has 1.814 G multiply-accumulates and 11.69 M
parameters (He et al., CVPR 2016; torchvision's model card: 1.81 GFLOPS, 11,689,512 params);
MobileNetV2 1.0 at 224x224 has 300 M multiply-adds and 3.4 M parameters (Sandler et al.,
CVPR 2018, Table 4; torchvision: 0.30 GFLOPS, 3,504,872 params). Our files count
convolutions and classifiers only, so parameters exclude batch-norm (9,600 for ResNet-18,
34,112 for MobileNetV2: 2 per channel of every BN layer).
"""

import math

import pytest

from codesign.errors import CodesignError
from codesign.workload.ir import Layer
from codesign.workload.ops import conv2d, linear, matmul
from codesign.workload.zoo import load_model, model_names


def test_resnet18_totals():
    w = load_model("resnet18")
    assert w.total_macs == pytest.approx(1.814e9, rel=1e-3)
    assert w.total_params + 9_600 == 11_689_512


def test_mobilenetv2_totals():
    w = load_model("mobilenetv2")
    assert w.total_macs == pytest.approx(300e6, rel=0.01)
    assert w.total_params + 34_112 == 3_504_872


def test_batch_scales_macs_not_params():
    one, four = load_model("resnet18"), load_model("resnet18", batch=4)
    assert four.total_macs == 4 * one.total_macs
    assert four.total_params == one.total_params


def test_deduplication_keeps_counts():
    w = load_model("resnet18")
    assert sum(layer.count for layer in w.layers) == 21   # 20 convolutions + fc
    assert len(w.layers) < 21


def _brute_force_macs(layer: Layer) -> int:
    return math.prod(layer.bounds)


def test_conv_output_size_closed_form():
    layer = conv2d("c", {"C": 3, "K": 8, "H": 224, "R": 7, "stride": 2, "pad": 3}, 1, 1)
    dims = dict(zip(layer.dims, layer.bounds))
    assert dims["P"] == dims["Q"] == 112                    # floor((224 + 6 - 7) / 2) + 1
    inputs = layer.tensor("inputs")
    assert inputs.size(layer.bounds) == 3 * 229 * 229       # 2*(112-1) + 7 = 229 rows touched


def test_depthwise_has_one_channel_per_group():
    layer = conv2d("dw", {"C": 32, "K": 32, "H": 16, "R": 3, "pad": 1, "groups": 32}, 1, 1)
    dims = dict(zip(layer.dims, layer.bounds))
    assert (dims["G"], dims["K"], dims["C"]) == (32, 1, 1)
    assert layer.macs == 32 * 16 * 16 * 9
    assert layer.params == 32 * 9


def test_gemm_shapes():
    fc = linear("fc", {"in": 512, "out": 1000, "tokens": 3, "bias": 1}, 2, 1)
    assert fc.macs == 6 * 512 * 1000 and fc.params == 512 * 1000 + 1000
    attn = matmul("qk", {"M": 128, "N": 128, "K": 64, "heads": 12}, 1, 1)
    assert attn.macs == 12 * 128 * 128 * 64 and attn.params == 0


def test_unknown_model_suggests():
    with pytest.raises(CodesignError, match="did you mean 'resnet18'"):
        load_model("resnet81")
    assert {"resnet18", "mobilenetv2"} <= set(model_names())
