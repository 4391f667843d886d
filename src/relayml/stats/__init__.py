"""Pure numeric code: drift statistics on mergeable sketches, returning result dataclasses.

Nothing here renders or does I/O beyond reading input tables; ``relayml.drift`` is the SDK door.
The names below load on first use: profiling a dataset (``stats.profile``) needs NumPy only,
and must not pay for SciPy, which the drift tests import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "CategoricalSketch",
    "ColumnDrift",
    "ColumnKind",
    "DriftReport",
    "Effect",
    "NumericSketch",
    "Signal",
    "TableSketch",
    "Thresholds",
    "compare_sketches",
]

if TYPE_CHECKING:
    from relayml.stats.decision import Effect, Signal, Thresholds
    from relayml.stats.drift import ColumnDrift, DriftReport, compare_sketches
    from relayml.stats.kinds import ColumnKind
    from relayml.stats.sketch import CategoricalSketch, NumericSketch, TableSketch

_LAZY = {
    "CategoricalSketch": "relayml.stats.sketch",
    "ColumnDrift": "relayml.stats.drift",
    "ColumnKind": "relayml.stats.kinds",
    "DriftReport": "relayml.stats.drift",
    "Effect": "relayml.stats.decision",
    "NumericSketch": "relayml.stats.sketch",
    "Signal": "relayml.stats.decision",
    "TableSketch": "relayml.stats.sketch",
    "Thresholds": "relayml.stats.decision",
    "compare_sketches": "relayml.stats.drift",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relayml.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
