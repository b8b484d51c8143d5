"""Mistakes users make in space files, model files and on the command line.

Each case takes the valid ``tests/data/tiny.yaml`` (or its model), applies one mistake and
checks what the user sees: exit status 1, ``error: <file>:<line> <key.path>: <what>``, a
message that says what is allowed, and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result
from typer.testing import CliRunner

from codesign.cli import app

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
MODEL = DATA / "tiny_model.yaml"
runner = CliRunner()


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def write_space(tmp_path: Path, old: str = "", new: str = "", model_old: str = "", model_new: str = "") -> Path:
    """Write tiny.yaml with one edit as ``tmp_path/space.yaml``, its model (maybe edited) beside it."""
    space_text, model_text = TINY.read_text(), MODEL.read_text()
    if old:
        space_text = replace_once(space_text, old, new)
    if model_old:
        model_text = replace_once(model_text, model_old, model_new)
    (tmp_path / MODEL.name).write_text(model_text)
    path = tmp_path / "space.yaml"
    path.write_text(space_text)
    return path


def run(*args: str) -> Result:
    """Run the CLI with ``args``."""
    return runner.invoke(app, list(args))


def assert_user_error(result: Result, where: str, says: tuple[str, ...]) -> None:
    """Exit 1 with ``error: <where>: ...`` naming what is allowed, and no traceback."""
    out = result.output
    assert result.exit_code == 1, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    assert f"error: {where}" in result.stderr, out
    for fragment in says:
        assert fragment in out, f"{fragment!r} not in:\n{out}"


# (old text of tiny.yaml, new text, ":line key.path" after the file name, fragments of the message)
SPACE_MISTAKES = [
    pytest.param("  seed: 0\n", "  seed: 0\nbudget: 3\n", ":28 budget",
                 ("unknown key 'budget'", "allowed keys: name, description, workloads, hardware"),
                 id="unknown-top-level-key"),
    pytest.param("bytes_per_cycle: 64", "bytes_per_cyle: 64", ":15 hardware.memory[1].bytes_per_cyle",
                 ("unknown key 'bytes_per_cyle'", "did you mean 'bytes_per_cycle'", "allowed keys: name, kind, scope, size"),
                 id="unknown-nested-key"),
    pytest.param("[weight_stationary, output_stationary]", "[weight_stationery, output_stationary]",
                 ":12 hardware.array.dataflow",
                 ("'weight_stationery' is not allowed", "did you mean 'weight_stationary'",
                  "one of: weight_stationary, output_stationary, input_stationary, row_stationary, flexible"),
                 id="misspelled-dataflow"),
    pytest.param("size: {min: 8KiB, max: 256KiB, scale: pow2}", "size: -64KiB", ":15 hardware.memory[1].size",
                 ("must not be negative, got '-64KiB'", "expected a size in B (e.g. 64KiB"),
                 id="negative-size"),
    pytest.param("size: {min: 8KiB, max: 256KiB, scale: pow2}", "size: 64KB/s", ":15 hardware.memory[1].size",
                 ("'64KB/s' is a bandwidth", "a size in B (e.g. 64KiB, 4MiB, 512B) is expected"),
                 id="bandwidth-unit-for-size"),
    pytest.param("size: {choice: [16B, 64B]}", "size: {choice: [16B, 1GHz]}", ":16 hardware.memory[2].size",
                 ("'1GHz' is a frequency", "a size in B (e.g. 64KiB, 4MiB, 512B) is expected"),
                 id="frequency-unit-for-size"),
    pytest.param("technology: {choice: [22nm, 28nm]}", "technology: {choice: []}", ":7 hardware.technology",
                 ("'choice' needs a non-empty list", "e.g. {choice: ["),
                 id="empty-choice"),
    pytest.param("clock: {min: 200MHz, max: 1GHz", "clock: {min: 2GHz, max: 1GHz", ":8 hardware.clock",
                 ("min (2GHz) is greater than max (1GHz)", "swap"),
                 id="min-greater-than-max"),
    pytest.param("model: tiny_model.yaml", "model: resnet19", ":4 workloads[0].model",
                 ("unknown model 'resnet19'", "available: ", "mobilenetv2, resnet18", "did you mean 'resnet18'"),
                 id="unknown-model"),
    pytest.param("model: tiny_model.yaml", "model: nets/tiny.yaml", ":4 workloads[0].model",
                 ("model file 'nets/tiny.yaml' does not exist", "a model name, one of: ", "mobilenetv2, resnet18"),
                 id="missing-model-file"),
    pytest.param("  clock: {", " clock: {", ":8",
                 ("not valid YAML", "while parsing a block mapping at line 2", "check the indentation"),
                 id="bad-indentation"),
    pytest.param("  array:\n", "  array:\n    rows: 8\n", ":11 hardware.array.rows",
                 ("duplicate key 'rows' (first at line 10)", "each key may appear once"),
                 id="duplicate-key"),
    pytest.param("area <= 0.5mm2", "temperature <= 80", ":24 constraints[0]",
                 ("unknown metric 'temperature'", "one of: latency, energy, edp, power, area, throughput, utilization"),
                 id="constraint-unknown-metric"),
    pytest.param("area <= 0.5mm2", "latency(tiny) <= 10ms", ":24 constraints[0]",
                 ("names workload 'tiny'", "did you mean 'tiny_model'", "workloads: tiny_model"),
                 id="constraint-unknown-workload"),
    pytest.param("area <= 0.5mm2", "area <= 0mm2", ":24 constraints[0]",
                 ("'area <= 0mm2' can never be met", "area is always positive", "give a positive limit"),
                 id="impossible-constraint"),
    pytest.param("  clock: {min: 200MHz, max: 1GHz, scale: log}\n", "", ":5 hardware.clock",
                 ("required key 'clock' is missing: clock frequency, e.g. 1GHz",),
                 id="missing-required-key"),
    pytest.param("    - {name: DRAM, kind: dram, dram_type: LPDDR4, bandwidth: {choice: [12.8GB/s, 25.6GB/s]}}\n"
                 "    - {name: GLB, kind: sram, size: {min: 8KiB, max: 256KiB, scale: pow2}, bytes_per_cycle: 64}\n",
                 "    - {name: GLB, kind: sram, size: {min: 8KiB, max: 256KiB, scale: pow2}, bytes_per_cycle: 64}\n"
                 "    - {name: DRAM, kind: dram, dram_type: LPDDR4, bandwidth: {choice: [12.8GB/s, 25.6GB/s]}}\n",
                 ":14 hardware.memory[0].kind",
                 ("the first level must be the dram level, not sram level GLB", "list levels outermost first: dram, then sram"),
                 id="dram-not-first"),
    pytest.param("{name: RF,", "{name: GLB,", ":16 hardware.memory[2].name",
                 ("level name 'GLB' is used twice (first at hardware.memory[1])", "names must be unique"),
                 id="duplicate-level-name"),
    pytest.param("rows: {min: 4, max: 16, scale: pow2}", "rows: 8.5", ":10 hardware.array.rows",
                 ("expected an integer, got 8.5",),
                 id="fractional-pe-rows"),
    pytest.param("{choice: [weight_stationary, output_stationary]}", "[weight_stationary, output_stationary]",
                 ":12 hardware.array.dataflow",
                 ("a bare list is ambiguous", "{choice: ['weight_stationary', 'output_stationary']}"),
                 id="bare-list-instead-of-choice"),
    pytest.param("rows: {min: 4, max: 16, scale: pow2}", "rows: {min: 5, max: 7, scale: pow2}", ":10 hardware.array.rows",
                 ("no power of two lies between 5 and 7", "e.g. {min: 4, max: 8, scale: pow2}"),
                 id="pow2-range-without-power-of-two"),
    pytest.param("technology: {choice: [22nm, 28nm]}", "technology: 3nm", ":7 hardware.technology",
                 ("3nm is not supported", "nodes from 7nm to 65nm are supported"),
                 id="technology-out-of-range"),
    pytest.param("scale: log}", "scale: logarithmic}", ":8 hardware.clock",
                 ("scale 'logarithmic' is not allowed", "one of: linear, log", "did you mean 'log'"),
                 id="unknown-scale"),
    pytest.param("kind: sram", "kind: srma", ":15 hardware.memory[1].kind",
                 ("'srma' is not allowed", "'dram', 'sram' or 'regfile'", "did you mean 'sram'"),
                 id="unknown-memory-kind"),
    pytest.param("minimize energy [mJ]", "minimize enrgy [mJ]", ":22 objectives[1]",
                 ("unknown metric 'enrgy'", "did you mean 'energy'", "one of: latency, energy"),
                 id="objective-unknown-metric"),
    pytest.param("  - model: tiny_model.yaml\n", "  - model: tiny_model.yaml\n    batch: 0\n", ":5 workloads[0].batch",
                 ("greater than or equal to 1", "found 0"),
                 id="zero-batch"),
    pytest.param("minimize latency [ms]", "minimize latency [parsecs]", ":21 objectives[0]",
                 ("[parsecs] is not a unit of time for latency", "write [ms]"),
                 id="objective-unknown-unit"),
    pytest.param("  - model: tiny_model.yaml\n", "  - tiny_model.yaml\n", ":4 workloads[0]",
                 ("expected a mapping of keys (model, name, batch, seq_len, params, weight)", "found 'tiny_model.yaml'"),
                 id="workload-not-a-mapping"),
    pytest.param("  - area <= 0.5mm2\n", "  area <= 0.5mm2\n", ":23 constraints",
                 ("expected a list", "found 'area <= 0.5mm2'"),
                 id="constraints-not-a-list"),
    pytest.param("{name: RF, kind: regfile,", "{name: RF, kind: regfile, double_buffered: maybe,",
                 ":16 hardware.memory[2].double_buffered", ("expected true or false", "'maybe'"),
                 id="not-a-boolean"),
    pytest.param("  precision: int8\n", "\tprecision: int8\n", ":6",
                 ("not valid YAML", "indent with spaces; YAML does not allow tabs"),
                 id="tab-indentation"),
    pytest.param("name: tiny\n", "name: tiny\x07\n", ":2",
                 ("not valid YAML", "control character", "remove it"),
                 id="control-character"),
]


@pytest.mark.parametrize(("old", "new", "where", "says"), SPACE_MISTAKES)
def test_space_file_mistake(tmp_path: Path, old: str, new: str, where: str, says: tuple[str, ...]) -> None:
    path = write_space(tmp_path, old, new)
    assert_user_error(run("validate", str(path)), f"{path}{where}", says)


# (old text of tiny_model.yaml, new text, ":line key.path" in the model file, fragments of the message)
MODEL_MISTAKES = [
    pytest.param("op: linear", "op: conv3d", ":9 layers[3].op",
                 ("unsupported op 'conv3d'", "supported: conv2d, linear, matmul"),
                 id="unsupported-op"),
    pytest.param("op: linear, in: 512", "op: linear, inputs: 512", ":9 layers[3].inputs",
                 ("unknown key(s) ['inputs'] for linear", "allowed: in, out, tokens, bias"),
                 id="unknown-layer-key"),
    pytest.param("C: 3, K: 16", "C: 3, K: 16, K: 32", ":6 layers[0].K",
                 ("duplicate key 'K'", "each key may appear once"),
                 id="duplicate-layer-key"),
    pytest.param("params: {}", "params: {d: abc}", ":4 params.d",
                 ("a symbol's value must be an integer", "'abc'"),
                 id="non-integer-model-param"),
    pytest.param("stride: 2, pad: 1", "stride: 0, pad: 1", ":7 layers[1].stride",
                 ("stride must be a positive integer, got 0",),
                 id="zero-stride"),
    pytest.param("C: 32, K: 32, H: 16, R: 3, pad: 1, groups: 32", "C: 32, K: 32, H: 16, R: 3, pad: 1, groups: 3",
                 ":8 layers[2]", ("must be divisible by groups=3",),
                 id="groups-not-dividing-channels"),
    pytest.param("C: 3, K: 16", "C: 3, K: -16", ":6 layers[0].K",
                 ("K must be a positive integer, got -16",),
                 id="negative-channels"),
    pytest.param("K: 16, H: 32", "K: 16*d, H: 32", ":6 layers[0].K",
                 ("unknown symbol 'd' in '16*d'", "define symbols under params"),
                 id="unknown-shape-symbol"),
]


@pytest.mark.parametrize(("old", "new", "where", "says"), MODEL_MISTAKES)
def test_model_file_mistake(tmp_path: Path, old: str, new: str, where: str, says: tuple[str, ...]) -> None:
    path = write_space(tmp_path, model_old=old, model_new=new)
    result = run("validate", str(path))
    assert_user_error(result, f"{path}:4 workloads[0].model", says)
    assert f"{tmp_path / MODEL.name}{where}" in result.output


def test_space_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "spaec.yaml"
    assert_user_error(run("validate", str(missing)), str(missing), ("file not found",))


def test_space_file_is_a_directory(tmp_path: Path) -> None:
    assert_user_error(run("validate", str(tmp_path)), str(tmp_path), ("is a directory", "give the path of a YAML file"))


def test_space_file_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("- name: tiny\n")
    assert_user_error(run("validate", str(path)), f"{path}:1", ("a space file is a mapping", "name, workloads, hardware"))


# (--set argument, where, fragments of the message), for `codesign evaluate tests/data/tiny.yaml`
SET_MISTAKES = [
    pytest.param("unknown.param=3", "--set unknown.param=3",
                 ("unknown parameter 'unknown.param'", str(TINY), "parameters: hardware.precision, hardware.technology"),
                 id="set-unknown-parameter"),
    pytest.param("hardware.array.rowz=8", "--set hardware.array.rowz=8",
                 ("unknown parameter 'hardware.array.rowz'", "did you mean 'hardware.array.rows'"),
                 id="set-misspelled-parameter"),
    pytest.param("hardware.array.rows=7", "--set hardware.array.rows=7",
                 (f"7 is outside the domain: {TINY}:10 hardware.array.rows allows a power of two in 4, 8, 16",),
                 id="set-out-of-domain"),
    pytest.param("hardware.array.dataflow=row_stationary", "--set hardware.array.dataflow=row_stationary",
                 (f"row_stationary is outside the domain: {TINY}:12 hardware.array.dataflow allows "
                  "one of weight_stationary, output_stationary",),
                 id="set-choice-not-in-space"),
    pytest.param("hardware.precision=int16", "--set hardware.precision=int16",
                 (f"int16 is outside the domain: {TINY}:6 hardware.precision allows only int8", "edit the space file to search it"),
                 id="set-fixed-parameter"),
    pytest.param("hardware.array.rows={choice: [8]}", "--set hardware.array.rows={choice: [8]}",
                 ("give one value, not a domain",),
                 id="set-domain-instead-of-value"),
    pytest.param("hardware.array.rows=eight", "--set hardware.array.rows=eight",
                 ("expected an integer, got 'eight'", f"{TINY}:10 hardware.array.rows allows a power of two in 4, 8, 16"),
                 id="set-not-a-number"),
    pytest.param("hardware.memory.GLB.size=64KB/s", "--set hardware.memory.GLB.size=64KB/s",
                 ("'64KB/s' is a bandwidth", "a size in B",
                  f"{TINY}:15 hardware.memory[1].size allows a power of two in 8KiB, 16KiB"),
                 id="set-wrong-unit"),
    pytest.param("hardware.array.rows", "--set hardware.array.rows",
                 ("expected NAME=VALUE", "e.g. --set hardware.array.rows=16"),
                 id="set-without-value"),
]


@pytest.mark.parametrize(("option", "where", "says"), SET_MISTAKES)
def test_evaluate_set_mistake(option: str, where: str, says: tuple[str, ...]) -> None:
    assert_user_error(run("evaluate", str(TINY), "--set", option), where, says)


def test_evaluate_missing_parameter() -> None:
    result = run("evaluate", str(TINY), "--set", "hardware.array.rows=8")
    assert_user_error(result, f"{TINY}:7 hardware.technology",
                      ("parameter hardware.technology is searched (one of 22nm, 28nm)", "--set hardware.technology=22nm"))


def test_valid_space_still_validates() -> None:
    result = run("validate", str(Path(__file__).parents[1] / "spaces" / "edge.yaml"))
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output
