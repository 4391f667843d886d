"""Alerts for failed scheduled runs, delivered as JSON POSTs to a webhook (Slack-style
incoming webhooks, PagerDuty/Opsgenie bridges, or any HTTP endpoint)."""

from __future__ import annotations

import sys
import time
from typing import Any

from relayml.domain.pipelines import PipelineRun

ATTEMPTS = 3
BACKOFF = 0.5


def failure_event(run: PipelineRun) -> dict[str, Any]:
    return {
        "event": "pipeline_run_failed",
        "project": run.project,
        "pipeline": run.pipeline,
        "run_id": run.id,
        "trigger": run.trigger.value,
        "scheduled_for": run.scheduled_for.isoformat() if run.scheduled_for else None,
        "failed_steps": [s.name for s in run.failed_steps],
        "skipped_steps": [s.name for s in run.steps if s.status.value == "skipped"],
        "error": run.error,
        "text": f"Relay: pipeline {run.project}/{run.pipeline} run {run.id} failed: {run.error}",
    }


def deliver(
    url: str, event: dict[str, Any], *, attempts: int = ATTEMPTS, backoff: float = BACKOFF
) -> bool:
    """POST the event; retry on connection errors and 5xx with exponential backoff. Returns
    whether it was accepted (2xx); a delivery that keeps failing is reported on stderr."""
    import httpx

    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=event, timeout=10.0)
            if response.is_success:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:
                break  # the endpoint refuses it; retrying will not help
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    sys.stderr.write(f"relay: could not deliver the alert to {url} ({problem})\n")
    return False
