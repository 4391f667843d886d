"""A deployment's live traffic as its prediction log tells it: requests per minute for each arm
and each arm's latency percentiles over the last minutes (the deployment's page in the UI).

The log is the record every server writes (all replicas, every arm, the shadow's mirrored
requests included), so these numbers cover the whole deployment, not one process; they lag by
the servers' segment roll (`relay serve --segment-seconds`, 60 s by default). A model server's
own `/metrics` (Prometheus) is the second-by-second source for one process. Golden-set replays
(model-shift checks) are not traffic and are left out. A page reads at most `MAX_SEGMENTS`
segments or `MAX_ROWS` rows, the newest first, and says how much it left unread.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from relayml.domain.audit import EntityKind
from relayml.domain.deployment_traffic import Traffic
from relayml.domain.deployments import (
    GOLDEN_REQUEST_PREFIX,
    LogSegment,
    check_deployment_name,
    check_time,
)
from relayml.domain.identity import Principal
from relayml.domain.roles import Action
from relayml.services.base import utcnow
from relayml.services.prediction_data import DeploymentLookup

if TYPE_CHECKING:
    import pyarrow as pa

MAX_SEGMENTS = 50
MAX_ROWS = 1_000_000
COLUMNS = ("ts", "arm", "version", "request_id", "prediction_id", "latency_ms")


class DeploymentTrafficMixin(DeploymentLookup):
    def traffic(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        minutes: int = 60,
        as_of: datetime | None = None,
    ) -> Traffic:
        """Requests per minute per arm and latency per arm and version over the `minutes`
        minutes up to `as_of` (default now, its minute in progress), from the newest
        prediction-log segments of that time."""
        import numpy as np
        import pyarrow as pa

        from relayml.stats.traffic import traffic, window  # NumPy: loaded when used

        name = check_deployment_name(name)
        as_of = utcnow() if as_of is None else check_time("as_of", as_of).astimezone(UTC)
        start = window(as_of, minutes)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            segments = tx.deployments.segments(dep, start, as_of)
        newest = sorted(segments, key=lambda s: (s.last_at, s.id), reverse=True)
        chosen: list[LogSegment] = []
        rows = 0
        for seg in newest:
            if len(chosen) == MAX_SEGMENTS or (chosen and rows + seg.records > MAX_ROWS):
                break
            chosen.append(seg)
            rows += seg.records
        parts = [self._requests(seg) for seg in chosen]
        table = pa.concat_tables(parts) if parts else _empty()
        found = traffic(
            ts_us=table["ts"].to_numpy(),
            arm=table["arm"].to_numpy(zero_copy_only=False).astype(object),
            version=table["version"].to_numpy(),
            latency_ms=table["latency_ms"].to_numpy(zero_copy_only=False).astype(np.float64),
            rows=table["rows"].to_numpy(),
            as_of=as_of,
            minutes=minutes,
        )
        unread = newest[len(chosen) :]
        return dataclasses.replace(
            found,
            segments=len(segments),
            segments_read=len(chosen),
            rows_unread=sum(s.records for s in unread),
        )

    def _requests(self, seg: LogSegment) -> pa.Table:
        """One segment's requests: (ts in µs, arm, version, latency_ms, rows) per request and
        arm, golden-set replays left out."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        data = pa.BufferReader(b"".join(self.artifacts.iter_verified(seg.digest)))
        present = set(pq.read_schema(data).names)
        data.seek(0)
        table = pq.read_table(data, columns=[c for c in COLUMNS if c in present])
        n = table.num_rows
        ids = [table[c].cast(pa.string()) for c in ("request_id", "prediction_id") if c in present]
        request = pc.coalesce(*ids) if ids else pa.nulls(n, pa.string())
        arm = table["arm"] if "arm" in present else pa.array(["primary"] * n)
        version = table["version"] if "version" in present else pa.nulls(n, pa.int64())
        latency = table["latency_ms"] if "latency_ms" in present else pa.nulls(n, pa.float64())
        rows = pa.table(
            {
                "ts": table["ts"].cast(pa.timestamp("us", "UTC")).cast(pa.int64()),
                "arm": pc.fill_null(arm.cast(pa.string()), "primary"),
                "version": pc.fill_null(version.cast(pa.int64()), 0),
                "request": request,
                "latency_ms": latency.cast(pa.float64()),
            }
        )
        golden = pc.fill_null(pc.starts_with(rows["request"], GOLDEN_REQUEST_PREFIX), False)
        rows = rows.filter(pc.invert(golden))
        grouped = rows.group_by(["arm", "version", "request"], use_threads=False).aggregate(
            [("ts", "min"), ("latency_ms", "max"), ("ts", "count")]
        )
        return pa.table(
            {
                "ts": grouped["ts_min"],
                "arm": grouped["arm"],
                "version": grouped["version"],
                "latency_ms": grouped["latency_ms_max"],
                "rows": grouped["ts_count"],
            }
        )


def _empty() -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "ts": pa.array([], pa.int64()),
            "arm": pa.array([], pa.string()),
            "version": pa.array([], pa.int64()),
            "latency_ms": pa.array([], pa.float64()),
            "rows": pa.array([], pa.int64()),
        }
    )
