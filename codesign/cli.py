"""The ``codesign`` command: a thin typer layer over :mod:`codesign.api`.

One error boundary: a :class:`CodesignError` prints ``where: what`` and exits 1, no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from codesign.errors import CodesignError

if TYPE_CHECKING:
    from codesign.spec.space import Space

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Hardware-software co-design of ML accelerators: search hardware and compiler schedules together.")

SpaceArg = Annotated[Path, typer.Argument(help="Space file (YAML), e.g. spaces/edge.yaml.", show_default=False)]


def _set_values(space: "Space", items: list[str] | None) -> dict[str, Any]:
    """``--set NAME=VALUE`` options as parameter values of ``space`` (units allowed)."""
    from codesign.spec.params import parse_value

    values: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CodesignError("expected NAME=VALUE, e.g. --set hardware.array.rows=16", f"--set {item}")
        key, _, text = item.partition("=")
        values[key.strip()] = parse_value(key.strip(), text.strip(), space)
    return values


def _fail(exc: CodesignError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


@app.command()
def validate(space: SpaceArg) -> None:
    """Check a space file without running it."""
    from codesign.spec.loader import load_space
    from codesign.spec.params import describe_domain, grid_size, search_domains

    try:
        s = load_space(space)
    except CodesignError as exc:
        _fail(exc)
    doms = search_domains(s)
    typer.echo(f"{space}: ok: {len(s.workloads)} workloads, {len(s.hardware.memory)} memory levels, "
               f"{len(doms)} searched parameters, {len(s.objectives)} objectives, {len(s.constraints)} constraints")
    size = grid_size(s)
    for name, d in doms.items():
        typer.echo(f"  {name}: {describe_domain(d)}")
    typer.echo(f"  designs in the grid: {'continuous' if size == float('inf') else f'{size:.3g}'}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of space files (for editor completion and checking)."""
    from codesign.spec.space import Space

    typer.echo(json.dumps(Space.model_json_schema(), indent=2))


@app.command()
def search(
    space: SpaceArg,
    trials: Annotated[Optional[int], typer.Option(help="Trials the study should hold (default: the space's search.trials).", min=1)] = None,
    timeout: Annotated[Optional[str], typer.Option(help="Stop starting trials after this long, e.g. 10min, 30s.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Sampler seed (default: the space's search.seed).")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes on this machine.", min=1)] = None,
    storage: Annotated[Optional[str], typer.Option(help="optuna storage URL (e.g. postgresql://...); default: journal under runs/<study>/.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Study name (default: the space's name).")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where run directories go.")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Search the space; write runs/<study>/ and print the Pareto front. Rerun to resume."""
    from codesign import api
    from codesign.units import UnitError, parse_quantity

    try:
        s = api.load_space(space)
        timeout_s = None
        if timeout is not None:
            try:
                timeout_s = float(parse_quantity(timeout, "time"))
            except UnitError as exc:
                raise CodesignError(str(exc), "--timeout") from None
        from codesign.cli_view import ProgressView, print_front

        view = ProgressView(s, enabled=not quiet)
        with view:
            try:
                result = api.search(s, trials=trials, timeout_s=timeout_s, seed=seed if seed is not None else ...,
                                    jobs=jobs, storage=storage, study=study, runs_dir=runs_dir,
                                    space_text=space.read_text(), on_progress=view.update)
            except KeyboardInterrupt:
                view.stop()
                typer.echo("interrupted: finished trials are saved; run the same command to resume", err=True)
                raise typer.Exit(130) from None
    except CodesignError as exc:
        _fail(exc)
    if not quiet:
        print_front(s, result)
    else:
        typer.echo(f"{result.run_dir}: {len(result.trials)} trials, {len(result.pareto)} Pareto-optimal feasible designs")


@app.command()
def evaluate(
    space: SpaceArg,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Parameter value, e.g. --set hardware.array.rows=32 (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Evaluate one design of the space (every searched parameter given with --set)."""
    from codesign import api
    from codesign.cli_view import print_design, result_json
    from codesign.flow import InfeasibleDesign

    try:
        s = api.load_space(space)
        values = _set_values(s, set_)
        try:
            result = api.evaluate(s, values)
        except InfeasibleDesign as exc:
            raise CodesignError(f"infeasible design: {exc}", str(space)) from None
    except CodesignError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(result_json(result), indent=2))
    else:
        print_design(s, result)


models_app = typer.Typer(help="The model zoo: list models, show a model's layers.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every model in models/: family, MACs, parameters, layers."""
    from codesign.cli_view import print_models
    from codesign.workload.zoo import load_model, model_names

    try:
        workloads = [load_model(name) for name in model_names()]
    except CodesignError as exc:
        _fail(exc)
    rows = [{"name": w.model, "family": w.family, "total_macs": w.total_macs, "total_params": w.total_params,
             "unique_layers": len(w.layers), "layers": sum(layer.count for layer in w.layers),
             "vector_ops": sum(v.count for v in w.vector_ops)} for w in workloads]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_models(rows)


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="Model name (see codesign models list) or path to a model YAML.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Model parameter, e.g. --set seq_len=512 (repeat).")] = None,
    batch: Annotated[int, typer.Option(help="Batch size.", min=1)] = 1,
    precision: Annotated[str, typer.Option(help="Precision for bytes and intensity: int8, int16, fp16, bf16, fp32.")] = "int8",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (name, total_macs, total_params, layers[...]).")] = False,
) -> None:
    """Per layer: op, dimensions, MACs, bytes per tensor, arithmetic intensity, multiplicity; then totals."""
    from codesign.cli_view import print_model
    from codesign.errors import did_you_mean
    from codesign.hardware.technology import OPERAND_BYTES
    from codesign.workload.summary import workload_record
    from codesign.workload.zoo import load_model

    try:
        if precision not in OPERAND_BYTES:
            raise CodesignError(f"unknown precision {precision!r}{did_you_mean(precision, OPERAND_BYTES)}; "
                                f"use one of: {', '.join(OPERAND_BYTES)}", "--precision")
        overrides = {}
        for item in set_ or []:
            key, eq, value = item.partition("=")
            if not eq or not value.strip().isdigit():
                raise CodesignError(f"expected NAME=INTEGER, got {item!r}, e.g. --set seq_len=512", "--set")
            overrides[key.strip()] = int(value)
        w = load_model(name, batch=batch, overrides=overrides, base=Path.cwd())
    except CodesignError as exc:
        _fail(exc)
    record = workload_record(w, precision)
    if as_json:
        typer.echo(json.dumps(record, indent=2))
    else:
        print_model(record)


@app.command("import")
def import_model(
    model: Annotated[Path, typer.Argument(help="ONNX file, e.g. resnet18.onnx.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write, e.g. models/resnet18.yaml.",
                                         show_default=False)],
    name: Annotated[Optional[str], typer.Option(help="Model name (default: the ONNX file's name without .onnx).")] = None,
    dim: Annotated[Optional[list[str]], typer.Option("--dim", help="Size of a dynamic input dimension, e.g. --dim batch=1 --dim seq=128 (repeat).")] = None,
) -> None:
    """Import an ONNX model as a model file (via ONNX shape inference); print its layers, MACs and parameters."""
    from codesign.interop.onnx_import import import_onnx, parse_dims, write_model
    from codesign.workload.zoo import load_model

    try:
        result = import_onnx(model, name=name, dims=parse_dims(dim or []))
        write_model(result, output)
        w = load_model(str(output.resolve()))
    except CodesignError as exc:
        _fail(exc)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    mac_layers, vector_ops = sum(x.count for x in w.layers), sum(v.count for v in w.vector_ops)
    typer.echo(f"{output}: {w.model}: {mac_layers + vector_ops} layers ({mac_layers} MAC, {vector_ops} vector), "
               f"{w.total_macs:,} MACs ({w.total_macs / 1e9:.4g} G), {w.total_params:,} params ({w.total_params / 1e6:.4g} M)")


@app.command("timeloop-model")
def timeloop_model(
    spec: Annotated[Path, typer.Argument(help="Timeloop input as the binary reads it, e.g. parsed-processed-input.yaml.",
                                         show_default=False)],
    ert: Annotated[Path, typer.Option("--ert", help="Energy reference table, e.g. timeloop-model.ERT.yaml.", show_default=False)],
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="Mapping file (mapping: [...]); default: the spec's mapping.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (cycles, utilization, computes, energy_pJ, levels[...]).")] = False,
) -> None:
    """Evaluate a Timeloop spec, ERT and mapping with codesign's cost core, as timeloop-model reports it."""
    from codesign.interop.timeloop_model import run, summary_lines, to_json

    try:
        result = run(spec, ert, mapping)
    except CodesignError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2))
    else:
        for line in summary_lines(result):
            typer.echo(line)


@app.command("scalesim")
def scalesim(
    config: Annotated[Path, typer.Argument(help="SCALE-Sim config, e.g. scale.cfg.", show_default=False)],
    topology: Annotated[Path, typer.Argument(help="SCALE-Sim topology CSV (convolution rows; M, N, K rows with --gemm).",
                                             show_default=False)],
    gemm_rows: Annotated[bool, typer.Option("--gemm", help="Topology rows are name, M, N, K (SCALE-Sim's -i gemm).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (layers[...]: cycles, utilizations, SRAM/DRAM words).")] = False,
) -> None:
    """Time a SCALE-Sim config and topology with codesign's systolic simulator, as SCALE-Sim reports them."""
    from codesign.interop.scalesim import run, summary_lines, to_json

    try:
        spec, timings = run(config, topology, gemm_rows)
    except CodesignError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json(spec, timings), indent=2))
    else:
        for line in summary_lines(spec, timings):
            typer.echo(line)


@app.command("map")
def map_command(
    space: SpaceArg,
    layer: Annotated[str, typer.Option("--layer", help="Layer name, e.g. layer1.0.conv1 (codesign models show MODEL lists them).",
                                       show_default=False)],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Parameter value, e.g. --set hardware.array.rows=32 (repeat).")] = None,
    workload: Annotated[Optional[str], typer.Option("--workload", help="Workload the layer belongs to (default: the first that has it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mapping, tiles and costs as JSON.")] = False,
    timeloop: Annotated[Optional[Path], typer.Option("--timeloop", help="Also write the mapping as a Timeloop mapping YAML here.")] = None,
) -> None:
    """Map one layer on one design: the loop nest per level, tiles per tensor, cost breakdown."""
    from dataclasses import asdict

    from codesign import api
    from codesign.compiler.explain import mapping_record
    from codesign.flow import map_named_layer
    from codesign.spec.params import resolve_design

    try:
        s = api.load_space(space)
        values = _set_values(s, set_)
        mapped = map_named_layer(s, resolve_design(s, values), s.base_dir, layer, workload)
        record = mapping_record(mapped.layer, mapped.accelerator, mapped.result)
        if timeloop is not None:
            from codesign.interop.timeloop_mapping import write_timeloop_mapping

            write_timeloop_mapping(timeloop, mapped.layer, mapped.accelerator, mapped.result.mapping)
    except CodesignError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({"workload": mapped.workload, "policy": asdict(mapped.policy), **record}, indent=2))
    else:
        from codesign.cli_view import print_mapping

        print_mapping(mapped.workload, mapped.accelerator, mapped.policy, record)
    if timeloop is not None:
        typer.echo(f"wrote {timeloop}", err=True)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except CodesignError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
