"""URL path segments for the http client, checked before they go into a URL.

Ids and names are checked here with the service's own checks: a server decodes '%2F' before
routing and an http client drops '..' segments, so a malformed value would otherwise reach
another route instead of being refused as the service refuses it.
"""

from __future__ import annotations

from datetime import timedelta

from relayml.client.http.transport import seg
from relayml.domain.identity import check_name
from relayml.domain.tracking import check_run_id

API = "/api/v1"


def run_seg(run_id: str) -> str:
    return seg(check_run_id(run_id))


def name_seg(kind: str, value: str) -> str:
    return seg(check_name(kind, value))


def project_url(project: str) -> str:
    return f"{API}/projects/{name_seg('project', project)}"


def duration_text(value: str | float | timedelta | None) -> str | None:
    """A duration as the REST API takes it (text: '90s', '7d' or seconds); the server parses
    and checks it with the same rule as the service."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        return repr(value.total_seconds())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)  # refused by the server's parser, with its message
    return repr(float(value))
