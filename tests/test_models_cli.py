"""`codesign models list/show`: the documented, stable JSON fields, and their values."""

import json

import pytest
from typer.testing import CliRunner

from codesign.cli import app
from codesign.workload.zoo import load_model, model_names

runner = CliRunner()


def test_show_resnet50_json_fields():
    out = runner.invoke(app, ["models", "show", "resnet50", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert {"name", "total_macs", "total_params", "layers"} <= set(data)
    assert data["name"] == "resnet50"
    for layer in data["layers"]:
        assert {"name", "op", "dims", "macs", "count"} <= set(layer)
        prod = 1
        for v in layer["dims"].values():
            prod *= v
        assert layer["macs"] == prod                       # MACs = product of the loop bounds
    assert sum(lr["macs"] * lr["count"] for lr in data["layers"]) == data["total_macs"]
    assert data["total_macs"] == pytest.approx(4.09e9, rel=0.01)   # He et al. 2016 / torchvision v1.5


def test_show_with_parameters_and_batch():
    base = json.loads(runner.invoke(app, ["models", "show", "bert_base", "--json"]).stdout)
    longer = json.loads(runner.invoke(app, ["models", "show", "bert_base", "--set", "seq_len=512", "--batch", "2",
                                            "--json"]).stdout)
    assert longer["params"]["seq_len"] == 512 and longer["batch"] == 2
    assert longer["total_macs"] > 8 * base["total_macs"]   # linear x4 (tokens) x2 (batch), attention x16 x2


def test_intensity_is_macs_per_byte():
    data = json.loads(runner.invoke(app, ["models", "show", "resnet18", "--json", "--precision", "fp16"]).stdout)
    conv1 = data["layers"][0]
    assert conv1["bytes"]["weights"] == 64 * 3 * 7 * 7 * 2
    assert conv1["intensity_macs_per_byte"] == pytest.approx(conv1["macs"] / sum(conv1["bytes"].values()))


def test_list_json_covers_the_zoo():
    out = runner.invoke(app, ["models", "list", "--json"])
    assert out.exit_code == 0
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == model_names()
    for r in rows:
        assert r["total_macs"] == load_model(r["name"]).total_macs


@pytest.mark.parametrize(("args", "says"), [
    (["models", "show", "resnet05"], "did you mean 'resnet50'"),
    (["models", "show", "bert_base", "--set", "seq=512"], "has no parameter 'seq'"),
    (["models", "show", "bert_base", "--set", "seq_len=long"], "expected NAME=INTEGER"),
    (["models", "show", "resnet18", "--precision", "int3"], "unknown precision"),
])
def test_bad_input(args, says):
    out = runner.invoke(app, args)
    assert out.exit_code == 1
    assert says in out.output and "Traceback" not in out.output
