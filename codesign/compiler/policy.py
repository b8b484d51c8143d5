"""Compiler knobs (:class:`SchedulePolicy`) and the per-layer objective the mapper minimizes.

An objective is ``energy`` (pJ), ``latency`` (cycles), ``edp`` (pJ x cycles), or a
lexicographic pair ``"first,second"`` (e.g. ``latency,energy``: the lowest latency, and among
mappings within a relative ``1e-9`` of it the lowest energy). A single objective breaks ties
the same way with a fixed second key (energy -> latency, latency -> energy, edp -> latency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.spec.vocabulary import MAPPER_MODES, MAPPER_OBJECTIVES, SPATIAL_DIMS, STATIONARY_TENSORS

_TIE = {"energy": "latency", "latency": "energy", "edp": "latency"}
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SchedulePolicy:
    """How the mapper chooses a mapping per layer (hashable: part of the mapper's cache key).

    - ``objective``: one of :data:`~codesign.spec.vocabulary.MAPPER_OBJECTIVES`;
    - ``candidates``: mappings costed by the cost core per layer (the search ranks many more
      with its fast reuse model first);
    - ``seed``: kept for reproducible studies (the search itself is deterministic);
    - ``mode``: ``auto`` searches the mapping space; ``fixed`` emulates a naive compiler (one
      loop order, greedy largest tiles, the dataflow's default unroll);
    - ``stationary``: ``any``, or the tensor every level's loop order keeps resident (its
      irrelevant loops innermost);
    - ``spatial_rows`` / ``spatial_cols``: ``dataflow`` (what the array's dataflow unrolls), or
      dimension classes joined by ``+`` (``reduction+group``) that narrow it.
    """

    objective: str = "edp"
    candidates: int = 800
    seed: int = 0
    mode: str = "auto"
    stationary: str = "any"
    spatial_rows: str = "dataflow"
    spatial_cols: str = "dataflow"

    def __post_init__(self) -> None:
        checks = (("objective", MAPPER_OBJECTIVES), ("mode", MAPPER_MODES), ("stationary", STATIONARY_TENSORS),
                  ("spatial_rows", SPATIAL_DIMS), ("spatial_cols", SPATIAL_DIMS))
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f"schedule {name} {getattr(self, name)!r} is not one of: {', '.join(allowed)}")
        if self.candidates < 1:
            raise ValueError("schedule candidates must be at least 1")


def objective_keys(objective: str) -> tuple[str, str]:
    """The (primary, secondary) metrics of ``objective``."""
    parts = objective.split(",")
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], _TIE[parts[0]])


def metric(energy_pj: np.ndarray, cycles: np.ndarray, name: str) -> np.ndarray:
    """``energy`` (pJ), ``latency`` (cycles) or ``edp`` (pJ x cycles) of a batch."""
    if name == "energy":
        return np.asarray(energy_pj, dtype=np.float64)
    if name == "latency":
        return np.asarray(cycles, dtype=np.float64)
    return np.asarray(energy_pj, dtype=np.float64) * np.asarray(cycles, dtype=np.float64)


def objective_values(cost: object, objective: str) -> np.ndarray:
    """The primary value the mapper minimizes for each mapping of a cost batch."""
    return metric(cost.energy_pj, cost.cycles, objective_keys(objective)[0])  # type: ignore[attr-defined]


def ranking(energy_pj: np.ndarray, cycles: np.ndarray, objective: str, legal: np.ndarray | None = None) -> np.ndarray:
    """Indices of a batch from best to worst under ``objective`` (illegal ones last).

    The primary value is compared up to a relative :data:`TIE_TOLERANCE`; ties go to the
    secondary value, then to the lower index (deterministic).
    """
    first, second = objective_keys(objective)
    p, s = metric(energy_pj, cycles, first), metric(energy_pj, cycles, second)
    ok = np.ones(p.shape, dtype=bool) if legal is None else legal
    if not ok.any():
        return np.arange(p.size)
    scale = max(float(p[ok].min()), 1e-300)
    bucket = np.where(ok, np.floor(np.log(np.maximum(p, 1e-300) / scale) / TIE_TOLERANCE), np.inf)
    return np.lexsort((np.arange(p.size), s, bucket))


def best_index(energy_pj: np.ndarray, cycles: np.ndarray, objective: str, legal: np.ndarray) -> int:
    """The best legal mapping of a batch under ``objective`` (see :func:`ranking`)."""
    return int(ranking(energy_pj, cycles, objective, legal)[0])
