"""Which optuna sampler a space names, with which constructor arguments, checked before a search.

``search.sampler`` is a codesign name (``tpe``: codesign's settings, see :data:`PRESETS`) or an
optuna sampler class (``TPESampler``: optuna's defaults), optionally with options, the keyword
arguments of the class's ``__init__``::

    sampler: {name: TPESampler, options: {n_startup_trials: 20, multivariate: true}}
    sampler: {name: tpe, options: {n_startup_trials: 40}}     # codesign's tpe, one setting changed

Options are checked against the constructor's signature (names, and types where the annotation
can be read), must be JSON values (a space file cannot give a Python object), and ``seed``,
``constraints_func`` and the grid's ``search_space`` are codesign's to set. Then the sampler is
built and asked for one design of the space in a throw-away study, so a sampler that cannot
search the space (CmaEsSampler with several objectives, BruteForceSampler with a float range)
is refused at load time, not after the search started.
"""

from __future__ import annotations

import difflib
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from pydantic import ConfigDict, TypeAdapter, ValidationError

from codesign.errors import CodesignError, did_you_mean
from codesign.spec.loader import locate
from codesign.spec.params import conditions
from codesign.spec.space import Space
from codesign.spec.vocabulary import SAMPLERS

# codesign name -> (optuna class, codesign's constructor arguments); options override them
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("TPESampler", {"multivariate": True, "n_startup_trials": 20}),
    "nsga2": ("NSGAIISampler", {"population_size": 50}),
    "random": ("RandomSampler", {}),
    "qmc": ("QMCSampler", {"scramble": True, "warn_independent_sampling": False, "warn_asynchronous_seeding": False}),
    "grid": ("GridSampler", {}),
    "gp": ("GPSampler", {}),
}
SET_BY_CODESIGN = {
    "seed": "seed is set by codesign: use search.seed (or --seed)",
    "constraints_func": "constraints are set by codesign (the space's constraints, with trial.set_constraint)",
    "search_space": "the grid is built by codesign from the space's domains",
}
_JSON_NOTE = "a space file gives JSON values: numbers, strings, true/false, null, lists, mappings"


def optuna_samplers() -> dict[str, type[optuna.samplers.BaseSampler]]:
    """optuna's sampler classes a space can name: concrete, and every required argument is one
    codesign sets (so not ``PartialFixedSampler``, which needs a sampler object)."""
    out = {}
    for name in optuna.samplers.__all__:
        cls = getattr(optuna.samplers, name)
        if isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler) and not inspect.isabstract(cls):
            if not [p for p in _parameters(cls).values() if p.default is inspect.Parameter.empty
                    and p.name not in SET_BY_CODESIGN]:
                out[name] = cls
    return out


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``cls.__init__`` (no self, no ``*args``/``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters
    return {n: p for n, p in params.items() if n != "self"
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}


def sampler_call(space: Space, name: str) -> tuple[str, dict[str, Any]]:
    """The optuna class and keyword arguments (without ``seed``) of sampler ``name`` for ``space``.

    ``name`` is resolved (not ``auto``). The space's options apply when ``name`` is the sampler
    the space names (a benchmark may build other samplers for the same space). codesign's tpe
    samples conditional parameters with ``group=True`` (TPE's model of conditional spaces).
    """
    cls_name, kwargs = PRESETS.get(name, (name, {}))
    kwargs = dict(kwargs)
    if name == "tpe" and conditions(space):
        kwargs["group"] = True
    spec = space.search.sampler
    if name == spec.name:
        kwargs.update(spec.options)
    return cls_name, kwargs


def check_sampler(space: Space) -> None:
    """Raise :class:`CodesignError` at ``file:line search.sampler...`` unless the space's sampler
    and options build a sampler that can search the space."""
    spec = space.search.sampler
    classes = optuna_samplers()
    if spec.name == "auto" and spec.options:
        raise CodesignError("options need a definite sampler: auto picks tpe or nsga2 by the trial budget; "
                            "name one of them", _where(space, "options"))
    if spec.name not in SAMPLERS and spec.name not in classes:
        raise CodesignError(_unknown(spec.name, classes), _where(space, "name"))
    cls_name, _ = PRESETS.get(spec.name, (spec.name, {}))
    cls = classes[cls_name]
    params = _parameters(cls)
    for key, value in spec.options.items():
        where = _where(space, "options", key)
        if key in SET_BY_CODESIGN:
            raise CodesignError(f"{SET_BY_CODESIGN[key]}; remove {key}", where)
        if key not in params:
            allowed = [p for p in params if p not in SET_BY_CODESIGN]
            raise CodesignError(f"{cls_name} has no option {key!r}{did_you_mean(key, allowed)}; "
                                f"its options: {', '.join(allowed)}", where)
        bad = _not_json(value)
        if bad:
            raise CodesignError(f"{bad}; {_JSON_NOTE}", where)
        problem = _type_problem(cls, params[key], value)
        if problem:
            raise CodesignError(problem, where)
    _try_sampler(space, spec.name, cls_name)


def _where(space: Space, *key: str) -> str:
    path = ("search", "sampler", *key)
    if space._source is None:
        return ".".join(path)
    if key == ("name",) and path not in space._lines:   # the short form: sampler: TPESampler
        path = ("search", "sampler")
    return locate(space._source, space._lines, path)


def _unknown(name: str, classes: Mapping[str, type]) -> str:
    offered = f"use one of: {', '.join(SAMPLERS)} (codesign's settings) or an optuna sampler: {', '.join(classes)}"
    if name in optuna.samplers.__all__:   # PartialFixedSampler, BaseSampler
        return f"optuna's {name} needs Python objects a space file cannot give (fix parameters in the space instead); {offered}"
    lowered = {o.lower(): o for o in [*SAMPLERS, *classes]}   # 'tpesampler' is close to 'TPESampler'
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.6)
    hint = f" (did you mean '{lowered[close[0]]}'?)" if close else ""
    return f"unknown sampler {name!r}{hint}; {offered}"


def _not_json(value: Any, path: str = "") -> str:
    """Why ``value`` is not a JSON value (``""`` if it is)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return ""
    if isinstance(value, list):
        return next((r for i, v in enumerate(value) if (r := _not_json(v, f"{path}[{i}]"))), "")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"key {k!r}{' in ' + path if path else ''} is not a string"
            if r := _not_json(v, f"{path}.{k}" if path else k):
                return r
        return ""
    return f"{value!r}{' at ' + path if path else ''} is a {type(value).__name__}, not a JSON value"


def _annotation_namespace(cls: type) -> dict[str, Any]:
    """Names optuna's string annotations use (some are imported only for type checkers)."""
    from optuna.distributions import BaseDistribution
    from optuna.samplers.nsgaii import BaseCrossover
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

    ns = dict(vars(sys.modules[cls.__module__]))
    ns.update({"Any": Any, "Callable": Callable, "Mapping": Mapping, "Sequence": Sequence, "np": np,
               "FrozenTrial": FrozenTrial, "Study": Study, "TrialState": TrialState,
               "BaseDistribution": BaseDistribution, "BaseCrossover": BaseCrossover,
               "BaseSampler": optuna.samplers.BaseSampler})
    return ns


def _type_problem(cls: type, param: inspect.Parameter, value: Any) -> str:
    """Why ``value`` does not fit the annotation of ``param`` (``""`` if it does or it cannot be read)."""
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return ""
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
    try:
        resolved = eval(ann, _annotation_namespace(cls)) if isinstance(ann, str) else ann  # noqa: S307 (optuna's own annotations)
        adapter = TypeAdapter(resolved, config=ConfigDict(arbitrary_types_allowed=True, strict=True))
    except Exception:   # an annotation naming something not importable: the constructor checks the value
        return ""
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        note = " (a Python object, which a space file cannot give)" if kinds & {"callable_type", "is_instance_of"} else ""
        return f"{cls.__name__}'s {param.name} takes {text}{note}, not {value!r}"
    return ""


def _try_sampler(space: Space, name: str, cls_name: str) -> None:
    """Build the sampler and sample one design of ``space`` in a throw-away in-memory study."""
    from codesign.dse.sampling import distributions, make_sampler

    where = _where(space, "options") if space.search.sampler.options else _where(space, "name")
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sampler = make_sampler(space, name, 0)
            except CodesignError as exc:
                raise CodesignError(exc.what, where) from None
            except Exception as exc:   # the constructor refused a value
                raise CodesignError(f"{cls_name} refused the options: {type(exc).__name__}: {exc}", where) from None
            study = optuna.create_study(directions=[o.direction for o in space.objectives], sampler=sampler)
            try:
                trial = study.ask(distributions(space))
            except Exception as exc:
                raise CodesignError(f"{cls_name} cannot search this space: {type(exc).__name__}: {exc}", where) from None
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    finally:
        optuna.logging.set_verbosity(level)


def build_sampler(space: Space, cls_name: str, kwargs: dict[str, Any], seed: int | None,
                  make_grid: Callable[[], dict[str, list[Any]]]) -> optuna.samplers.BaseSampler:
    """``optuna.samplers.<cls_name>(**kwargs, seed=seed)``; the grid from ``make_grid`` for GridSampler."""
    cls = getattr(optuna.samplers, cls_name)
    if cls_name == "GPSampler":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            raise CodesignError("the gp sampler (GPSampler) needs torch and scipy: pip install torch scipy "
                                "(or choose tpe, nsga2, random, qmc, grid)", "search.sampler") from None
    extra = {"search_space": make_grid()} if cls_name == "GridSampler" else {}
    with warnings.catch_warnings():   # optuna marks some samplers and options experimental; the user chose them
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(**kwargs, **extra, seed=seed)
