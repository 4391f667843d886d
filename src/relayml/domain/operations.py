"""What the Relay server reports about the work it holds, for the people who run it: gauges
(open alerts, monitors by status, requests awaiting a decision, loop and pipeline runs under
way, webhook deliveries by status, quarantined dataset versions, live UI sessions, audit
events), read from the store at each scrape of `GET /api/v1/metrics` (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gauge:
    """One Prometheus gauge: its name, what it counts, its label names, and a value per label
    values (every label set the store holds; a gauge with no labels has one value for ())."""

    name: str
    help: str
    labels: tuple[str, ...]
    values: tuple[tuple[tuple[str, ...], float], ...]


@dataclass(frozen=True)
class PlatformStatus:
    gauges: tuple[Gauge, ...]
    schema_revision: str | None
