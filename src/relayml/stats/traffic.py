"""A deployment's recent traffic, from its prediction log: requests per minute for each arm and
the latency percentiles of each arm's requests (`relay deployments traffic`, the UI's page).

The input is one row per answered request and arm (the log holds a row per predicted row; the
caller groups them by request first): when it was answered, on which arm and version, how long
it took and how many rows it held. Minutes are UTC clock minutes; the last one is the minute in
progress.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from relayml.domain.deployment_traffic import ArmLatency, Traffic, check_minutes

PERCENTILES = (50, 95, 99)
ARM_ORDER = {"primary": 0, "canary": 1, "shadow": 2}


def window(as_of: datetime, minutes: int) -> datetime:
    """The first minute's start of a `minutes`-minute window ending with `as_of`'s minute."""
    minutes = check_minutes(minutes)
    current = as_of.replace(second=0, microsecond=0)
    return current - timedelta(minutes=minutes - 1)


def traffic(
    *,
    ts_us: npt.NDArray[np.int64],
    arm: npt.NDArray[np.object_],
    version: npt.NDArray[np.int64],
    latency_ms: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    as_of: datetime,
    minutes: int,
) -> Traffic:
    """Summarise requests (one entry per request and arm) answered in the window that ends
    with `as_of`'s minute; requests outside it are left out."""
    start = window(as_of, minutes)
    start_us = int(start.timestamp() * 1_000_000)
    minute = (ts_us - start_us) // 60_000_000
    inside = (minute >= 0) & (minute < minutes)
    minute, arm, version = minute[inside], arm[inside], version[inside]
    latency_ms, rows = latency_ms[inside], rows[inside]
    per_minute: dict[str, tuple[int, ...]] = {}
    arms: list[ArmLatency] = []
    for name in sorted({str(a) for a in arm}, key=lambda a: (ARM_ORDER.get(a, 9), a)):
        mine = arm == name
        counts = np.bincount(minute[mine].astype(np.int64), minlength=minutes)
        per_minute[name] = tuple(int(c) for c in counts)
        for v in sorted({int(x) for x in version[mine]}):
            sel = mine & (version == v)
            arms.append(
                ArmLatency(
                    arm=name,
                    version=v,
                    requests=int(sel.sum()),
                    rows=int(rows[sel].sum()),
                    latency_ms=_percentiles(latency_ms[sel]),
                )
            )
    return Traffic(
        start=start,
        minutes=minutes,
        as_of=as_of,
        per_minute=per_minute,
        arms=tuple(arms),
        requests=len(minute),
        rows=int(rows.sum()),
    )


def _percentiles(values: npt.NDArray[np.float64]) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {f"p{q}": float("nan") for q in PERCENTILES}
    found = np.percentile(finite, PERCENTILES)
    return {f"p{q}": float(x) for q, x in zip(PERCENTILES, found, strict=True)}
