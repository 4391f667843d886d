"""`LoopsApi` over REST: loops, their runs, and a runner's `advance` and `decide`."""

from __future__ import annotations

from dataclasses import asdict

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API
from relayml.domain.loops import CanaryEvidence, Loop, LoopRun, LoopSpec, check_run_id
from relayml.wire.loops import CanaryEvidenceOut, LoopOut, LoopRunOut


def _project(project: str) -> str:
    return f"{API}/projects/{seg(project)}"


class HttpLoops:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def attach(self, project: str, name: str, spec: LoopSpec) -> Loop:
        # as given: the server checks the values (durations may be text such as "7d")
        body = {"name": name, **asdict(spec), "on": list(spec.on)}
        found = self.t.call("POST", f"{_project(project)}/loops", json=body)
        return LoopOut.model_validate(found).to_domain()

    def detach(self, project: str, name: str, reason: str) -> Loop:
        path = f"{_project(project)}/loops/{seg(name)}/detach"
        return LoopOut.model_validate(
            self.t.call("POST", path, json={"reason": reason})
        ).to_domain()

    def get(self, project: str, name: str) -> Loop:
        path = f"{_project(project)}/loops/{seg(name)}"
        return LoopOut.model_validate(self.t.call("GET", path)).to_domain()

    def list_loops(self, project: str) -> list[Loop]:
        rows = self.t.call("GET", f"{_project(project)}/loops")
        return [LoopOut.model_validate(r).to_domain() for r in rows]

    def start(self, project: str, name: str, reason: str) -> LoopRun:
        path = f"{_project(project)}/loops/{seg(name)}/runs"
        found = self.t.call("POST", path, json={"reason": reason})
        return LoopRunOut.model_validate(found).to_domain()

    def on_alert(
        self, project: str, deployment: str, kind: str, alert: str, summary: str
    ) -> list[LoopRun]:
        body = {"deployment": deployment, "kind": kind, "alert": alert, "summary": summary}
        rows = self.t.call("POST", f"{_project(project)}/loop-alerts", json=body)
        return [LoopRunOut.model_validate(r).to_domain() for r in rows]

    def get_run(self, run_id: str) -> LoopRun:
        found = self.t.call("GET", f"{API}/loop-runs/{seg(check_run_id(run_id))}")
        return LoopRunOut.model_validate(found).to_domain()

    def list_runs(self, project: str, loop: str | None = None, limit: int = 100) -> list[LoopRun]:
        params = {"loop": loop, "limit": limit}
        rows = self.t.call("GET", f"{_project(project)}/loop-runs", params=params)
        return [LoopRunOut.model_validate(r).to_domain() for r in rows]

    def stop(self, run_id: str, reason: str) -> LoopRun:
        path = f"{API}/loop-runs/{seg(check_run_id(run_id))}/stop"
        found = self.t.call("POST", path, json={"reason": reason})
        return LoopRunOut.model_validate(found).to_domain()

    def advance(self, project: str) -> list[LoopRun]:
        rows = self.t.call("POST", f"{_project(project)}/loop-runs/advance", json={})
        return [LoopRunOut.model_validate(r).to_domain() for r in rows]

    def decide(self, run_id: str, evidence: CanaryEvidence | None) -> LoopRun:
        body = {
            "evidence": CanaryEvidenceOut.from_domain(evidence).model_dump()
            if evidence is not None
            else None
        }
        path = f"{API}/loop-runs/{seg(check_run_id(run_id))}/decide"
        return LoopRunOut.model_validate(self.t.call("POST", path, json=body)).to_domain()
