"""Model shift against a live model server: is what serves the model that was registered, and
does it still behave like it?

    report = check_shift(backend, "default", "churn-api", "http://127.0.0.1:8000")
    report.passed                    # False when either check failed
    report.digest.problems           # ["primary: the registry resolves churn-api to churn@3 ..."]
    report.replay.differences        # [Difference(row=4, where="row 1 of the golden sample", ...)]
    record_shift(backend, "default", "churn-api", report)   # on a monitor: a failure alerts

**Digest.** The server says what it serves (``GET /deployments/{name}``: every arm's model,
version and sha256, which it checked against the bytes it loaded); the registry says what the
deployment resolves to now (`backend.deployments.resolve`). Any difference (another version,
other bytes, another project, an arm missing or extra, a server not ready) fails the check:
critical. A server follows the registry every ``--poll`` seconds, so a difference is asked
again for up to `settle` seconds before it counts.

**Replay.** The golden set recorded at registration (``relayml.flavors.golden``) is sent
through the live endpoint as a client sends rows (JSON records, ``X-Request-Id:
relay-golden-...`` so readers of the prediction log can tell it from traffic); the answer's
labels must equal the recorded ones and its numbers (probabilities, a regressor's values) lie
within `atol`. The differences name the row and the output. A version without a golden set is
skipped, not failed.

User-code level: the registry is read through a Backend with the caller's roles (another
project's user is refused before the server is asked), the server over HTTP.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from relayml.client.base import Backend
from relayml.domain.deployments import GOLDEN_REQUEST_PREFIX, Resolution
from relayml.domain.monitors import Check
from relayml.domain.monitors import check_endpoint as check_url
from relayml.errors import InvalidInput, NotFound, ServerUnavailable
from relayml.flavors.golden import Difference, Golden, differences, read_golden
from relayml.scratch import scratch_dir

DEFAULT_ATOL = 1e-6
DEFAULT_SETTLE = 10.0
REQUEST_ID_PREFIX = GOLDEN_REQUEST_PREFIX
SHOWN = 20  # differences kept in a result's details; the count says how many there were
_POLL = 0.5


@dataclass(frozen=True)
class Arm:
    """One arm as one side sees it: its role, model, version and sha256."""

    role: str
    model: str
    version: int
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "model": self.model, "version": self.version,
                "digest": self.digest}  # fmt: skip


@dataclass(frozen=True)
class DigestCheck:
    """What the registry resolves the deployment to, what the server says it serves, and
    every difference between the two (``passed`` when there is none)."""

    deployment: str
    endpoint: str
    expected: list[Arm]
    served: list[Arm]
    problems: list[str]
    at: datetime

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        """One line: what differs, or what serves."""
        if self.problems:
            return "; ".join(self.problems)
        served = ", ".join(f"{a.role} {a.ref}" for a in self.served)
        return f"{self.endpoint} serves {served}, as the registry resolves {self.deployment}"

    def details(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "deployment": self.deployment,
            "endpoint": self.endpoint,
            "expected": [a.to_dict() for a in self.expected],
            "served": [a.to_dict() for a in self.served],
            "problems": list(self.problems),
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class ReplayCheck:
    """The golden set of `version` sent through the endpoint: who answered, how many rows,
    the tolerance, and the outputs that differ. ``passed`` is None when it could not run
    (the version has no golden set: `skipped` says why)."""

    deployment: str
    endpoint: str
    version: str | None  # the golden set's version, churn@3
    answered_by: str | None  # the version the server said answered, churn@3
    rows: int
    atol: float
    differences: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def passed(self) -> bool | None:
        if self.skipped is not None:
            return None
        return not self.differences and not self.problems

    @property
    def message(self) -> str:
        """One line: how many golden rows came back otherwise (and the first), or why not."""
        if self.skipped is not None:
            return self.skipped
        if self.differences:
            d = self.differences[0]
            rows = len({d.row for d in self.differences})
            return (
                f"{rows} of {self.rows} golden rows of {self.version} came back otherwise from "
                f"{self.endpoint} (answered by {self.answered_by}); first, {d.where}: {d.output} "
                f"{d.recorded!r} at registration, {d.served!r} now"
            )
        if self.problems:
            return "; ".join(self.problems)
        return f"{self.rows} golden rows of {self.version} gave the recorded outputs"

    def details(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "deployment": self.deployment,
            "endpoint": self.endpoint,
            "version": self.version,
            "answered_by": self.answered_by,
            "rows": self.rows,
            "atol": self.atol,
            "different": len(self.differences),
            "rows_different": len({d.row for d in self.differences}),
            "differences": [_difference(d) for d in self.differences[:SHOWN]],
            "problems": list(self.problems),
            "skipped": self.skipped,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class ShiftReport:
    """Both checks of one deployment against one endpoint."""

    project: str
    deployment: str
    endpoint: str
    digest: DigestCheck
    replay: ReplayCheck | None

    @property
    def passed(self) -> bool:
        return self.digest.passed and (self.replay is None or self.replay.passed is not False)

    def to_dict(self) -> dict[str, Any]:
        checks = [{"kind": "digest", "passed": self.digest.passed,
                   "details": self.digest.details()}]  # fmt: skip
        if self.replay is not None:
            checks.append({"kind": "replay", "passed": self.replay.passed,
                           "details": self.replay.details()})  # fmt: skip
        return {"project": self.project, "deployment": self.deployment,
                "endpoint": self.endpoint, "passed": self.passed, "checks": checks}  # fmt: skip


def record_shift(backend: Backend, project: str, monitor: str, report: ShiftReport) -> list[Check]:
    """Record `report`'s checks on `monitor` (`backend.monitors.record_check`): a failed one
    alerts at once (the digest critical, the replay a warning), titled by its message; a
    passing one resolves its alert. A skipped replay is not recorded. The checks recorded."""
    done = [backend.monitors.record_check(project, monitor, "digest", report.digest.passed,
                                          report.digest.details())]  # fmt: skip
    replay = report.replay
    if replay is not None and replay.passed is not None:
        done.append(backend.monitors.record_check(project, monitor, "replay", replay.passed,
                                                  replay.details()))  # fmt: skip
    return done


def _difference(d: Difference) -> dict[str, Any]:
    return {"row": d.row, "where": d.where, "output": d.output, "recorded": d.recorded,
            "served": d.served}  # fmt: skip


def check_endpoint(url: str) -> str:
    """`url` as the checks use it: http(s)://host[:port], no credentials, no trailing slash
    (`domain.monitors.check_endpoint`, the rule a monitor's stored endpoint follows)."""
    import httpx

    url = check_url(url)
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidInput(f"the endpoint {url!r} is not a URL: {exc}") from None
    return url


def _get(http: Any, url: str, path: str) -> Any:
    import httpx

    try:
        return http.get(f"{url}{path}")
    except httpx.HTTPError as exc:
        raise ServerUnavailable(
            f"cannot reach the model server at {url} ({type(exc).__name__}: {exc}); is "
            "`relay serve` running there?"
        ) from None


def _json(reply: Any, url: str, what: str) -> Any:
    try:
        return reply.json()
    except ValueError:
        kind = reply.headers.get("content-type", "?")
        raise InvalidInput(
            f"{url} answered {what} with {reply.status_code} {kind}, not a Relay model "
            "server's JSON; give the URL of `relay serve`"
        ) from None


def served_arms(http: Any, url: str, deployment: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The server's description of `deployment` (None when it does not serve it), and what it
    serves, from ``GET /deployments``."""
    reply = _get(http, url, "/deployments")
    doc = _json(reply, url, "GET /deployments")
    if reply.status_code != 200 or not isinstance(doc, dict) or "deployments" not in doc:
        raise InvalidInput(
            f"{url} answered GET /deployments with {reply.status_code} and no list of "
            "deployments; give the URL of `relay serve`"
        )
    listed = [d for d in doc["deployments"] if isinstance(d, dict)]
    names = [str(d.get("deployment")) for d in listed]
    found = next((d for d in listed if d.get("deployment") == deployment), None)
    return found, names


def _expected(res: Resolution) -> list[Arm]:
    return [Arm(a.role.value, a.model, a.version, a.digest) for a in res.arms]


def _arms(doc: dict[str, Any]) -> list[Arm]:
    return [
        Arm(str(a.get("arm")), str(a.get("model")), int(a.get("version", 0)), str(a.get("digest")))
        for a in doc.get("arms", [])
        if isinstance(a, dict)
    ]


def _compare(
    res: Resolution, project: str, doc: dict[str, Any] | None, names: list[str]
) -> tuple[list[Arm], list[str]]:
    name = res.deployment
    if doc is None:
        return [], [f"the server does not serve {name}; it serves {', '.join(names) or 'nothing'}"]
    served = _arms(doc)
    problems = []
    if doc.get("project") != project:
        problems.append(f"the server serves {name} of project {doc.get('project')!r}, "
                        f"not of {project!r}")  # fmt: skip
    if not doc.get("ready"):
        problems.append(f"the server is not ready to serve {name}: {doc.get('problem')}")
    want = {a.role: a for a in _expected(res)}
    have = {a.role: a for a in served}
    for role in sorted(want.keys() | have.keys()):
        w, h = want.get(role), have.get(role)
        if w is None and h is not None:
            problems.append(f"{role}: the server serves {h.ref} (sha256 {h.digest[:12]}), an "
                            f"arm {name} does not have")  # fmt: skip
        elif h is None and w is not None:
            problems.append(f"{role}: the registry resolves {name} to {w.ref} (sha256 "
                            f"{w.digest[:12]}), the server serves no such arm")  # fmt: skip
        elif w is not None and h is not None and (w.ref, w.digest) != (h.ref, h.digest):
            problems.append(
                f"{role}: the registry resolves {name} to {w.ref} (sha256 {w.digest[:12]}), "
                f"the server serves {h.ref} (sha256 {h.digest[:12]})"
            )
    return served, problems


def check_digest(
    backend: Backend,
    project: str,
    deployment: str,
    endpoint: str,
    *,
    settle: float = DEFAULT_SETTLE,
    client: Any = None,
) -> DigestCheck:
    """What `endpoint` serves for `deployment` against what the registry resolves it to; a
    difference is asked again (registry and server) for up to `settle` seconds, the time a
    server may take to follow a change, before it counts."""
    import httpx

    url = check_endpoint(endpoint)
    if not isinstance(settle, int | float) or isinstance(settle, bool) or not 0 <= settle <= 3600:
        raise InvalidInput(f"settle must be a number of seconds from 0 to 3600, not {settle!r}")
    http = client or httpx.Client(timeout=10.0)
    deadline = time.monotonic() + settle
    try:
        while True:
            res = backend.deployments.resolve(project, deployment)
            doc, names = served_arms(http, url, res.deployment)
            served, problems = _compare(res, project, doc, names)
            if not problems or time.monotonic() >= deadline:
                return DigestCheck(res.deployment, url, _expected(res), served, problems,
                                   datetime.now(UTC))  # fmt: skip
            time.sleep(_POLL)
    finally:
        if client is None:
            http.close()


def golden_of(backend: Backend, project: str, ref: str) -> tuple[str, Golden | None]:
    """The version at `ref` and its golden set read back (None when it has none)."""
    version = backend.models.get(project, ref)
    if version.golden is None:
        return version.ref, None
    with scratch_dir("golden") as tmp:
        path = backend.models.download_golden(project, version.ref, tmp / "golden.parquet")
        return version.ref, read_golden(path.read_bytes(), version.signature)


def check_replay(
    backend: Backend,
    project: str,
    deployment: str,
    endpoint: str,
    *,
    atol: float = DEFAULT_ATOL,
    client: Any = None,
) -> ReplayCheck:
    """The golden set sent through `endpoint`'s predict route for `deployment`, the answer
    compared with the outputs recorded at registration: those of the version that answered
    when the deployment resolves to it (a canary's, say), else of the primary's version."""
    import httpx

    url = check_endpoint(endpoint)
    if not isinstance(atol, int | float) or isinstance(atol, bool) or not 0 <= atol < 1:
        raise InvalidInput(f"the tolerance must be a number from 0 to 1, not {atol!r}")
    res = backend.deployments.resolve(project, deployment)
    live = [a for a in res.arms if a.weight > 0]
    if not live:
        raise NotFound(f"{res.deployment} serves nothing now (archived, or its alias is unset)")
    primary = live[0]
    ref, golden = golden_of(backend, project, f"{primary.model}@{primary.version}")

    def result(answered_by: str | None, rows: int, **more: Any) -> ReplayCheck:
        return ReplayCheck(res.deployment, url, ref, answered_by, rows, float(atol), **more)

    if golden is None:
        return result(None, 0, skipped=f"{ref} has no golden set (registered without an input "
                      "example); nothing to replay")  # fmt: skip
    http = client or httpx.Client(timeout=120.0)
    rid = REQUEST_ID_PREFIX + uuid.uuid4().hex
    where = f"{url}/deployments/{res.deployment}/predict"
    try:
        reply = http.post(where, json={"records": golden.records()},
                          headers={"X-Request-Id": rid})  # fmt: skip
    except httpx.HTTPError as exc:
        raise ServerUnavailable(
            f"cannot reach the model server at {url} ({type(exc).__name__}: {exc}); is "
            "`relay serve` running there?"
        ) from None
    finally:
        if client is None:
            http.close()
    doc = _json(reply, url, f"POST /deployments/{res.deployment}/predict")
    if reply.status_code != 200 or not isinstance(doc, dict):
        said = doc.get("error", {}).get("message") if isinstance(doc, dict) else None
        problem = (f"the server answered the golden set of {ref} with {reply.status_code}: "
                   f"{said or str(doc)[:300]}")  # fmt: skip
        return result(None, len(golden), problems=[problem])
    headers = reply.headers
    answered = f"{headers.get('relay-model', '?')}@{headers.get('relay-model-version', '?')}"
    problems = []
    arm = next((a for a in live if f"{a.model}@{a.version}" == answered), None)
    if arm is None:
        problems.append(f"answered by {answered}, which {res.deployment} does not serve now "
                        f"(compared with the golden set of {ref})")  # fmt: skip
    elif arm is not primary:
        ref, other = golden_of(backend, project, answered)
        if other is None:
            return result(answered, 0, skipped=f"{ref}, which answered, has no golden set")
        golden = other
    try:
        found = differences(golden, doc.get("predictions") or [], doc.get("probabilities"),
                            doc.get("classes"), atol=atol)  # fmt: skip
    except InvalidInput as exc:
        problems.append(f"the answer does not fit the golden set: {exc.message}")
        found = []
    return result(answered, len(golden), differences=found, problems=problems)


def check_shift(
    backend: Backend,
    project: str,
    deployment: str,
    endpoint: str,
    *,
    atol: float = DEFAULT_ATOL,
    settle: float = DEFAULT_SETTLE,
    replay: bool = True,
    client: Any = None,
) -> ShiftReport:
    """Both checks of `deployment` against the model server at `endpoint`: the digest first,
    then (unless ``replay=False``) the golden-set replay. `client` (an ``httpx.Client``) sets
    the timeouts; by default 10 s for the digest, 120 s for the replay."""
    url = check_endpoint(endpoint)
    digest = check_digest(backend, project, deployment, url, settle=settle, client=client)
    replayed = None
    if replay:
        replayed = check_replay(backend, project, digest.deployment, url, atol=atol, client=client)
    return ShiftReport(project, digest.deployment, url, digest, replayed)


def check_monitor(
    backend: Backend,
    project: str,
    monitor: str,
    endpoint: str | None = None,
    *,
    atol: float = DEFAULT_ATOL,
    settle: float = DEFAULT_SETTLE,
    client: Any = None,
) -> tuple[ShiftReport, list[Check]]:
    """Check `monitor`'s deployment against `endpoint` (default: the monitor's own) and record
    both checks on it (`record_shift`): what `relay monitors check` and the runner do."""
    mon = backend.monitors.get(project, monitor)
    url = endpoint if endpoint is not None else mon.config.endpoint
    if url is None:
        raise InvalidInput(
            f"monitor {mon.name!r} has no endpoint to check; give one with --endpoint URL, or "
            f"keep it on the monitor: relay monitors set-endpoint {mon.name} URL"
        )
    report = check_shift(backend, project, mon.deployment, url, atol=atol, settle=settle,
                         client=client)  # fmt: skip
    return report, record_shift(backend, project, mon.name, report)
