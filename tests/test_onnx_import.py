"""ONNX import (codesign.interop.onnx_import): graphs built with onnx.helper, checked dimension by
dimension against hand computation, plus a ResNet-18 graph (He et al., CVPR 2016, Table 1) that
must reproduce models/resnet18.yaml's MAC layers, MACs and parameters.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from codesign.cli import app
from codesign.errors import CodesignError
from codesign.interop.onnx_import import ImportResult, import_onnx, parse_dims, to_yaml, write_model
from codesign.workload.ir import Layer, VectorOp, Workload
from codesign.workload.zoo import load_model

OPSET = 17


# ---------------------------------------------------------------------------------------------
# helpers

def _input(name: str, shape: list[int | str] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def _int64(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], output: str,
           weights: list[onnx.TensorProto] = (), opset: int = OPSET, domains: tuple[str, ...] = ()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "test", inputs, [_input(output, None)], list(weights))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    return helper.make_model(graph, opset_imports=opsets, producer_name="codesign-tests")


def _load(result: ImportResult, tmp_path: Path, batch: int = 1) -> Workload:
    path = tmp_path / f"{result.document['name']}.yaml"
    write_model(result, path)
    return load_model(str(path), batch=batch)


def _layer(w: Workload, name: str) -> Layer:
    return next(layer for layer in w.layers if layer.name == name)


def _vector(w: Workload, name: str) -> VectorOp:
    return next(v for v in w.vector_ops if v.name == name)


def _dims(layer: Layer) -> dict[str, int]:
    return dict(zip(layer.dims, layer.bounds))


def _entries(result: ImportResult) -> dict[str, dict]:
    return {e["name"]: e for e in result.document["layers"]}


# ---------------------------------------------------------------------------------------------
# convolutions

def test_conv_rectangular_kernel_stride_asymmetric_pads_dilation(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", kernel_shape=[3, 5], strides=[2, 1],
                            pads=[1, 2, 0, 3], dilations=[2, 1])          # ONNX: h_begin, w_begin, h_end, w_end
    result = import_onnx(_model([conv], [_input("x", [1, 4, 20, 30])], "y", [_weight("w", 8, 4, 3, 5), _weight("b", 8)]))
    entry = _entries(result)["conv"]
    assert entry["pad"] == [1, 2, 0, 3]                                     # top, left, bottom, right
    assert entry["stride"] == [2, 1] and entry["dilation"] == [2, 1] and (entry["R"], entry["S"]) == (3, 5)
    layer = _layer(_load(result, tmp_path), "conv")
    P = (20 + 1 + 0 - 2 * (3 - 1) - 1) // 2 + 1                            # = 9
    Q = (30 + 2 + 3 - 1 * (5 - 1) - 1) // 1 + 1                            # = 31
    assert _dims(layer) == {"N": 1, "G": 1, "K": 8, "C": 4, "P": P, "Q": Q, "R": 3, "S": 5}
    assert (P, Q) == (9, 31)
    assert layer.params == 8 * 4 * 3 * 5 + 8                               # weights + bias
    assert layer.tensor("inputs").ranks[3] == ((4, 2), (6, 2))              # row = 2*P + 2*R


def test_conv_groups_and_depthwise(tmp_path: Path) -> None:
    grouped = helper.make_node("Conv", ["x", "wg"], ["g"], name="grouped", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4)
    depthwise = helper.make_node("Conv", ["g", "wd"], ["d"], name="depthwise", kernel_shape=[3, 3], strides=[2, 2],
                                 pads=[1, 1, 1, 1], group=16)
    model = _model([grouped, depthwise], [_input("x", [1, 8, 14, 14])], "d",
                   [_weight("wg", 16, 2, 3, 3), _weight("wd", 16, 1, 3, 3)])
    w = _load(import_onnx(model), tmp_path)
    assert _dims(_layer(w, "grouped")) == {"N": 1, "G": 4, "K": 4, "C": 2, "P": 14, "Q": 14, "R": 3, "S": 3}
    assert _layer(w, "grouped").params == 16 * 2 * 3 * 3
    assert _dims(_layer(w, "depthwise")) == {"N": 1, "G": 16, "K": 1, "C": 1, "P": 7, "Q": 7, "R": 3, "S": 3}
    assert _layer(w, "depthwise").params == 16 * 3 * 3


def test_conv1d_is_conv2d_with_unit_height(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d", kernel_shape=[5], pads=[2, 2])
    w = _load(import_onnx(_model([conv], [_input("x", [1, 16, 100])], "y", [_weight("w", 32, 16, 5)])), tmp_path)
    assert _dims(_layer(w, "conv1d")) == {"N": 1, "G": 1, "K": 32, "C": 16, "P": 1, "Q": 100, "R": 1, "S": 5}


def test_conv_auto_pad_same_upper(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="same", kernel_shape=[4, 4], strides=[2, 2], auto_pad="SAME_UPPER")
    result = import_onnx(_model([conv], [_input("x", [1, 3, 15, 15])], "y", [_weight("w", 8, 3, 4, 4)]))
    assert _entries(result)["same"]["pad"] == [1, 1, 2, 2]      # total (8-1)*2 + 4 - 15 = 3: 1 before, 2 after
    assert _dims(_layer(_load(result, tmp_path), "same"))["P"] == math.ceil(15 / 2)


def test_conv_transpose_stride1_and_kernel_equals_stride(tmp_path: Path) -> None:
    same = helper.make_node("ConvTranspose", ["x", "w1", "b1"], ["y"], name="deconv3", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    up = helper.make_node("ConvTranspose", ["y", "w2"], ["z"], name="up2", kernel_shape=[2, 2], strides=[2, 2])
    model = _model([same, up], [_input("x", [1, 16, 10, 10])], "z",
                   [_weight("w1", 16, 8, 3, 3), _weight("b1", 8), _weight("w2", 8, 4, 2, 2)])
    w = _load(import_onnx(model), tmp_path)
    # stride 1, pad 1: the direct convolution with pad 3-1-1 = 1 and the same 8x16x3x3 weights
    assert _dims(_layer(w, "deconv3")) == {"N": 1, "G": 1, "K": 8, "C": 16, "P": 10, "Q": 10, "R": 3, "S": 3}
    assert _layer(w, "deconv3").params == 16 * 8 * 3 * 3 + 8
    # 2x2 stride 2: every input pixel writes its own 2x2 block: 8 -> 4*2*2 channels, 1x1, over 10x10
    assert _dims(_layer(w, "up2")) == {"N": 1, "G": 1, "K": 16, "C": 8, "P": 10, "Q": 10, "R": 1, "S": 1}
    assert _layer(w, "up2").macs == 8 * 4 * 2 * 2 * 10 * 10 and _layer(w, "up2").params == 8 * 4 * 2 * 2


def test_conv_transpose_with_overlapping_stride_is_an_error() -> None:
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="deconv", kernel_shape=[3, 3], strides=[2, 2])
    with pytest.raises(CodesignError, match=r"node 'deconv' \(ConvTranspose\).*no conv2d equivalent"):
        import_onnx(_model([node], [_input("x", [1, 4, 8, 8])], "y", [_weight("w", 4, 4, 3, 3)]))


# ---------------------------------------------------------------------------------------------
# Gemm and MatMul

def test_gemm_trans_b_weight_and_per_sample_rows(tmp_path: Path) -> None:
    gemm = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)
    model = _model([gemm], [_input("x", [2, 64])], "y", [_weight("w", 32, 64), _weight("b", 32)])
    result = import_onnx(model)
    assert _entries(result)["fc"] == {"name": "fc", "op": "linear", "in": 64, "out": 32, "tokens": 1, "bias": 1}
    w = _load(result, tmp_path, batch=2)                      # the static batch 2 became the loader's batch
    assert _dims(_layer(w, "fc")) == {"B": 1, "G": 1, "H": 1, "M": 2, "N": 32, "K": 64}
    assert _layer(w, "fc").params == 64 * 32 + 32


def test_gemm_trans_a_activation_and_trans_a_weight(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),                       # [64, 3]
        helper.make_node("Gemm", ["xt", "w"], ["y"], name="act_t", transA=1),                     # [3,64] x [64,32]
        helper.make_node("Gemm", ["wa", "xt"], ["z"], name="weight_t", transA=1),                 # [16,64] x [64,3]
        helper.make_node("Add", ["y", "y"], ["o"], name="sum"),
    ]
    model = _model(nodes, [_input("x", ["batch", 64])], "o", [_weight("w", 64, 32), _weight("wa", 64, 16)])
    result = import_onnx(model, dims={"batch": 3})
    w = _load(result, tmp_path)
    assert _dims(_layer(w, "act_t")) == {"B": 1, "G": 1, "H": 1, "M": 1, "N": 32, "K": 64}
    assert _dims(_layer(w, "weight_t")) == {"B": 1, "G": 1, "H": 1, "M": 1, "N": 16, "K": 64}   # 3 columns = batch
    assert _layer(w, "weight_t").params == 64 * 16


def test_matmul_with_weight_is_linear_with_tokens_and_bias(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="proj"),
             helper.make_node("Add", ["h", "b"], ["y"], name="proj_bias")]
    model = _model(nodes, [_input("x", ["batch", "seq", 768])], "y", [_weight("w", 768, 3072), _weight("b", 3072)])
    result = import_onnx(model, dims={"batch": 2, "seq": 128})
    assert _entries(result)["proj"] == {"name": "proj", "op": "linear", "in": 768, "out": 3072, "tokens": 128, "bias": 1}
    w = _load(result, tmp_path)
    assert _dims(_layer(w, "proj")) == {"B": 1, "G": 1, "H": 1, "M": 128, "N": 3072, "K": 768}
    assert _layer(w, "proj").params == 768 * 3072 + 3072 and not w.vector_ops      # bias folded


def _attention(kv_heads: int) -> onnx.ModelProto:
    """Self-attention core with 12 query heads of 64 over [batch, seq, 768] (GQA when kv_heads < 12)."""
    group = 12 // kv_heads
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q0"], name="q_proj"),
        helper.make_node("Reshape", ["q0", "q_shape"], ["q1"], name="q_split"),     # [b, s, kv, group, 64]
        helper.make_node("Transpose", ["q1"], ["q"], name="q_t", perm=[0, 2, 3, 1, 4]),      # [b, kv, g, s, 64]
        helper.make_node("MatMul", ["x", "wk"], ["k0"], name="k_proj"),
        helper.make_node("Reshape", ["k0", "kv_shape"], ["k1"], name="k_split"),    # [b, s, kv, 1, 64]
        helper.make_node("Transpose", ["k1"], ["kt"], name="k_t", perm=[0, 2, 3, 4, 1]),     # [b, kv, 1, 64, s]
        helper.make_node("MatMul", ["x", "wv"], ["v0"], name="v_proj"),
        helper.make_node("Reshape", ["v0", "kv_shape"], ["v1"], name="v_split"),
        helper.make_node("Transpose", ["v1"], ["v"], name="v_t", perm=[0, 2, 3, 1, 4]),      # [b, kv, 1, s, 64]
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["ctx"], name="pv"),
    ]
    weights = [_weight("wq", 768, 768), _weight("wk", 768, 64 * kv_heads), _weight("wv", 768, 64 * kv_heads),
               _int64("q_shape", [0, 0, kv_heads, group, 64]), _int64("kv_shape", [0, 0, kv_heads, 1, 64])]
    return _model(nodes, [_input("x", ["batch", "seq", 768])], "ctx", weights)


def test_batched_matmul_attention_12_heads(tmp_path: Path) -> None:
    result = import_onnx(_attention(kv_heads=12), dims={"batch": 2, "seq": 16})
    entries = _entries(result)
    assert entries["qk"] == {"name": "qk", "op": "matmul", "M": 16, "N": 16, "K": 64, "heads": 12}
    assert entries["pv"] == {"name": "pv", "op": "matmul", "M": 16, "N": 64, "K": 16, "heads": 12}
    assert entries["softmax"] == {"name": "softmax", "op": "softmax", "elements": 12 * 16 * 16}
    w = _load(result, tmp_path, batch=2)
    assert _dims(_layer(w, "qk")) == {"B": 2, "G": 12, "H": 1, "M": 16, "N": 16, "K": 64}
    assert _dims(_layer(w, "pv")) == {"B": 2, "G": 12, "H": 1, "M": 16, "N": 64, "K": 16}
    assert _dims(_layer(w, "q_proj")) == {"B": 1, "G": 1, "H": 1, "M": 2 * 16, "N": 768, "K": 768}


def test_batched_matmul_grouped_query_attention(tmp_path: Path) -> None:
    result = import_onnx(_attention(kv_heads=4), dims={"batch": 1, "seq": 32})
    assert _entries(result)["qk"] == {"name": "qk", "op": "matmul", "M": 32, "N": 32, "K": 64, "heads": 12, "kv_heads": 4}
    w = _load(result, tmp_path)
    assert _dims(_layer(w, "qk")) == {"B": 1, "G": 4, "H": 3, "M": 32, "N": 32, "K": 64}


# ---------------------------------------------------------------------------------------------
# folding and vector operators

def test_batchnorm_folded_into_conv_and_relu_fused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn"),
             helper.make_node("Relu", ["n"], ["r"], name="relu"),
             helper.make_node("BatchNormalization", ["r", "s", "b", "m", "v"], ["y"], name="bn_alone")]
    bn = [_weight(k, 16) for k in "sbmv"]
    result = import_onnx(_model(nodes, [_input("x", [1, 8, 10, 10])], "y", [_weight("w", 16, 8, 3, 3), *bn]))
    assert [e["name"] for e in result.document["layers"]] == ["conv", "relu", "bn_alone"]
    w = _load(result, tmp_path)
    assert _layer(w, "conv").params == 16 * 8 * 3 * 3                       # no bias, BN not counted
    relu = _vector(w, "relu")
    assert (relu.op, relu.elements, relu.fused) == ("relu", 16 * 10 * 10, True)
    alone = _vector(w, "bn_alone")
    assert (alone.op, alone.elements, alone.fused) == ("mul", 16 * 10 * 10, False)


def test_maxpool_with_padding_and_ceil_mode(tmp_path: Path) -> None:
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("MaxPool", ["x"], ["q"], name="ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             helper.make_node("Add", ["p", "q"], ["y"], name="add")]
    result = import_onnx(_model(nodes, [_input("x", [1, 8, 16, 16])], "y"))
    assert _entries(result)["ceil"]["pad"] == [0, 0, 1, 1]       # ceil((16-3)/2)+1 = 8 = floor((16+1-3)/2)+1
    w = _load(result, tmp_path)
    pool = _vector(w, "pool")                                     # both pools: identical, deduplicated
    assert (pool.op, pool.elements, pool.ops_per_element, pool.count) == ("maxpool", 8 * 8 * 8, 9, 2)  # (16+2-3)//2+1
    add = _vector(w, "add")
    assert (add.op, add.elements, add.input_elements) == ("add", 512, 1024)


def test_global_average_pool(tmp_path: Path) -> None:
    node = helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")
    w = _load(import_onnx(_model([node], [_input("x", [1, 32, 7, 5])], "y")), tmp_path)
    gap = _vector(w, "gap")
    assert (gap.op, gap.elements, gap.ops_per_element, gap.input_elements) == ("globalavgpool", 32, 7 * 5, 32 * 7 * 5)


def test_gelu_layernorm_and_shape_arithmetic(tmp_path: Path) -> None:
    """PyTorch-style shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) yields no entries."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc1"),
             helper.make_node("Gelu", ["h"], ["g"], name="gelu"),
             helper.make_node("Shape", ["g"], ["shape"], name="shape"),
             helper.make_node("Constant", [], ["zero"], name="const0", value=numpy_helper.from_array(np.array(0, np.int64))),
             helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather_batch", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsqueeze"),
             helper.make_node("Concat", ["n1", "minus_one"], ["target"], name="concat", axis=0),
             helper.make_node("Reshape", ["g", "target"], ["r"], name="reshape"),                   # [1, 640]
             helper.make_node("LayerNormalization", ["r", "gamma"], ["y"], name="ln", axis=-1)]
    weights = [_weight("w", 32, 64), _weight("gamma", 640), _int64("axes", [0]), _int64("minus_one", [-1])]
    result = import_onnx(_model(nodes, [_input("x", [1, 10, 32])], "y", weights, opset=20))
    assert [e["name"] for e in result.document["layers"]] == ["fc1", "gelu", "ln"]
    assert _entries(result)["fc1"] == {"name": "fc1", "op": "linear", "in": 32, "out": 64, "tokens": 10}
    assert _entries(result)["gelu"] == {"name": "gelu", "op": "gelu", "elements": 640, "fused": True}
    assert _entries(result)["ln"] == {"name": "ln", "op": "layernorm", "elements": 640}
    assert not result.warnings


# ---------------------------------------------------------------------------------------------
# bad input

def test_unknown_ops_become_generic_vector_ops_listed_in_a_warning(tmp_path: Path) -> None:
    nodes = [helper.make_node("Erf", ["x"], ["e1"], name="erf1"),
             helper.make_node("Tanh", ["e1"], ["t"], name="tanh"),
             helper.make_node("Erf", ["t"], ["y"], name="erf2")]
    result = import_onnx(_model(nodes, [_input("x", [1, 4, 6])], "y"))
    assert len(result.warnings) == 1
    assert "Erf (2)" in result.warnings[0] and "Tanh (1)" in result.warnings[0]
    assert _entries(result)["erf1"] == {"name": "erf1", "op": "add", "elements": 24}
    erf = _vector(_load(result, tmp_path), "erf1")
    assert (erf.ops_per_element, erf.elements) == (1, 24)


def test_unknown_op_without_inferred_shape_names_the_node() -> None:
    node = helper.make_node("Mystery", ["x"], ["y"], name="mystery_1", domain="com.example")
    with pytest.raises(CodesignError, match=r"node 'mystery_1' \(Mystery\).*could not infer its output shape"):
        import_onnx(_model([node], [_input("x", [1, 8])], "y", domains=("com.example",)))


def test_shape_inference_gap_names_the_node() -> None:
    nodes = [helper.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
             helper.make_node("Relu", ["r"], ["y"], name="relu_after_dynamic_reshape")]
    inputs = [_input("x", [1, 64]), helper.make_tensor_value_info("target", TensorProto.INT64, [2])]
    with pytest.raises(CodesignError, match=r"node 'relu_after_dynamic_reshape' \(Relu\).*could not infer the shape"):
        import_onnx(_model(nodes, inputs, "y"))


def test_missing_dynamic_dim_names_input_and_flag() -> None:
    node = helper.make_node("Relu", ["ids"], ["y"], name="relu")
    model = _model([node], [_input("ids", ["batch", "seq"])], "y")
    with pytest.raises(CodesignError) as err:
        import_onnx(model, dims={"batch": 1})
    assert "'seq' (input 'ids', axis 1)" in str(err.value) and "--dim seq=VALUE" in str(err.value)
    with pytest.raises(CodesignError, match=r"no dynamic dimension 'seq_len' \(did you mean 'seq'\?\)"):
        import_onnx(model, dims={"batch": 1, "seq": 8, "seq_len": 8})


def test_group_not_dividing_channels() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="bad_group", kernel_shape=[3, 3], group=3)
    with pytest.raises(CodesignError, match=r"node 'bad_group' \(Conv\).*group=3 must divide the input channels \(C=8\)"):
        import_onnx(_model([node], [_input("x", [1, 8, 10, 10])], "y", [_weight("w", 6, 2, 3, 3)]))


def test_file_that_is_not_onnx(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_text("name: resnet18\nlayers: []\n")
    with pytest.raises(CodesignError, match="not an ONNX model") as err:
        import_onnx(path)
    assert str(path) in str(err.value)
    with pytest.raises(CodesignError, match="does not exist"):
        import_onnx(tmp_path / "missing.onnx")


def test_parse_dims() -> None:
    assert parse_dims(["batch=1", " seq = 128 "]) == {"batch": 1, "seq": 128}
    for bad in ("batch", "batch=x", "=3", "seq=0"):
        with pytest.raises(CodesignError, match="NAME=POSITIVE_INTEGER"):
            parse_dims([bad])


# ---------------------------------------------------------------------------------------------
# CLI

def _small_cnn() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"], name="stem", kernel_shape=[3, 5], strides=[2, 1], pads=[1, 2, 1, 2]),
             helper.make_node("Relu", ["c"], ["r"], name="stem_relu"),
             helper.make_node("Erf", ["r"], ["e"], name="odd"),
             helper.make_node("GlobalAveragePool", ["e"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1)]
    weights = [_weight("w", 16, 3, 3, 5), _weight("fc_w", 10, 16), _weight("fc_b", 10)]
    return _model(nodes, [_input("image", ["batch", 3, 32, 32])], "y", weights)


def test_cli_import_round_trip(tmp_path: Path) -> None:
    src, out = tmp_path / "small_cnn.onnx", tmp_path / "models" / "small.yaml"
    onnx.save(_small_cnn(), src)
    result = CliRunner().invoke(app, ["import", str(src), "-o", str(out), "--name", "small", "--dim", "batch=4"])
    assert result.exit_code == 0, result.output
    assert "small: 5 layers (2 MAC, 3 vector)" in result.stdout
    assert "warning:" in result.stderr and "Erf (1)" in result.stderr
    w = load_model(str(out), batch=4)
    assert w.model == "small"
    assert _dims(_layer(w, "stem")) == {"N": 4, "G": 1, "K": 16, "C": 3, "P": 16, "Q": 32, "R": 3, "S": 5}
    assert _dims(_layer(w, "fc")) == {"B": 1, "G": 1, "H": 1, "M": 4, "N": 10, "K": 16}
    assert w.total_params == 16 * 3 * 3 * 5 + 16 * 10 + 10
    assert out.read_text().startswith("# Generated by `codesign import`")


def test_cli_import_errors(tmp_path: Path) -> None:
    src = tmp_path / "small_cnn.onnx"
    onnx.save(_small_cnn(), src)
    missing = CliRunner().invoke(app, ["import", str(src), "-o", str(tmp_path / "a.yaml")])
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"error: {src}: dynamic dimension(s) without a value: 'batch'")
    assert "--dim batch=VALUE" in missing.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 this is not protobuf \xff")
    garbage = CliRunner().invoke(app, ["import", str(bad), "-o", str(tmp_path / "b.yaml")])
    assert garbage.exit_code == 1 and f"error: {bad}: not an ONNX model" in garbage.stderr
    assert not (tmp_path / "b.yaml").exists()


# ---------------------------------------------------------------------------------------------
# ResNet-18 (He et al., CVPR 2016, Table 1) built with onnx.helper

def _resnet18() -> onnx.ModelProto:
    """torchvision-style ResNet-18: conv/BN/ReLU stem, 3x3 max pool, 4 stages of 2 basic blocks, GAP, fc."""
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []

    def conv_bn(x: str, name: str, cin: int, cout: int, k: int, stride: int, relu: bool) -> str:
        weights.append(_weight(f"{name}.weight", cout, cin, k, k))
        weights.extend(_weight(f"{name}.bn.{p}", cout) for p in ("scale", "bias", "mean", "var"))
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight"], [f"{name}.out"], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        nodes.append(helper.make_node("BatchNormalization", [f"{name}.out"] + [f"{name}.bn.{p}" for p in
                                      ("scale", "bias", "mean", "var")], [f"{name}.bn"], name=f"{name}.bn"))
        if not relu:
            return f"{name}.bn"
        nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.relu"], name=f"{name}.relu"))
        return f"{name}.relu"

    x = conv_bn("input", "conv1", 3, 64, 7, 2, relu=True)
    nodes.append(helper.make_node("MaxPool", [x], ["maxpool"], name="maxpool", kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    x, cin = "maxpool", 64
    for stage, (cout, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
        for block in range(2):
            s, name = (stride if block == 0 else 1), f"layer{stage}.{block}"
            y = conv_bn(x, f"{name}.conv1", cin, cout, 3, s, relu=True)
            y = conv_bn(y, f"{name}.conv2", cout, cout, 3, 1, relu=False)
            shortcut = conv_bn(x, f"{name}.downsample", cin, cout, 1, s, relu=False) if (s, cin) != (1, cout) else x
            nodes.append(helper.make_node("Add", [y, shortcut], [f"{name}.add"], name=f"{name}.add"))
            nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"], name=f"{name}.relu"))
            x, cin = f"{name}.out", cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="avgpool"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1))
    weights += [_weight("fc.weight", 1000, 512), _weight("fc.bias", 1000)]
    return _model(nodes, [_input("input", ["batch", 3, 224, 224])], "logits", weights)


def _mac_counts(w: Workload) -> Counter:
    """The multiset of MAC layers: (op, loop bounds) -> occurrences."""
    counts: Counter = Counter()
    for layer in w.layers:
        counts[(layer.op, layer.bounds)] += layer.count
    return counts


def test_resnet18_graph_reproduces_the_zoo_model(tmp_path: Path) -> None:
    result = import_onnx(_resnet18(), name="resnet18_onnx", dims={"batch": 2})
    assert not result.warnings
    imported, zoo = _load(result, tmp_path), load_model("resnet18")
    assert _mac_counts(imported) == _mac_counts(zoo)
    assert sum(layer.count for layer in imported.layers) == 21                   # 20 convolutions + fc
    assert imported.total_macs == zoo.total_macs
    assert imported.total_params == zoo.total_params == 11_689_512 - 9_600       # BN folded, not counted
    kinds = Counter((v.op, v.fused) for v in imported.vector_ops for _ in range(v.count))
    assert kinds == {("relu", True): 9, ("relu", False): 8, ("add", False): 8, ("maxpool", False): 1,
                     ("globalavgpool", False): 1}
    assert _load(result, tmp_path, batch=2).total_macs == 2 * zoo.total_macs


def test_to_yaml_one_flow_line_per_layer(tmp_path: Path) -> None:
    result = import_onnx(_small_cnn(), dims={"batch": 1})
    text = to_yaml(result.document)
    assert "\nlayers:\n- {name: stem, op: conv2d, C: 3, K: 16, H: 32, W: 32, R: 3, S: 5, stride: [2, 1], pad: [1, 2]}\n" in text
    path = tmp_path / "m.yaml"
    path.write_text(text)
    assert load_model(str(path)).total_macs == 16 * 3 * 3 * 5 * 16 * 32 + 16 * 10
