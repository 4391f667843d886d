"""Chapter 11: model shift. Is what answers at a URL the model the registry says, and does it
still behave like it? The ML engineer checks the demo's server (it passes), then a second node
someone started from a stale copy of the store: same project, deployment and model names, other
bytes. The digest check catches it (critical), the golden-set replay names the rows that
differ, and both are recorded on the monitor, which alerts at once.

The checks are `relay deployments verify NAME --endpoint URL --monitor NAME`'s
(relayml.monitoring.shift); the second node is `relay serve` on a RELAY_HOME of its own.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import relayml as relay
from relayml.demo.governance import PROJECT
from relayml.demo.registry import MODEL
from relayml.demo.server import model_server
from relayml.demo.serving import DEPLOYMENT, ML_ENGINEER, ServingStory
from relayml.monitoring.shift import ShiftReport, check_shift, record_shift

SHOWN = 3  # replay differences printed


@dataclass
class Shifted:
    """What chapter 11 found, for the closing panel."""

    clean: bool = False  # the demo's own server passed both checks
    caught: bool = False  # the stale node failed the digest check
    problem: str = ""
    rows: int = 0  # golden rows the stale node answered otherwise
    golden: int = 0
    alert: str = ""  # the model-shift alert's severity and title


def check(story: ServingStory, monitor: str, stale: str) -> Shifted:
    """Check the demo's server, then a node serving `stale` (a ref in this store) from a store
    of its own."""
    c, done = story.console, Shifted()
    session = story.act_as(ML_ENGINEER)
    live = story.live_server()
    c.print(
        f"[dim]relay deployments verify {DEPLOYMENT} --endpoint {live.url} --monitor {monitor}[/]"
    )
    report = check_shift(session.backend, PROJECT, DEPLOYMENT, live.url)
    record_shift(session.backend, PROJECT, monitor, report)
    story.replayed += report.replay.rows if report.replay is not None else 0
    done.clean = report.passed
    _show(c, report)

    model = relay.models.load(stale).model
    other = story.home / f"stale-store-{uuid.uuid4().hex[:8]}"
    try:
        token = _stale_store(other, model, story.example)
        c.print(
            f"\nA second node behind the clinics' load balancer was brought back from a stale "
            f"copy of the store: it serves {DEPLOYMENT} with that copy's {MODEL} ({stale}'s "
            "bytes, registered there as version 1), and answers like any node."
        )
        with contextlib.ExitStack() as stack:
            with c.status("relay serve on the stale store (a RELAY_HOME of its own)"):
                node = stack.enter_context(
                    model_server(DEPLOYMENT, project=PROJECT, home=other, token=token)
                )
            _caught(story, done, monitor, node.url)
            code = node.stop()
        c.print(f"The stale node is stopped (SIGTERM, exit {code}); its store is removed.")
    finally:
        story.act_as(ML_ENGINEER)
        shutil.rmtree(other, ignore_errors=True)
    shift = [
        a for a in relay.monitors.list_alerts(monitor=monitor) if a.kind.value == "model_shift"
    ]
    for a in shift:
        c.print(
            f"  [bold red]⚠ {a.severity.value}[/] alert in {ML_ENGINEER}'s inbox at once (no "
            f"persistence to wait out): {a.title}"
        )
    if shift:
        worst = max(shift, key=lambda a: a.severity.value == "critical")
        done.alert = f"{worst.severity.value}: {worst.title}"
    return done


def _caught(story: ServingStory, done: Shifted, monitor: str, url: str) -> None:
    c = story.console
    session = story.act_as(ML_ENGINEER)
    c.print(f"[dim]relay deployments verify {DEPLOYMENT} --endpoint {url} --monitor {monitor}[/]")
    report = check_shift(session.backend, PROJECT, DEPLOYMENT, url, settle=1.0)
    record_shift(session.backend, PROJECT, monitor, report)
    _show(c, report)
    done.caught = not report.digest.passed
    done.problem = report.digest.problems[0] if report.digest.problems else ""
    if report.replay is not None:
        done.rows = len({d.row for d in report.replay.differences})
        done.golden = report.replay.rows


def _stale_store(home: Path, model: Any, example: Any) -> str:
    """A store of its own with the demo's project, `model` registered as MODEL@1 and the
    deployment serving it; a token for the node to run as."""
    admin = relay.init(project=PROJECT, home=home)
    token = admin.backend.identity.create_user(ML_ENGINEER, ["ml_engineer"], PROJECT).token
    mv = relay.models.register(MODEL, model, input_example=example, golden=False)
    relay.deployments.create(DEPLOYMENT, mv.ref, reason="restored from a copy")
    return token


def _show(c: Console, report: ShiftReport) -> None:
    digest, replay = report.digest, report.replay
    if digest.passed:
        served = ", ".join(f"{a.role} {a.ref} (sha256 {a.digest[:12]})" for a in digest.served)
        c.print(f"  digest  [green]ok[/]       serves {served}, as the registry resolves it")
    else:
        c.print("  digest  [bold red]SHIFTED[/]  (critical)")
        for problem in digest.problems:
            c.print(f"    {problem}")
    if replay is None or replay.passed is None:
        c.print(f"  replay  skipped: {replay.skipped if replay else 'not asked'}")
    elif replay.passed:
        c.print(
            f"  replay  [green]ok[/]       {replay.rows} golden rows of {replay.version} gave the "
            f"outputs recorded at registration (atol {replay.atol:g})"
        )
    else:
        rows = sorted({d.row for d in replay.differences})
        c.print(
            f"  replay  [red]DIFFERS[/]  {len(rows)} of {replay.rows} golden rows of "
            f"{replay.version} came back otherwise from {replay.answered_by}:"
        )
        for d in replay.differences[:SHOWN]:
            c.print(f"    {d.where}: {d.output} {d.recorded} at registration, {d.served} now")
        for problem in replay.problems:
            c.print(f"    {problem}")


def summary(done: Shifted) -> str:
    """The closing panel's line for chapter 11."""
    clean = "passed both checks" if done.clean else "FAILED a check"
    caught = (
        f"was caught by the digest check, and the replay found {done.rows} of {done.golden} "
        f"golden rows answered otherwise; the {done.alert.split(':', 1)[0]} alert went to the "
        "ML engineer at once"
        if done.caught
        else "was NOT caught"
    )
    return (
        f"• Model shift: the demo's server {clean}; a node started from a stale copy of the "
        f"store (same names, other bytes) {caught}.\n"
    )
