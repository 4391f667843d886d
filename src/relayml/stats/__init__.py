"""Pure numeric code: drift statistics on mergeable sketches, returning result dataclasses.

Nothing here renders or does I/O beyond reading input tables; ``relayml.drift`` is the SDK door.
"""

from relayml.stats.decision import Effect, Signal, Thresholds
from relayml.stats.drift import ColumnDrift, DriftReport, compare_sketches
from relayml.stats.kinds import ColumnKind
from relayml.stats.sketch import CategoricalSketch, NumericSketch, TableSketch

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
