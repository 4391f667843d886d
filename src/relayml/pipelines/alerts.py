"""Alerts for failed scheduled runs sent by `relay scheduler --webhook URL`: the same platform
event a project's webhooks receive (`pipeline_run.failed`), POSTed through
`relayml.notifications` (signed when $RELAY_ALERT_WEBHOOK_SECRET is set, retried with backoff).
Unlike a project webhook's, these deliveries are not recorded: configure one with
`relay webhooks add` for that."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from relayml.domain.notifications import Event, EventKind, pipeline_run_failed
from relayml.domain.pipelines import PipelineInfo, PipelineRun
from relayml.notifications import deliver as _deliver

ATTEMPTS = 3
BACKOFF = 0.5


def failure_event(run: PipelineRun) -> Event:
    return pipeline_run_failed(run)


def not_started_event(
    info: PipelineInfo, error: str, *, slot: datetime | None = None, dataset: str | None = None
) -> Event:
    """A scheduled run (for a cron slot, or a published dataset version) that could not even
    start (no run exists to report)."""
    payload: dict[str, Any] = {
        "pipeline": info.name,
        "run_id": None,
        "trigger": "schedule" if dataset is None else "dataset",
        "scheduled_for": slot.isoformat() if slot is not None else None,
        "dataset": dataset,
        "failed_steps": [],
        "skipped_steps": [],
        "error": error,
    }
    return Event(
        EventKind.PIPELINE_RUN_FAILED,
        info.project,
        f"pipeline:{info.project}/{info.name}",
        payload,
        datetime.now(UTC),
        text=f"Relay: pipeline {info.project}/{info.name} could not start: {error}",
    )


def deliver(
    url: str,
    event: Event,
    *,
    secret: str | None = None,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
) -> bool:
    """POST the event; returns whether it was accepted (2xx). A delivery that keeps failing is
    reported on stderr."""
    final = _deliver(url, event, secret=secret, attempts=attempts, backoff=backoff)
    if not final.delivered:
        sys.stderr.write(f"relay: could not deliver the alert to {url} ({final.error})\n")
    return final.delivered
