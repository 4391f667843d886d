"""Chapters 6 and 7: serving. The ML engineer deploys the approved model (the deployment
follows the production alias), runs the model server on 127.0.0.1, sends traffic, and tries the
runner-up as a canary; the stakeholder sends feedback through the server and the lab's system
the rest of the biopsy results, the arms are compared from the prediction log, the DevOps
engineer reads the metrics and rolls back; the server stops and its log is in the store.

Everything goes through the public SDK and the server's HTTP API, as a user's scripts would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

import relayml as relay
from relayml.client.base import Backend
from relayml.compare import compare
from relayml.demo import traffic
from relayml.demo.governance import PROJECT, STAKEHOLDER, user_token
from relayml.demo.registry import MODEL, OFFICER, model_of_run, split
from relayml.demo.server import ModelServer, model_server
from relayml.errors import Conflict, RelayError
from relayml.sdk.session import Session

DEPLOYMENT = "tumour-api"
ML_ENGINEER = "mia"
DEVOPS = "omar"
LAB = "lab"  # the lab's system, a stakeholder account that posts biopsy results
MLOPS = "kai"  # the MLOps engineer (also an ML engineer): the pipeline, the loop, the runners
CANARY_PERCENT = 20.0
SEGMENT_SECONDS = 0.25  # the log is written often, so each monitor pass sees its batch at once
# the /metrics lines worth a look in the demo (the full list is in docs/serving.md)
METRICS = (
    "relay_serving_ready",
    "relay_serving_model_info",
    "relay_serving_requests_total",
    "relay_serving_model_swaps_total",
    "relay_serving_log_queue_rows",
    "relay_serving_log_records_written_total",
    "relay_serving_log_records_dropped_total",
)


@dataclass
class Served:
    """What the serving chapters did, for the closing panel."""

    primary: str = ""  # the approved version it served, MODEL@N
    canary: str = ""
    requests: int = 0
    arms: dict[str, int] = field(default_factory=dict)
    feedback: int = 0
    verdict: str = ""
    rolled_back_to: str = ""
    segments: int = 0
    records: int = 0


class ServingStory:
    """The two chapters share one model server: `with ServingStory(...) as story:` stops it at
    the end of the block, however the block ends."""

    def __init__(
        self, console: Console, admin: Backend, dataset: Any, home: Path, server: str | None
    ) -> None:
        self.console, self.admin, self.server, self.home = console, admin, server, home
        self.result = Served()
        frame = dataset.to_pandas()
        _, x_val, _, y_val = split(dataset)
        self.example = x_val[:5]
        self.patients = traffic.patients(frame, x_val, y_val)
        self.answers: list[traffic.Answer] = []
        self.canary_answers: list[traffic.Answer] = []
        self.canary_since = self._since = datetime.now(UTC)
        self.tokens: dict[str, str] = {}
        self.realised: dict[str, Any] | None = None  # the canary's, from the comparison
        self.live: ModelServer | None = None
        self.replayed = 0  # golden rows sent to the server by model-shift checks (logged too)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ServingStory:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- chapter 6 -------------------------------------------------------------------------

    def deploy_and_serve(self, n: int) -> None:
        c = self.console
        self.tokens = {
            ML_ENGINEER: user_token(self.admin, ML_ENGINEER, ["ml_engineer"]),
            DEVOPS: user_token(self.admin, DEVOPS, ["devops_engineer"]),
            STAKEHOLDER: self.admin.identity.issue_token(STAKEHOLDER).token,
            LAB: user_token(self.admin, LAB, ["stakeholder"]),
            MLOPS: user_token(self.admin, MLOPS, ["mlops_engineer", "ml_engineer"]),
            OFFICER: self.admin.identity.issue_token(OFFICER).token,
        }
        c.print(
            f"The admin adds [bold]{ML_ENGINEER}[/] (ML engineer), [bold]{DEVOPS}[/] (DevOps "
            f"engineer), [bold]{MLOPS}[/] (MLOps engineer, who also holds ML engineer to run "
            f"the loop's pipeline) and [bold]{LAB}[/] (the lab's system, a stakeholder account) "
            "to the project, each with a token."
        )
        self.act_as(ML_ENGINEER)
        target = f"{MODEL}@production"
        c.print(f'[dim]relay.deployments.create("{DEPLOYMENT}", "{target}")[/]')
        try:
            dep = relay.deployments.create(DEPLOYMENT, target, reason="serve the approved model")
            c.print(
                f"{ML_ENGINEER} deploys {target} as [bold]{DEPLOYMENT}[/] (revision "
                f"{dep.revision}): it follows the alias, so the next approved promotion reaches "
                "the servers without a redeploy."
            )
        except Conflict:
            relay.deployments.set_traffic(DEPLOYMENT, reason="the demo again: no canary")
            dep = relay.deployments.set_target(
                DEPLOYMENT, target, reason="the demo again: follow production"
            )
            c.print(
                f"[bold]{DEPLOYMENT}[/] exists from an earlier demo; {ML_ENGINEER} points it at "
                f"{target} again (revision {dep.revision})."
            )
        (arm,) = relay.deployments.resolve(DEPLOYMENT).arms
        self.result.primary = f"{MODEL}@{arm.version}"

        cmd = f"relay serve {DEPLOYMENT} --port PORT"
        with c.status(f"{cmd} (loading {self.result.primary}, checking its sha256, warming up)"):
            self.live = self._stack.enter_context(
                model_server(
                    DEPLOYMENT,
                    project=PROJECT,
                    home=self.home,
                    token=self.tokens[ML_ENGINEER],
                    server=self.server,
                    segment_seconds=SEGMENT_SECONDS,
                )
            )
        c.print(
            f"[green]✓[/] relay serve {DEPLOYMENT} --port {self.live.port}: ready in "
            f"{self.live.ready_seconds:.1f} s on {self.live.url} (GET /readyz 200), serving "
            f"{self.result.primary} (sha256 {arm.digest[:12]}), running as {ML_ENGINEER}."
        )
        c.print("\nA clinic's form sends one patient at a time:")
        sent = traffic.send(c, self.live.url, self.patients, n, "POST /predict")
        traffic.show(c, sent, MODEL)
        self.answers += sent.answers

    def canary(self, runner_up_run: str, n: int) -> None:
        c, live = self.console, self.live_server()
        self.act_as(ML_ENGINEER)
        mv = relay.models.register(
            MODEL,
            model_of_run(runner_up_run),
            run=runner_up_run,
            input_example=self.example,
            description="the leaderboard's runner-up, tried on live traffic as a canary",
        )
        self.result.canary = mv.ref
        c.print(
            f"\n{ML_ENGINEER} registers the leaderboard's runner-up as {mv.ref} and sends it "
            f"{CANARY_PERCENT:g} % of patients:"
        )
        c.print(
            f'[dim]relay.deployments.set_traffic("{DEPLOYMENT}", canary="{mv.ref}", '
            f'canary_percent={CANARY_PERCENT:g}, sticky_key="{traffic.STICKY_HEADER}")[/]'
        )
        relay.deployments.set_traffic(
            DEPLOYMENT,
            canary=mv.ref,
            canary_percent=CANARY_PERCENT,
            sticky_key=traffic.STICKY_HEADER,
            reason="try the runner-up on a fifth of patients",
        )
        waited = wait_for_arms(live, lambda arms: arms.get("canary") == mv.version)
        self.canary_since = datetime.now(UTC)
        c.print(
            f"[green]✓[/] the server noticed within {waited:.1f} s: loaded {mv.ref}, checked its "
            "sha256, warmed it up and swapped it in (GET /deployments/"
            f"{DEPLOYMENT})."
        )
        sent = traffic.send(c, live.url, self.patients, n, "POST /predict")
        traffic.show(c, sent, MODEL)
        self.result.arms = traffic.show_arms(c, sent, MODEL)
        self.answers += sent.answers
        self.canary_answers = sent.answers

    # -- chapter 7 -------------------------------------------------------------------------

    def feedback(self, how_many: int = 5) -> None:
        c, live = self.console, self.live_server()
        # the wrong answers first (what feedback is for), then right ones, the canary's first
        chosen: dict[str, traffic.Answer] = {}
        seen: set[int] = set()
        for a in sorted(self.canary_answers, key=lambda a: (a.right, a.arm == "primary")):
            if len(chosen) < how_many and a.patient.id not in seen:
                chosen[a.prediction_id] = a
                seen.add(a.patient.id)
        wrong = sum(not a.right for a in chosen.values())
        c.print(
            f"The biopsies came back. [bold]{STAKEHOLDER}[/] (stakeholder) sends the results for "
            f"{len(chosen)} predictions ({wrong} of them wrong) to the server's POST /feedback, "
            "by prediction id:"
        )
        with httpx.Client(base_url=live.url, timeout=30.0) as client:
            anonymous = client.post("/feedback", json={"prediction_id": next(iter(chosen))})
            c.print(f"  [red]✗[/] refused without a token: {anonymous.status_code}")
            auth = {"authorization": f"Bearer {self.tokens[STAKEHOLDER]}"}
            for pid, a in chosen.items():
                body = {
                    "prediction_id": pid,
                    "label": a.patient.diagnosis,
                    "comment": f"biopsy of patient {a.patient.id}: "
                    + ("malignant" if a.patient.diagnosis == 0 else "benign"),
                }
                r = client.post("/feedback", json=body, headers=auth)
                if r.status_code not in (200, 201):
                    raise RelayError(f"feedback was refused ({r.status_code}): {r.text[:300]}")
        self.act_as(ML_ENGINEER)
        found = relay.deployments.list_feedback(DEPLOYMENT, prediction_ids=list(chosen))
        table = Table(
            title=f"{ML_ENGINEER} joins the feedback to the answers by prediction id",
            title_justify="left",
        )
        for col in ("prediction id", "arm", "version", "predicted", "biopsy", "from"):
            table.add_column(col)
        for f in found:
            a = chosen[f.prediction_id]
            mark = "" if a.right else "  [red]✗[/]"
            table.add_row(
                f.prediction_id[:16] + "…",
                a.arm,
                str(a.body_version),
                str(a.prediction),
                f"{f.label}{mark}",
                f.who,
            )
        c.print(table)
        mark = "[green]✓[/]" if len(found) == len(chosen) else "[red]✗[/]"
        c.print(f"  {mark} {len(found)}/{len(chosen)} found by prediction id: an exact join.")

        rest = [a for a in self.canary_answers if a.prediction_id not in chosen]
        self.act_as(LAB)
        c.print(
            f"\nThe lab's system ([bold]{LAB}[/]) posts the other {len(rest)} biopsy results of "
            "the canary's time as delayed ground truth:"
        )
        c.print(
            f'[dim]relay.deployments.submit_feedback("{DEPLOYMENT}", prediction_id, label=...)[/]'
        )
        with c.status(f"{len(rest)} results"):
            for a in rest:
                relay.deployments.submit_feedback(
                    DEPLOYMENT, a.prediction_id, label=a.patient.diagnosis
                )
        self.result.feedback = len(chosen) + len(rest)

    def compare_arms(self) -> None:
        c, live = self.console, self.live_server()
        with c.status("waiting for the server to write the canary's prediction log"):
            wait_for_log(live, len(self.answers))
        session = self.act_as(ML_ENGINEER)
        c.print(
            f"\n{ML_ENGINEER} compares the arms over the canary's time, from the prediction log "
            "and the feedback (relay deployments compare):"
        )
        found = compare(session.backend, PROJECT, DEPLOYMENT, since=self.canary_since)
        c.print(
            f"[dim]relay deployments compare {DEPLOYMENT} --since {self.canary_since:%H:%M:%S}[/]: "
            f"{found.rows} logged answers in {found.segments} segments, {found.feedback} with "
            "feedback"
        )
        table = Table()
        for col in ("arm", "version", "requests", "predicted (share)", "vs primary", "accuracy"):
            table.add_column(col)
        for a in found.arms:
            shares = sorted(a.predictions.items())
            drift = "-" if a.drift is None else ("differs" if a.drift["drifted"] else "same")
            got = a.realised
            table.add_row(
                a.arm,
                str(a.version),
                str(a.requests),
                ", ".join(f"{k}: {v:.0%}" for k, v in shares),
                drift,
                "-" if got is None else f"{got['value']:.1%} of {got['n']}",
            )
        c.print(table)
        c.print(
            "  [dim]vs primary: the drift engine on the two arms' predictions. A sticky canary "
            "answers other patients than the primary, so its predictions may differ for that "
            "reason alone; accuracy on the biopsies is the measure that counts.[/]"
        )
        canary = next((a for a in found.arms if a.arm == "canary"), None)
        if canary is None or canary.realised is None or "pvalue" not in canary.realised:
            self.result.verdict = "no comparison: the canary answered no request with feedback"
            c.print(f"  {self.result.verdict}")
            return
        r = self.realised = canary.realised
        real = "a real difference" if r["real"] else "no real difference"
        self.result.verdict = (
            f"accuracy {r['value']:.1%} against the primary's {r['primary_value']:.1%}: {real} "
            f"({r['test']} test, p = {r['pvalue']:.2g})"
        )
        c.print(f"  The canary, {MODEL}@{canary.version}: {self.result.verdict}.")

    def metrics(self) -> None:
        c, live = self.console, self.live_server()
        text = httpx.get(f"{live.url}/metrics", timeout=30.0).text
        lines = [line for line in text.splitlines() if line.split("{")[0].split(" ")[0] in METRICS]
        c.print(f"\n[bold]{DEVOPS}[/] (DevOps) scrapes GET /metrics (Prometheus); an excerpt:")
        for line in lines:
            c.print(f"  {line}", soft_wrap=True, markup=False, style="dim")

    def roll_back(self, n: int) -> None:
        c, live = self.console, self.live_server()
        self.act_as(DEVOPS)
        c.print(f"\n{self._why_roll_back()} {DEVOPS} (DevOps) rolls the canary back, at once:")
        c.print(f'[dim]relay.deployments.rollback("{DEPLOYMENT}")[/]')
        reason = f"canary: {self.result.verdict}"[:2000]
        dep = relay.deployments.rollback(DEPLOYMENT, reason=reason)
        self.result.rolled_back_to = dep.target
        waited = wait_for_arms(live, lambda arms: "canary" not in arms)
        c.print(
            f"[green]✓[/] {DEPLOYMENT} revision {dep.revision} serves {dep.target} alone "
            f"(pinned; the server followed within {waited:.1f} s). Following the alias again is "
            f"one command: relay deployments set-target {DEPLOYMENT} {MODEL}@production"
        )
        sent = traffic.send(c, live.url, self.patients, n, "POST /predict")
        traffic.show(c, sent, MODEL)
        self.answers += sent.answers
        self._history()

    def stop_and_show_log(self) -> None:
        c, live = self.console, self.live_server()
        with c.status("SIGTERM: answering what is in flight, writing the prediction log"):
            code = live.stop()
        mark = "[green]✓[/]" if code == 0 else "[red]✗[/]"
        c.print(f"\n{mark} relay serve stopped on SIGTERM (exit {code}).")
        self.act_as(ML_ENGINEER)
        segments = relay.deployments.list_segments(DEPLOYMENT, since=self._since)
        table = Table(
            title=f"relay deployments segments {DEPLOYMENT}: what this server wrote",
            title_justify="left",
        )
        for col in ("segment", "records", "first (UTC)", "last (UTC)"):
            table.add_column(col, justify="right" if col == "records" else "left")
        shown = segments if len(segments) <= 6 else [*segments[:3], None, *segments[-2:]]
        for s in shown:
            if s is None:
                table.add_row(f"… {len(segments) - 5} more", "", "", "")
                continue
            table.add_row(
                s.uri.rsplit("/", 1)[-1],
                str(s.records),
                s.first_at.strftime("%H:%M:%S.%f")[:-3],
                s.last_at.strftime("%H:%M:%S.%f")[:-3],
            )
        c.print(table)
        records = sum(s.records for s in segments)
        self.result.segments, self.result.records = len(segments), records
        self.result.requests = len(self.answers)
        expected = len(self.answers) + self.replayed
        mark = "[green]✓[/]" if records == expected else "[red]✗[/]"
        replayed = f" and {self.replayed} golden rows replayed" if self.replayed else ""
        c.print(
            f"  {mark} {records} records in {len(segments)} segments for {len(self.answers)} "
            f"answers{replayed}: one Parquet row per prediction (inputs, outputs, version, arm, "
            "latency), registered in Relay for monitoring to read."
        )
        self._traffic()

    def _traffic(self) -> None:
        """What the deployment's page in the UI charts: requests a minute and latency per arm."""
        found = relay.deployments.traffic(DEPLOYMENT, minutes=15)
        arms = "; ".join(
            f"{a.arm} v{a.version} {a.requests} requests, p50 {a.latency_ms['p50']:.1f} ms, "
            f"p95 {a.latency_ms['p95']:.1f} ms"
            for a in found.arms
        )
        self.console.print(
            f"  relay deployments traffic {DEPLOYMENT} --minutes 15: {found.requests} requests "
            f"from the log, busiest minute {found.peak}; {arms} (the web UI's deployment page "
            "charts the same, refreshed every 30 s)"
        )

    # -- helpers ---------------------------------------------------------------------------

    def _history(self) -> None:
        table = Table(
            title=f"relay deployments history {DEPLOYMENT}: the latest changes",
            title_justify="left",
        )
        for col in ("rev", "action", "who", "served", "canary", "reason"):
            table.add_column(col)
        for ch in relay.deployments.history(DEPLOYMENT)[:4]:
            before = ch.before.primary_version if ch.before else None
            served = f"{before or '-'} → {ch.after.primary_version}"
            canary = ch.after.traffic.canary
            percent = f" {ch.after.traffic.canary_percent:g} %" if canary else ""
            canary = canary.removeprefix(MODEL) if canary else None
            table.add_row(
                str(ch.revision),
                ch.action.value,
                ch.who,
                served,
                f"{canary}{percent}" if canary else "-",
                ch.reason,
            )
        self.console.print(table)

    def _why_roll_back(self) -> str:
        r = self.realised
        if r is None or not r["real"]:
            return "No real difference: the runner-up brings nothing the approved model lacks."
        if r["value"] < r["primary_value"]:
            return "The runner-up is worse, and the difference is real."
        return (
            "The runner-up looks better, but production moves only by an approved promotion "
            "request; until one is approved, the trial ends."
        )

    def act_as(self, user: str) -> Session:
        """Make `user` the SDK's caller from here on."""
        return relay.init(project=PROJECT, server=self.server, token=self.tokens[user])

    def wait_for_log(self) -> None:
        """Until the server has written every answer so far to its prediction log."""
        wait_for_log(self.live_server(), len(self.answers))

    def post_labels(self, answers: list[traffic.Answer]) -> int:
        """The lab posts the biopsy results of `answers` in one call; how many."""
        if answers:
            self.act_as(LAB)
            relay.deployments.submit_feedback_batch(
                DEPLOYMENT,
                [{"prediction_id": a.prediction_id, "label": a.patient.diagnosis} for a in answers],
            )
        return len(answers)

    def live_server(self) -> ModelServer:
        if self.live is None:
            raise RelayError("the model server has not been started")
        return self.live


def wait_for_arms(
    live: ModelServer, done: Callable[[dict[str, int]], bool], timeout: float = 60.0
) -> float:
    """Poll GET /deployments/NAME until the arms it serves (arm -> version) satisfy `done`;
    return how long it took."""
    started = time.monotonic()
    with httpx.Client(base_url=live.url, timeout=10.0) as client:
        while True:
            doc = client.get(f"/deployments/{DEPLOYMENT}").json()
            arms = {a["arm"]: a["version"] for a in doc["arms"]}
            if done(arms):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RelayError(
                    f"the model server still serves {arms} {timeout:.0f} s after the change; "
                    f"its output is in {live.log}"
                )
            time.sleep(0.1)


def wait_for_log(live: ModelServer, answers: int, timeout: float = 60.0) -> None:
    """Poll GET /metrics until the server has written `answers` rows to stored log segments."""
    started = time.monotonic()
    prefix = f'relay_serving_log_records_written_total{{deployment="{DEPLOYMENT}"}} '
    with httpx.Client(base_url=live.url, timeout=10.0) as client:
        while True:
            text = client.get("/metrics").text
            written = sum(
                float(line.removeprefix(prefix))
                for line in text.splitlines()
                if line.startswith(prefix)
            )
            if written >= answers:
                return
            if time.monotonic() - started > timeout:
                raise RelayError(
                    f"the model server wrote {written:.0f} of {answers} prediction-log rows in "
                    f"{timeout:.0f} s; its output is in {live.log}"
                )
            time.sleep(0.2)
