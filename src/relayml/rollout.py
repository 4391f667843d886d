"""Did the model server take the change? `relay deploy ... --wait` and `relay deployments
set-target ... --wait` ask a running `relay serve` (its URL given) until it serves exactly what the
deployment now resolves to (every arm's version and sha256, and ready), then smoke-test it: a
prediction request (the given records, or one row built from the signature as the server's own
warm-up builds it) must be answered 200 by a version the deployment serves. A server keeps
serving the old version while a new one fails to load, so a failed wait leaves the old one
answering; the CLI then rolls the record back to match.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relayml.domain.deployments import Resolution
from relayml.domain.models import ColumnType, Signature
from relayml.errors import InvalidInput

DEFAULT_TIMEOUT = 120.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Outcome:
    """How the wait ended: `ok`, and what was seen (for the error line)."""

    ok: bool
    message: str


def example_record(signature: Signature | None) -> dict[str, Any]:
    """One row of the signature's columns with a plain value of each type (the values the
    server warms a model up with)."""
    if signature is None:
        raise InvalidInput(
            "the version has no signature, so no smoke row can be built; give --smoke FILE "
            "(JSON records) to smoke-test it"
        )
    plain = {
        ColumnType.FLOAT: 0.0,
        ColumnType.INTEGER: 0,
        ColumnType.BOOLEAN: False,
        ColumnType.DATETIME: "2000-01-01T00:00:00+00:00",
        ColumnType.STRING: "",
    }
    return {c.name: plain[c.type] for c in signature.inputs}


def read_records(path: Path) -> list[dict[str, Any]]:
    """Smoke records from a JSON file: a list of objects, or ``{"records": [...]}``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read smoke records from {path}: {exc}") from None
    records = doc.get("records") if isinstance(doc, dict) else doc
    if (
        not isinstance(records, list)
        or not records
        or not all(isinstance(r, dict) for r in records)
    ):
        raise InvalidInput(
            f'{path} must hold a non-empty JSON list of records (objects), or {{"records": [...]}}'
        )
    return records


def _expected(res: Resolution) -> dict[str, tuple[int, str]]:
    return {a.role.value: (a.version, a.digest) for a in res.arms}


def _served(doc: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {a["arm"]: (int(a["version"]), str(a["digest"])) for a in doc.get("arms", [])}


def _describe(arms: dict[str, tuple[int, str]]) -> str:
    return ", ".join(f"{role} v{v}" for role, (v, _) in sorted(arms.items())) or "nothing"


def wait_served(
    url: str, res: Resolution, *, timeout: float = DEFAULT_TIMEOUT, client: Any = None
) -> Outcome:
    """Ask ``GET {url}/deployments/{name}`` until the server is ready with every arm of `res`
    at its version and digest, or `timeout` seconds have passed."""
    import httpx

    want = _expected(res)
    seen, problem = "no answer", None
    deadline = time.monotonic() + timeout
    http = client or httpx.Client(timeout=5.0)
    try:
        while True:
            try:
                reply = http.get(f"{url}/deployments/{res.deployment}")
                if reply.status_code == 200:
                    doc = reply.json()
                    served = _served(doc)
                    problem = doc.get("problem") or problem
                    seen = f"serving {_describe(served)}" + (
                        "" if doc.get("ready") else ", not ready"
                    )
                    if doc.get("ready") and served == want:
                        return Outcome(True, f"serving {_describe(served)}")
                else:
                    seen = f"answered {reply.status_code} to GET /deployments/{res.deployment}"
            except httpx.HTTPError as exc:
                seen = f"unreachable ({type(exc).__name__})"
            if time.monotonic() >= deadline:
                why = f"; the server says: {problem}" if problem else ""
                return Outcome(
                    False,
                    f"the model server at {url} did not serve {_describe(want)} of "
                    f"{res.deployment} within {timeout:g} s (it is {seen}){why}",
                )
            time.sleep(POLL_SECONDS)
    finally:
        if client is None:
            http.close()


def smoke(
    url: str, res: Resolution, records: list[dict[str, Any]], *, client: Any = None
) -> Outcome:
    """``POST {url}/deployments/{name}/predict`` with `records`: answered 200 by a version and
    digest the deployment serves now."""
    import httpx

    served = {(a.version, a.digest) for a in res.arms}
    http = client or httpx.Client(timeout=30.0)
    where = f"{url}/deployments/{res.deployment}/predict"
    try:
        reply = http.post(where, json={"records": records})
    except httpx.HTTPError as exc:
        return Outcome(False, f"smoke request to {where} failed: {type(exc).__name__}: {exc}")
    finally:
        if client is None:
            http.close()
    if reply.status_code != 200:
        text = reply.text[:300]
        return Outcome(False, f"smoke request answered {reply.status_code}: {text}")
    version = reply.headers.get("relay-model-version", "")
    digest = reply.headers.get("relay-model-digest", "")
    if not version.isdigit() or (int(version), digest) not in served:
        return Outcome(
            False,
            f"smoke request answered by version {version or '?'} (sha256 {digest[:12] or '?'}), "
            f"which the deployment does not serve now",
        )
    return Outcome(True, f"smoke request of {len(records)} record(s) answered by version {version}")
