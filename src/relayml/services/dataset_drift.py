"""Drift between two published dataset versions, computed on the server for the web UI.

The same steps as `relay.drift.compare("loans@3", "loans@4")` with its default options: the
reference's stored drift summary (id-like columns skipped), the current version's rows
summarised on the reference's bins (`stats.drift_table.compare_table`). Both sides are read
through `DatasetService` with the caller's principal, so the role check and the project are the
service's; quarantined versions may be compared (that is how one looks into them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from relayml.domain.datasets import DatasetVersion
from relayml.domain.identity import Principal
from relayml.errors import InvalidInput
from relayml.scratch import scratch_dir

if TYPE_CHECKING:
    from relayml.services.datasets import DatasetService
    from relayml.stats.drift import DriftReport


@dataclass
class VersionDrift:
    reference: DatasetVersion
    current: DatasetVersion
    report: DriftReport


def compare_versions(
    datasets: DatasetService, who: Principal, project: str, reference: str, current: str
) -> VersionDrift:
    """The drift report of `current` against `reference` (both `name@N`)."""
    import pyarrow.parquet as pq

    from relayml.stats.decision import Thresholds
    from relayml.stats.drift_table import compare_table, skip_columns
    from relayml.stats.sketch import TableSketch

    for side, ref in (("reference", reference), ("current", current)):
        if "@" not in ref:
            raise InvalidInput(f"name the {side} version, e.g. {ref}@1, not {ref!r}")
    ref_version = datasets.get(who, project, reference, allow_quarantined=True)
    summary = datasets.sketch(who, project, reference, allow_quarantined=True)
    try:
        sketch = skip_columns(TableSketch.from_dict(summary), None, None)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{ref_version.ref}'s stored drift summary is unreadable: {exc}"
        ) from exc
    cur_version, chunks = datasets.download(who, project, current, allow_quarantined=True)
    with scratch_dir("drift") as tmp:
        path = tmp / "current.parquet"
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        present = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[c for c in sketch.columns if c in present])
    report = compare_table(sketch, table, thresholds=Thresholds())
    return VersionDrift(ref_version, cur_version, report)
