"""Transformer, LLM and recommendation model files against closed forms and published totals.

Every expected figure is derived here from the architecture constants of the cited source,
independently of the model files; the files' own ``totals`` are then checked against the
same figures. What the IR counts: multiply-accumulates (MACs) of conv2d / linear / matmul
layers, and the parameters of those layers (weights + biases). What it cannot carry, so
the published parameter counts are reached by adding it back explicitly:

- embedding tables (BERT word/position/type, Llama input embeddings, ViT [CLS] token and
  position embeddings, DLRM tables): lookups (gathers) with no MACs and no IR op;
- LayerNorm / RMSNorm scale (and shift) vectors: vector ops carry no parameters.

Sources:

- ViT-B/16: Dosovitskiy et al., ICLR 2021, Table 1 (12 layers, hidden 768, MLP 3072,
  12 heads, patch 16, 86M params); torchvision ``vit_b_16`` model card: 17.56 GFLOPS
  (MACs) and 86,567,656 parameters at 224x224.
- BERT-Base: Devlin et al., NAACL 2019, Sec. 3 (L=12, H=768, A=12, "110M" parameters);
  HuggingFace ``bert-base-uncased`` config (vocab 30522, 512 positions, 2 token types,
  intermediate 3072): BertModel has 109,482,240 parameters.
- Llama 3 8B: Meta's model card and ``config.json`` of meta-llama/Meta-Llama-3-8B (hidden
  4096, 32 layers, 32 heads, 8 KV heads, head dim 128, intermediate 14336, vocab 128256,
  untied LM head): 8.03B parameters.
- DLRM: Naumov et al., arXiv:1906.00091 (2019); facebookresearch/dlrm
  ``bench/run_and_time.sh`` (MLPerf Criteo Terabyte: bottom 13-512-256-128, top
  1024-1024-512-256-1 after a dot interaction of 27 vectors: 26*27/2 + 128 = 479 inputs).
"""

from pathlib import Path

import pytest
import yaml

from codesign.workload.zoo import MODELS_DIR, load_model

# ---------------------------------------------------------------- ViT-B/16 (Dosovitskiy et al.)
VIT_IMAGE, VIT_PATCH, VIT_D, VIT_LAYERS, VIT_HEADS, VIT_MLP, VIT_CLASSES = 224, 16, 768, 12, 12, 3072, 1000
VIT_PUBLISHED_MACS = 17.56e9          # torchvision vit_b_16 card ("GFLOPS", counted as MACs)
VIT_PUBLISHED_PARAMS = 86_567_656     # torchvision vit_b_16 card

# ---------------------------------------------------------------- BERT-Base (Devlin et al.)
BERT_D, BERT_LAYERS, BERT_HEADS, BERT_FFN = 768, 12, 12, 3072
BERT_VOCAB, BERT_POSITIONS, BERT_TYPES = 30522, 512, 2
BERT_PUBLISHED_PARAMS = 110e6          # paper
BERT_REFERENCE_PARAMS = 109_482_240    # HF BertModel (bert-base-uncased)

# ---------------------------------------------------------------- Llama 3 8B (Meta config.json)
L3_D, L3_LAYERS, L3_HEADS, L3_KV_HEADS, L3_HEAD_DIM, L3_FFN, L3_VOCAB = 4096, 32, 32, 8, 128, 14336, 128256
L3_PUBLISHED_PARAMS = 8.03e9           # model card
L3_REFERENCE_PARAMS = 8_030_261_248    # sum of the config's tensors (HF LlamaForCausalLM)

# ---------------------------------------------------------------- DLRM (MLPerf Criteo Terabyte)
DLRM_BOTTOM = (13, 512, 256, 128)
DLRM_SPARSE = 26
DLRM_TOP_HIDDEN = (1024, 1024, 512, 256, 1)


def _mlp(widths):
    """(MACs, params) of a chain of biased linears through ``widths``."""
    pairs = list(zip(widths, widths[1:]))
    return sum(a * b for a, b in pairs), sum(a * b + b for a, b in pairs)


def _file_totals(name):
    return yaml.safe_load((Path(MODELS_DIR) / f"{name}.yaml").read_text())["totals"]


def _by_name(w):
    return {layer.name: layer for layer in w.layers}


# ================================================================ ViT-B/16

def _vit_expected():
    tokens = (VIT_IMAGE // VIT_PATCH) ** 2 + 1                       # 196 patches + [CLS] = 197
    d, h = VIT_D, VIT_HEADS
    patch = (tokens - 1) * d * 3 * VIT_PATCH ** 2
    per_layer = (tokens * d * 3 * d                                  # fused QKV
                 + 2 * h * tokens * tokens * (d // h)                # scores + context
                 + tokens * d * d                                    # projection
                 + 2 * tokens * d * VIT_MLP)                         # MLP
    macs = patch + VIT_LAYERS * per_layer + d * VIT_CLASSES          # head on [CLS] only
    layer_params = (d * 3 * d + 3 * d) + (d * d + d) + (d * VIT_MLP + VIT_MLP) + (VIT_MLP * d + d)
    params = (d * 3 * VIT_PATCH ** 2 + d) + VIT_LAYERS * layer_params + (d * VIT_CLASSES + VIT_CLASSES)
    not_in_ir = d + tokens * d + (2 * VIT_LAYERS + 1) * 2 * d        # [CLS], position embeddings, LayerNorms
    return macs, params, not_in_ir


def test_vit_b16_totals():
    """MACs: patch-embedding conv + 12 encoder layers + head on the [CLS] token, exactly; within
    1% (0.02%) of torchvision's 17.56 G. Parameters: the reference count once the [CLS] token,
    position embeddings and LayerNorms (no MAC layer to carry them) are added back."""
    w = load_model("vit_b16")
    macs, params, not_in_ir = _vit_expected()
    assert w.total_macs == macs == 17_563_828_224
    assert w.total_macs == pytest.approx(VIT_PUBLISHED_MACS, rel=0.01)
    assert w.total_params == params
    assert w.total_params + not_in_ir == VIT_PUBLISHED_PARAMS
    assert _file_totals("vit_b16")["macs"] == macs
    assert _file_totals("vit_b16")["params"] == VIT_PUBLISHED_PARAMS


def test_vit_b16_attention_shapes():
    layers = _by_name(load_model("vit_b16"))
    scores = dict(zip(layers["blocks.attn.scores"].dims, layers["blocks.attn.scores"].bounds))
    assert (scores["G"], scores["H"], scores["M"], scores["N"], scores["K"]) == (12, 1, 197, 197, 64)
    patch = dict(zip(layers["patch_embed"].dims, layers["patch_embed"].bounds))
    assert (patch["P"], patch["Q"], patch["R"], patch["K"]) == (14, 14, 16, 768)


# ================================================================ BERT-Base

def _bert_linear_macs(S):
    d = BERT_D
    return BERT_LAYERS * S * (d * 3 * d + d * d + 2 * d * BERT_FFN)


def _bert_attention_macs(S):
    return BERT_LAYERS * 2 * BERT_HEADS * S * S * (BERT_D // BERT_HEADS)


def _bert_expected_macs(S):
    return _bert_linear_macs(S) + _bert_attention_macs(S) + BERT_D * BERT_D   # + pooler on [CLS]


@pytest.mark.parametrize("seq_len", [128, 512])
def test_bert_base_macs_closed_form(seq_len):
    """12 x (S * (4 d^2 + 2 d d_ff) + 2 * S^2 * d) + pooler d^2, attention dense over S x S."""
    w = load_model("bert_base", seq_len=seq_len)
    assert w.total_macs == _bert_expected_macs(seq_len)


def test_bert_base_default_and_file_totals():
    w = load_model("bert_base")
    assert w.total_macs == _bert_expected_macs(128) == 11_174_215_680
    assert _file_totals("bert_base")["macs"] == w.total_macs
    assert _file_totals("bert_base")["params"] == BERT_REFERENCE_PARAMS


def test_bert_base_params():
    """Loaded: the encoder's and pooler's linears. Embedding tables (lookups, no MACs) and the 25
    LayerNorms are added back to reach HF's 109,482,240, which is 0.5% under the paper's 110M."""
    w = load_model("bert_base")
    d = BERT_D
    layer = (d * 3 * d + 3 * d) + (d * d + d) + (d * BERT_FFN + BERT_FFN) + (BERT_FFN * d + d)
    assert w.total_params == BERT_LAYERS * layer + d * d + d
    embeddings = (BERT_VOCAB + BERT_POSITIONS + BERT_TYPES) * d
    norms = (2 * BERT_LAYERS + 1) * 2 * d
    assert w.total_params + embeddings + norms == BERT_REFERENCE_PARAMS
    assert w.total_params + embeddings + norms == pytest.approx(BERT_PUBLISHED_PARAMS, rel=0.01)


def test_bert_base_seq_len_scaling():
    """512 vs 128 tokens: every encoder linear does 4x the MACs, every attention matmul 16x;
    the pooler (one [CLS] row) is unchanged; parameters are unchanged."""
    short, long = load_model("bert_base", seq_len=128), load_model("bert_base", seq_len=512)
    a, b = _by_name(short), _by_name(long)
    assert a.keys() == b.keys()
    ratios = {name: b[name].macs / a[name].macs for name in a}
    for name, layer in a.items():
        if name.startswith("pooler"):
            assert ratios[name] == 1
        elif layer.op == "linear":
            assert ratios[name] == 4, name
        else:
            assert layer.op == "matmul" and ratios[name] == 16, name
    linear = lambda w: sum(l.macs * l.count for l in w.layers if l.op == "linear" and not l.name.startswith("pooler"))
    attention = lambda w: sum(l.macs * l.count for l in w.layers if l.op == "matmul")
    assert linear(long) == 4 * linear(short) == _bert_linear_macs(512)
    assert attention(long) == 16 * attention(short) == _bert_attention_macs(512)
    assert long.total_params == short.total_params
    softmax = {v.op: v for v in long.vector_ops}["softmax"]
    assert softmax.elements == BERT_HEADS * 512 * 512


# ================================================================ Llama 3 8B

def _l3_layer_weights():
    d, kv = L3_D, L3_KV_HEADS * L3_HEAD_DIM
    return d * d + 2 * d * kv + d * d + 3 * d * L3_FFN              # q, k, v, o; gate, up, down (no biases)


def _l3_attention_macs(queries, keys):
    """Scores + context of all layers: per query head, queries x keys x head_dim each."""
    return L3_LAYERS * 2 * L3_HEADS * queries * keys * L3_HEAD_DIM


def _l3_params_not_in_ir():
    return L3_VOCAB * L3_D + (2 * L3_LAYERS + 1) * L3_D              # input embeddings, RMSNorm weights


def test_llama3_params():
    """Loaded layers = the 32 layers' projections + the untied LM head (7.50 B, the
    "non-embedding" N of the 2N-FLOPs-per-token rule). Adding the input embedding table and the
    65 RMSNorm vectors gives 8,030,261,248, the model card's 8.03 B (0.003%)."""
    expected = L3_LAYERS * _l3_layer_weights() + L3_D * L3_VOCAB
    for name in ("llama3_8b_prefill", "llama3_8b_decode"):
        w = load_model(name)
        assert w.total_params == expected == 7_504_658_432
        assert w.total_params + _l3_params_not_in_ir() == L3_REFERENCE_PARAMS
        assert w.total_params + _l3_params_not_in_ir() == pytest.approx(L3_PUBLISHED_PARAMS, rel=0.01)
        assert _file_totals(name)["params"] == L3_REFERENCE_PARAMS


@pytest.mark.parametrize("seq_len", [2048, 512, 100])
def test_llama3_prefill_macs(seq_len):
    """S tokens through every projection, dense S x S attention (the causal mask is not
    exploited: a causal-aware kernel does S(S+1)/2 per head), LM head on the last token."""
    w = load_model("llama3_8b_prefill", seq_len=seq_len)
    expected = seq_len * L3_LAYERS * _l3_layer_weights() + _l3_attention_macs(seq_len, seq_len) + L3_D * L3_VOCAB
    assert w.total_macs == expected
    if seq_len == 2048:
        assert _file_totals("llama3_8b_prefill")["macs"] == expected


@pytest.mark.parametrize("kv_len", [4096, 1024, 8191])
def test_llama3_decode_macs_per_token(kv_len):
    """One token: the 2N rule (one MAC per non-embedding weight) plus attention to kv_len + 1
    keys: 2 x 32 layers x 32 heads x 128 x (kv_len + 1)."""
    w = load_model("llama3_8b_decode", overrides={"kv_len": kv_len})
    expected = w.total_params + _l3_attention_macs(1, kv_len + 1)
    assert w.total_macs == expected
    assert w.total_macs == L3_LAYERS * _l3_layer_weights() + L3_D * L3_VOCAB + 2 * L3_LAYERS * L3_D * (kv_len + 1)
    if kv_len == 4096:
        assert load_model("llama3_8b_decode").total_macs == expected == _file_totals("llama3_8b_decode")["macs"]


def test_llama3_decode_gqa_dims():
    """Grouped-query attention: 8 KV heads (G) each shared by 32 / 8 = 4 query heads (H); the
    B operand (the K or V cache) has no H dimension, so it is read once per group."""
    layers = _by_name(load_model("llama3_8b_decode"))
    for name, (n, k) in {"layers.self_attn.scores": (4097, 128), "layers.self_attn.context": (128, 4097)}.items():
        layer = layers[name]
        dims = dict(zip(layer.dims, layer.bounds))
        assert (dims["B"], dims["G"], dims["H"], dims["M"], dims["N"], dims["K"]) == (1, 8, 4, 1, n, k)
        assert dims["H"] == L3_HEADS // L3_KV_HEADS
        assert layer.count == L3_LAYERS
        w_ranks = {layer.dims[d] for rank in layer.tensor("weights").ranks for d, _ in rank}
        assert "H" not in w_ranks and "G" in w_ranks
        assert layer.tensor("weights").size(layer.bounds) == L3_KV_HEADS * 4097 * L3_HEAD_DIM


def test_llama3_decode_batch():
    """Batch 8 = 8 sequences each with its own cache: 8x the MACs (8 rows through every
    projection, B = 8 in the attention matmuls), same parameters."""
    one, eight = load_model("llama3_8b_decode"), load_model("llama3_8b_decode", batch=8)
    assert eight.total_macs == 8 * one.total_macs
    assert eight.total_params == one.total_params
    scores = _by_name(eight)["layers.self_attn.scores"]
    assert dict(zip(scores.dims, scores.bounds))["B"] == 8
    q = _by_name(eight)["layers.self_attn.q_proj"]
    assert dict(zip(q.dims, q.bounds))["M"] == 8


def test_llama3_vector_ops():
    """RMSNorm, SiLU, the SwiGLU product, residual adds and softmax are present as vector ops."""
    w = load_model("llama3_8b_decode", batch=8)
    total = {}
    for v in w.vector_ops:
        total[v.op] = total.get(v.op, 0) + v.elements * v.count
    B = 8
    assert total["rmsnorm"] == B * (2 * L3_LAYERS + 1) * L3_D
    assert total["silu"] == B * L3_LAYERS * L3_FFN
    assert total["softmax"] == B * L3_LAYERS * L3_HEADS * (4096 + 1)
    # residual adds (2 per layer) + rotary add on q and k; SwiGLU mul + 2 rotary muls on q and k
    assert total["add"] == B * L3_LAYERS * (2 * L3_D + L3_D + L3_KV_HEADS * L3_HEAD_DIM)
    assert total["mul"] == B * L3_LAYERS * (L3_FFN + 2 * (L3_D + L3_KV_HEADS * L3_HEAD_DIM))


# ================================================================ DLRM

def test_dlrm_mlp_totals():
    """Per sample: bottom MLP 13-512-256-128, the 27 x 27 dot interaction (full Gram matrix, of
    which 351 entries are used), top MLP 479-1024-1024-512-256-1. Embedding tables excluded."""
    w = load_model("dlrm_mlp")
    top_in = DLRM_SPARSE * (DLRM_SPARSE + 1) // 2 + DLRM_BOTTOM[-1]
    assert top_in == 479
    bot_macs, bot_params = _mlp(DLRM_BOTTOM)
    top_macs, top_params = _mlp((top_in,) + DLRM_TOP_HIDDEN)
    vectors = DLRM_SPARSE + 1
    interaction = vectors * vectors * DLRM_BOTTOM[-1]
    assert w.total_macs == bot_macs + top_macs + interaction == 2_458_496
    assert bot_macs + top_macs == 2_365_184
    assert w.total_params == bot_params + top_params == 2_368_897
    assert _file_totals("dlrm_mlp")["macs"] == w.total_macs
    assert _file_totals("dlrm_mlp")["params"] == w.total_params
    big = load_model("dlrm_mlp", batch=2048)
    assert big.total_macs == 2048 * w.total_macs


@pytest.mark.parametrize("name", ["vit_b16", "bert_base", "llama3_8b_prefill", "llama3_8b_decode", "dlrm_mlp"])
def test_model_files_are_documented(name):
    doc = yaml.safe_load((Path(MODELS_DIR) / f"{name}.yaml").read_text())
    assert doc["family"] in ("transformer", "llm", "recsys")
    assert doc["source"] and doc["description"] and doc["totals"]["note"]
    assert isinstance(doc["totals"]["macs"], int) and isinstance(doc["totals"]["params"], int)
