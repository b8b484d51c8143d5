"""Commands about workloads: ``models list``, ``models show``, ``import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from codesign.cli.common import app, fail
from codesign.errors import CodesignError


models_app = typer.Typer(help="The model zoo: list models, show a model's layers.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every model in models/: family, MACs, parameters, layers."""
    from codesign.cli.view import print_models
    from codesign.workload.zoo import load_model, model_names

    try:
        workloads = [load_model(name) for name in model_names()]
    except CodesignError as exc:
        fail(exc)
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
    from codesign.cli.view import print_model
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
        fail(exc)
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
        fail(exc)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    mac_layers, vector_ops = sum(x.count for x in w.layers), sum(v.count for v in w.vector_ops)
    typer.echo(f"{output}: {w.model}: {mac_layers + vector_ops} layers ({mac_layers} MAC, {vector_ops} vector), "
               f"{w.total_macs:,} MACs ({w.total_macs / 1e9:.4g} G), {w.total_params:,} params ({w.total_params / 1e6:.4g} M)")
