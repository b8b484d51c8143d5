"""Commands that evaluate designs: ``search``, ``evaluate``, ``map``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from codesign.cli.common import SpaceArg, app, fail, set_values
from codesign.errors import CodesignError


@app.command()
def search(
    space: SpaceArg,
    trials: Annotated[Optional[int], typer.Option(help="Trials the study should hold (default: the space's search.trials).", min=1)] = None,
    timeout: Annotated[Optional[str], typer.Option(help="Stop starting trials after this long, e.g. 10min, 30s.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Sampler seed (default: the space's search.seed).")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes on this machine (the same command gives the same trials).", min=1)] = None,
    storage: Annotated[Optional[str], typer.Option(help="optuna storage URL (e.g. postgresql://...); default: journal under runs/<study>/.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Study name (default: the space's name).")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where run directories go.")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html and the PNGs at the end.")] = False,
    fidelity: Annotated[Optional[str], typer.Option("--fidelity", help="Latency model: analytical, simulated (tile-program simulator) or auto (analytical, then the Pareto front simulated); default: the space's search.fidelity.")] = None,
    prune: Annotated[Optional[bool], typer.Option("--prune/--no-prune", help="Give up a design once a feasible trial dominates the best it can reach (recorded as PRUNED); default: the space's search.prune.")] = None,
) -> None:
    """Search the space; write runs/<study>/ (with report.html) and print the Pareto front. Rerun to resume."""
    from codesign import api
    from codesign.units import UnitError, parse_quantity

    try:
        s = api.load_space(space)
        fidelity = _fidelity(fidelity, s)
        timeout_s = None
        if timeout is not None:
            try:
                timeout_s = float(parse_quantity(timeout, "time"))
            except UnitError as exc:
                raise CodesignError(str(exc), "--timeout") from None
        from codesign.cli.view import ProgressView, print_front

        view = ProgressView(s, enabled=not quiet)
        with view:
            try:
                result = api.search(s, trials=trials, timeout_s=timeout_s, seed=seed if seed is not None else ...,
                                    jobs=jobs, storage=storage, study=study, runs_dir=runs_dir,
                                    space_text=space.read_text(), on_progress=view.update, with_report=not no_report,
                                    fidelity=fidelity, prune=prune)
            except KeyboardInterrupt:
                view.stop()
                typer.echo("interrupted: finished trials are saved; run the same command to resume", err=True)
                raise typer.Exit(130) from None
    except CodesignError as exc:
        fail(exc)
    if not quiet:
        print_front(s, result)
    else:
        typer.echo(f"{result.run_dir}: {len(result.trials)} trials, {len(result.pareto)} Pareto-optimal feasible designs")
    if result.report is not None:
        typer.echo(f"report: {result.report}")


@app.command()
def evaluate(
    space: SpaceArg,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Parameter value, e.g. --set hardware.array.rows=32 (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    fidelity: Annotated[Optional[str], typer.Option("--fidelity", help="Latency model: analytical, simulated (tile-program simulator) or auto (= simulated here); default: the space's search.fidelity.")] = None,
) -> None:
    """Evaluate one design of the space (every searched parameter given with --set); with
    --fidelity simulated, per layer the analytical and simulated cycles and their gap."""
    from codesign import api
    from codesign.cli.view import print_design, result_json
    from codesign.flow import InfeasibleDesign

    try:
        s = api.load_space(space)
        values = set_values(s, set_)
        try:
            result = api.evaluate(s, values, _fidelity(fidelity, s))
        except InfeasibleDesign as exc:
            raise CodesignError(f"infeasible design: {exc}", str(space)) from None
    except CodesignError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(result_json(result), indent=2))
    else:
        print_design(s, result)


def _fidelity(flag: str | None, space: object) -> str:
    """The --fidelity flag, else the space's search.fidelity; a clear error for a bad value."""
    from codesign.sim.fidelity import FIDELITIES

    if flag is None:
        return space.search.fidelity  # type: ignore[attr-defined]
    if flag not in FIDELITIES:
        raise CodesignError(f"unknown fidelity {flag!r}; choose one of {', '.join(FIDELITIES)}", "--fidelity")
    return flag


@app.command("map")
def map_command(
    space: SpaceArg,
    layer: Annotated[str, typer.Option("--layer", help="Layer name, e.g. layer1.0.conv1 (codesign models show MODEL lists them).",
                                       show_default=False)],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Parameter value, e.g. --set hardware.array.rows=32 (repeat).")] = None,
    workload: Annotated[Optional[str], typer.Option("--workload", help="Workload the layer belongs to (default: the first that has it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mapping, tiles and costs as JSON.")] = False,
    timeloop: Annotated[Optional[Path], typer.Option("--timeloop", help="Also write the mapping as a Timeloop mapping YAML here.")] = None,
    timeloop_dir: Annotated[Optional[Path], typer.Option("--timeloop-dir", help="Also write Timeloop v0.4 inputs here: spec.yaml (architecture, problem), ERT.yaml, mapping.yaml (read back by codesign timeloop-model).")] = None,
) -> None:
    """Map one layer on one design: the loop nest per level, tiles per tensor, cost breakdown."""
    from dataclasses import asdict

    from codesign import api
    from codesign.compiler.explain import mapping_record
    from codesign.flow import map_named_layer
    from codesign.spec.params import resolve_design

    try:
        s = api.load_space(space)
        values = set_values(s, set_)
        mapped = map_named_layer(s, resolve_design(s, values), s.base_dir, layer, workload)
        record = mapping_record(mapped.layer, mapped.accelerator, mapped.result)
        if timeloop is not None:
            from codesign.interop.timeloop_mapping import write_timeloop_mapping

            write_timeloop_mapping(timeloop, mapped.layer, mapped.accelerator, mapped.result.mapping)
        if timeloop_dir is not None:
            from codesign.interop.timeloop_spec import write_timeloop_dir

            write_timeloop_dir(timeloop_dir, mapped.layer, mapped.accelerator, mapped.result.mapping)
    except CodesignError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps({"workload": mapped.workload, "policy": asdict(mapped.policy), **record}, indent=2))
    else:
        from codesign.cli.view import print_mapping

        print_mapping(mapped.workload, mapped.accelerator, mapped.policy, record)
    if timeloop is not None:
        typer.echo(f"wrote {timeloop}", err=True)
    if timeloop_dir is not None:
        typer.echo(f"wrote {timeloop_dir}/spec.yaml, ERT.yaml, mapping.yaml", err=True)
