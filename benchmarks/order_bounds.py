"""How tight the mapper's tiling bounds are over every loop order (sliding windows included).

For every layer of the test suite's small convolutions and matrix products with a sliding window
(``tests/test_mapper_optimality.py``: strided, depthwise, dilated, grouped, batched) on its three
small hierarchies, every loop order at every level of every legal tiling is costed by the cost
core; each tiling's lower bound over all orders (the one the mapper prunes pairs and skips
refinement with) is divided by its cheapest order's energy. A ratio above 1 would be a bound
that does not hold; 1.0 is exact. Prints per (hierarchy, layer): tilings, the largest ratio,
the share of tilings whose bound is exact, and the median ratio.

    python benchmarks/order_bounds.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codesign.compiler.orders import window_dims
from tests.test_mapper_optimality import LAYERS
from tests.test_mapspace import order_ratios

HIERARCHIES = ("os_dram_glb", "ws_dram_glb_rf", "rs_rf_bypasses_inputs")


def main() -> None:
    windowed = [layer for layer in LAYERS if window_dims(layer).any()]
    print(f"{'hierarchy':22s} {'layer':18s} {'tilings':>8s} {'max':>8s} {'exact':>7s} {'median':>7s}")
    t0 = time.process_time()
    for hier in HIERARCHIES:
        for layer in windowed:
            r = order_ratios(layer, hier)
            print(f"{hier:22s} {layer.name:18s} {len(r):8d} {r.max():8.6f} {np.mean(r > 1 - 1e-9):7.3f} {np.median(r):7.3f}")
    print(f"({time.process_time() - t0:.1f} s of CPU)")


if __name__ == "__main__":
    main()
