"""Chapters 8 and 9: the ML engineer puts a monitor on the deployment and the MLOps engineer
attaches the retraining loop; then traffic streams in, one batch shifts for a moment, and from
halfway on every input from the clinics' recalibrated scanners is shifted. Labels arrive a batch
late. The monitor's runner passes between batches: the blip does not alert, the persistent
shift does, into the ML engineer's inbox.

Everything goes through the public SDK and the model server's HTTP API, as a user's scripts
would; the monitor passes are `relay monitors run --once`'s (relayml.monitoring.runner.tick).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import relayml as relay
from relayml.demo import traffic
from relayml.demo.data import SCANNER_SCALE
from relayml.demo.governance import PROJECT
from relayml.demo.registry import MODEL
from relayml.demo.serving import DEPLOYMENT, ML_ENGINEER, MLOPS, ServingStory
from relayml.domain.monitors import Alert, AlertKind, Window
from relayml.errors import Conflict, RelayError
from relayml.monitoring import runner

LOOP = "retrain"
WINDOW = 100  # rows per window: small, so the demo closes a few
MIN_ROWS = 50
ALERT_AFTER = "2/3"
BATCHES = 8  # of WINDOW requests each
BLIP = 2  # the batch from one clinic whose scanner was recalibrated for a day
SHIFT_FROM = 5  # from this batch on every clinic's scanner is
CANARY_PERCENT = 50.0
MIN_FEEDBACK = 100


@dataclass
class Watched:
    """What chapters 8 and 9 did, for the chapters after them and the closing panel."""

    monitor: str = ""  # the monitor watching now
    first: str = ""  # the one chapter 9 watched with
    reference: str = ""
    windows: list[Window] = field(default_factory=list)
    alerted_at: int | None = None  # the batch whose monitor pass opened the first alerts
    opened: int = 0  # alerts that pass opened
    alerts: list[Alert] = field(default_factory=list)
    loop_run: str | None = None  # the loop run an alert started
    report: Path | None = None
    remeasured: tuple[str, str] = ("", "")  # the lab's re-measured data: tumours@N, holdout@M
    said: set[str] = field(default_factory=set)  # what the loops' turns said already


def watch(story: ServingStory) -> Watched:
    """Chapter 8: the deployment follows production again, a monitor watches it, and a loop is
    attached that retrains when the inputs drift."""
    c, done = story.console, Watched()
    story.act_as(ML_ENGINEER)
    target = f"{MODEL}@production"
    dep = relay.deployments.set_target(
        DEPLOYMENT, target, reason="follow production again; it is watched from now on"
    )
    c.print(
        f"{ML_ENGINEER} points {DEPLOYMENT} at {target} again (revision "
        f"{dep.revision}): the rollback had pinned it, and a loop can only promote through an "
        "alias the deployment follows."
    )
    name = _free_monitor_name(c, "the demo again: a new monitor", " of an earlier demo")
    c.print(
        f'[dim]relay.monitors.create("{DEPLOYMENT}", name="{name}", window={WINDOW}, '
        f'target="diagnosis", min_rows={MIN_ROWS}, alert_after="{ALERT_AFTER}")[/]'
    )
    mon = relay.monitors.create(
        DEPLOYMENT,
        name=name,
        window=WINDOW,
        target="diagnosis",
        min_rows=MIN_ROWS,
        alert_after=ALERT_AFTER,
    )
    done.monitor, done.reference, done.first = mon.name, mon.config.reference, mon.name
    k, n = mon.config.alert_after.k, mon.config.alert_after.n
    c.print(
        f"[green]✓[/] monitor [bold]{mon.name}[/]: windows of {WINDOW} logged predictions; "
        f"reference {mon.config.reference}, the data {MODEL}@{mon.model_version}'s run trained "
        f"on (found through the registry, not named); a window decides on {MIN_ROWS}+ rows and a "
        f"change alerts once it holds in {k} of the last {n} windows, into the "
        f"{mon.config.owner} inbox."
    )

    story.act_as(MLOPS)
    info = relay.pipelines.register("relayml.demo.retrain:retrain")
    c.print(
        f"\n[bold]{MLOPS}[/] (MLOps engineer) registers the retraining pipeline "
        f"[bold]{info.name}[/] (relayml.demo.retrain: the production recipe on the newest "
        "usable tumours version, registered with a golden set) and attaches a loop to it:"
    )
    c.print(
        f'[dim]relay.loops.attach("{LOOP}", pipeline="{info.name}", deployment='
        f'"{DEPLOYMENT}", on=["data_drift"], evaluate_on="holdout", target="diagnosis", '
        f"canary_percent={CANARY_PERCENT:g}, min_feedback={MIN_FEEDBACK})[/]"
    )
    loop = _attach(info.name, DEPLOYMENT)
    c.print(
        f"[green]✓[/] loop [bold]{loop.name}[/] on {loop.model}@{loop.alias}: a data-drift alert "
        "retrains, the candidate is evaluated against the holder on the newest holdout and "
        "waits for governance in a held promotion request; once approved it serves "
        f"{CANARY_PERCENT:g} % of traffic and is promoted only if it is significantly better "
        f"on {MIN_FEEDBACK} labelled answers per arm. It acts in {loop.created_by}'s name, so "
        f"{loop.created_by} can never approve its requests."
    )
    return done


def _free_monitor_name(c: Console, reason: str, which: str) -> str:
    """The deployment's name the first time; later, the deployment's live monitor is archived
    (its alerts resolve) and the new one gets the next free name."""
    earlier = relay.monitors.list(include_archived=True)
    for mon in earlier:
        if mon.deployment == DEPLOYMENT and mon.status.value != "archived":
            relay.monitors.archive(mon.name, reason=reason)
            c.print(f"The monitor {mon.name!r}{which} is archived: its live alerts resolve.")
    taken = {m.name for m in earlier}
    name, n = DEPLOYMENT, 1
    while name in taken:
        n += 1
        name = f"{DEPLOYMENT}-{n}"
    return name


def _attach(pipeline: str, deployment: str) -> Any:
    for run in relay.loops.runs(LOOP) if _attached() else []:
        if not run.ended:  # an earlier demo stopped half-way: its canary and request go
            relay.loops.stop(run.id, reason="the demo again")
    settings: dict[str, Any] = dict(
        pipeline=pipeline,
        deployment=deployment,
        on=["data_drift"],
        evaluate_on="holdout",
        target="diagnosis",
        canary_percent=CANARY_PERCENT,
        min_feedback=MIN_FEEDBACK,
        params={"dataset": "tumours"},
    )
    try:
        return relay.loops.attach(LOOP, **settings)
    except Conflict:
        relay.loops.detach(LOOP, "the demo again: attached anew")
        return relay.loops.attach(LOOP, **settings)


def _attached() -> bool:
    return any(loop.name == LOOP for loop in relay.loops.list())


def stream(story: ServingStory, done: Watched, dataset: Any, as_admin: Any) -> Watched:
    """Chapter 9: eight batches of traffic, a blip, a persistent shift, late labels; a monitor
    pass after each batch, which hands its alerts to the loop and drives it; the alerts, the
    inbox, the report. `as_admin()` makes the demo's own session current: the data engineer
    publishes what the lab re-measured (`dataset`'s patients) when the scanners change."""
    from relayml.demo.data import publish_remeasured

    c, live = story.console, story.live_server()
    clean, shifted = story.patients, traffic.remeasured(story.patients)
    c.print(
        f"{BATCHES} batches of {WINDOW} patients from the clinics. Batch {BLIP} comes from one "
        "clinic that tried a recalibrated scanner for a day; from batch "
        f"{SHIFT_FROM} on every clinic's scanner is recalibrated: lengths read "
        f"{SCANNER_SCALE:g} times what they were (radius, perimeter), areas "
        f"{SCANNER_SCALE**2:.2g} times. The lab posts each batch's biopsy results a batch "
        "later, in one call; after each batch "
        f"{MLOPS}'s runner makes one monitor pass (relay monitors run --once)."
    )
    previous: traffic.Traffic | None = None
    with traffic.Stream(c, live.url, BATCHES * WINDOW, "patients") as s:
        for batch in range(1, BATCHES + 1):
            if batch == SHIFT_FROM:
                as_admin()
                done.remeasured = publish_remeasured(story.home, dataset)
                s.print(
                    f"  [bold]the clinics' scanners are recalibrated[/]; the lab re-scans its "
                    f"archive of biopsies with them and the data engineer publishes it: "
                    f"{done.remeasured[0]} (prepare pipeline, under the contract) and this "
                    f"month's biopsied patients as {done.remeasured[1]}"
                )
            who = shifted if batch == BLIP or batch >= SHIFT_FROM else clean
            sent = s.send(who, WINDOW, start=batch * 37)
            story.answers += sent.answers
            story.wait_for_log()
            labels = story.post_labels(previous.answers) if previous else 0
            previous = sent
            s.print(_pass_line(batch, _pass(story, done), labels, done))
        story.post_labels(previous.answers if previous else [])
        s.print(_pass_line(None, _pass(story, done), WINDOW, done))
    story.act_as(ML_ENGINEER)
    done.windows = relay.monitors.history(done.monitor)
    _windows_table(c, done, len(clean[0].features))
    _inbox(c, story, done)
    report = story.home / "reports" / f"monitor-{done.monitor}.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    relay.monitors.report(done.monitor, html=report)
    done.report = report
    c.print(
        f"The monitor's report, one self-contained page (a timeline per window, drift per column, "
        f"realised against estimated accuracy, alerts and their notes): {report}"
    )
    return done


def _pass(story: ServingStory, done: Watched) -> tuple[runner.Outcome | None, list[str]]:
    """One pass of the monitors' runner as the MLOps engineer (`relay monitors run --once`):
    this monitor's outcome, and what the loops' turn did that it had not said before (the
    loop's pipeline runs as him too)."""
    from relayml.pipelines import worker_env

    session = story.act_as(MLOPS)
    env = worker_env(session.settings, story.server, story.tokens[MLOPS])
    turns: list[str] = []

    def said(loops: runner.LoopsOutcome) -> None:
        for t in loops.turns:
            line = f"loop {t.run.loop}: {t.did}"
            if t.did not in done.said:
                done.said.add(t.did)
                turns.append(line)
        if loops.error:
            turns.append(f"[red]{loops.error}[/]")

    found = runner.tick(session.backend, PROJECT, env=env, on_loops=said)
    return next((o for o in found if o.monitor == done.monitor), None), turns


def _pass_line(
    batch: int | None,
    passed: tuple[runner.Outcome | None, list[str]],
    labels: int,
    done: Watched,
    head: str | None = None,
) -> str:
    o, turns = passed
    head = head or (f"batch {batch}" if batch is not None else "late labels")
    r = o.result if o is not None else None
    if o is None or r is None:
        return f"  {head}: [red]the pass failed: {o.error if o else 'no monitor'}[/]"
    parts: list[str] = []
    windows = {w.seq: w for w in relay.monitors.history(done.monitor, last=3)}
    for seq in r.closed:
        w = windows.get(seq)
        flagged = _flagged(w) if w else "?"
        parts.append(f"window {seq} closed ({w.rows if w else '?'} rows): {flagged}")
    if labels:
        updated = ", ".join(str(u) for u in r.updated) or "none"
        parts.append(f"{labels} late labels → window {updated} updated")
    line = f"  {head:<11} " + "; ".join(parts or ["nothing new"])
    held = ALERT_AFTER.replace("/", " of the last ")
    if r.opened:
        opened = [relay.monitors.get_alert(a) for a in r.opened]
        kinds = Counter(a.kind.value for a in opened)
        if done.alerted_at is None:
            done.alerted_at, done.opened = batch, len(opened)
        line += (
            f"\n{'':14}[bold red]⚠ {len(opened)} alert{'s' if len(opened) > 1 else ''} "
            "opened[/] ("
            + ", ".join(f"{k}: {n}" for k, n in kinds.items())
            + f"): the change held in {held} windows"
        )
    elif r.grown:
        line += f" · {len(r.grown)} alerts held in one more window"
    elif any(_flagged_at_all(windows.get(seq)) for seq in r.closed):
        line += f" [yellow]· no alert: not in {held} windows[/]"
    for run in o.loop_runs:
        done.loop_run = done.loop_run or run.id
        line += (
            f"\n{'':14}loop [bold]{run.loop}[/] started by an alert: run {run.id[:12]}, once "
            "however many alerts opened; the same pass runs its pipeline"
        )
    if o.error is not None:
        line += f"\n{'':14}[red]{o.error}[/]"
    for turn in turns:
        line += f"\n{'':14}{turn}"
    return line


def _flagged_at_all(w: Window | None) -> bool:
    return w is not None and any(w.flags.get(k) for k in ("data_drift", "prediction_drift"))


def _flagged(w: Window) -> str:
    drifted = w.flags.get(AlertKind.DATA_DRIFT.value, [])
    said = []
    if drifted:
        said.append(f"[yellow]{len(drifted)} inputs drifted[/]")
    if w.flags.get(AlertKind.PREDICTION_DRIFT.value):
        said.append("[yellow]predictions drifted[/]")
    return ", ".join(said) or "[green]nothing flagged[/]"


def _metric(doc: dict[str, Any] | None, part: str) -> str:
    value = ((doc or {}).get(part) or {}).get("accuracy", {}).get("value")
    return "-" if value is None else f"{value:.0%}"


def _windows_table(c: Console, done: Watched, inputs: int) -> None:
    table = Table(
        title=f"relay monitors history {done.monitor}: each window against {done.reference}",
        title_justify="left",
    )
    for col in ("window", "rows", "labels", "inputs drifted", "predictions", "accuracy est.",
                "realised"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("window", "rows", "labels") else "left")
    for w in done.windows:
        drifted = w.flags.get(AlertKind.DATA_DRIFT.value, [])
        table.add_row(
            str(w.seq),
            str(w.rows),
            str(w.labelled),
            f"{len(drifted)} of {inputs}" if drifted else "-",
            "drifted" if w.flags.get(AlertKind.PREDICTION_DRIFT.value) else "-",
            _metric(w.assessment, "estimated"),
            _metric(w.assessment, "realised"),
        )
    c.print(table)
    c.print(
        "  [dim]accuracy est.: without labels, from the model's own probabilities (calibrated on "
        "the reference). The scanner's shift makes the model confidently wrong, which no "
        "label-free estimate can see: the realised column, once the biopsies are back, is the "
        "one that says how wrong.[/]"
    )


def _inbox(c: Console, story: ServingStory, done: Watched) -> None:
    items = [i for i in relay.requests.inbox() if i.kind == "alert"]
    table = Table(
        title=f"relay inbox, as {ML_ENGINEER}: {len(items)} live alerts",
        title_justify="left",
    )
    for col in ("severity", "what changed, how much", "since"):
        table.add_column(col)
    for i in sorted(items, key=lambda i: (i.severity != "critical", i.title)):
        sev = f"[bold red]{i.severity}[/]" if i.severity == "critical" else str(i.severity)
        what = i.title.split(": ", 1)[-1].split(", in ")[0]
        table.add_row(sev, what, f"{i.created_at:%H:%M:%S}")
    c.print(table)
    alerts = relay.monitors.list_alerts(monitor=done.monitor)
    done.alerts = alerts
    if not alerts:
        raise RelayError("the demo's shift opened no alert; the monitor's rule has changed")
    worst = max(alerts, key=lambda a: (a.severity.value == "critical", a.windows))
    shown = worst.details.get("shown") or worst.details.get("latest") or {}
    c.print(f"\n[dim]relay alerts show {worst.id}[/]")
    c.print(f"  [bold]{worst.severity.value.upper()}[/] {worst.title}")
    c.print(
        f"  since {worst.since:%H:%M:%S} (window {worst.first_window}), held in "
        f"{worst.windows} windows; newest {worst.last_window}"
    )
    if isinstance(shown, dict) and shown.get("reason"):
        c.print(f"  why: {shown['reason']}")
    c.print(f"  look: {worst.link}", soft_wrap=True)
    acked = relay.monitors.ack_alert(
        worst.id, note="the clinics' scanners were recalibrated this week; retraining"
    )
    c.print(
        f"{ML_ENGINEER} acknowledges it ({acked.state.value}): someone is on it, and it "
        "stays in the inbox until the condition clears."
    )


def follow(story: ServingStory, done: Watched) -> None:
    """After the promotion the monitor follows the deployment: the rows the new version
    answered are compared with its own training data, and the alerts raised against the old
    model's reference resolve, saying why."""
    c = story.console
    story.wait_for_log()
    passed = _pass(story, done)
    story.act_as(ML_ENGINEER)
    mon = relay.monitors.get(done.monitor)
    c.print(
        f"\nThe monitor follows the deployment, with nobody touching it: {MLOPS}'s next pass "
        "(relay monitors run --once) reads the patients the new model answered."
    )
    c.print(_pass_line(None, passed, 0, done, head="next pass"))
    c.print(
        "  [dim]The rows the old model answered until the promotion (the primary during "
        "the canary) are still compared with its own training data, and drift; the new "
        "model's rows get windows of their own, compared with the data it learnt from.[/]"
    )
    table = Table(
        title=f"relay monitors show {done.monitor}: a reference per model version it has seen",
        title_justify="left",
    )
    for col in ("model version", "compared with", "built"):
        table.add_column(col)
    for ref in mon.references:
        table.add_row(f"{MODEL}@{ref.model_version}", ref.dataset, f"{ref.built_at:%H:%M:%S}")
    c.print(table)
    every = relay.monitors.list_alerts(monitor=done.monitor, include_resolved=True, limit=500)
    resolved = [a for a in every if a.state.value == "resolved"]
    live = [a for a in every if a.state.value != "resolved"]
    why = next((n.text for a in resolved for n in reversed(a.notes) if n.what == "resolved"), "")
    mark = "[green]✓[/]" if resolved and not live else "[red]✗[/]"
    c.print(
        f"  {mark} {len(resolved)} alerts resolved themselves, {len(live)} still live; "
        f"the monitor's note on each: {why or '-'}",
        soft_wrap=True,
    )
    if mon.references:
        done.reference = mon.references[-1].dataset


def _accuracy(w: Window, part: str) -> float | None:
    value = ((w.assessment or {}).get(part) or {}).get("accuracy", {}).get("value")
    return None if value is None else float(value)


def summary(done: Watched) -> str:
    """The closing panel's lines for chapters 8 and 9."""
    shifted = [w for w in done.windows if w.seq >= SHIFT_FROM and _accuracy(w, "realised")]
    realised = [_accuracy(w, "realised") or 0.0 for w in shifted]
    estimated = [_accuracy(w, "estimated") or 0.0 for w in shifted]
    accuracy = (
        f" Realised accuracy on the shifted windows fell to {min(realised):.0%} while the "
        f"label-free estimate stayed near {sum(estimated) / len(estimated):.0%}: the estimate "
        "cannot see a model that is confidently wrong, the late labels can."
        if realised
        else ""
    )
    return (
        f"• {ML_ENGINEER} (ML engineer) put monitor '{done.first}' on {DEPLOYMENT} (windows of "
        f"{WINDOW} rows, alert after {ALERT_AFTER}) and {MLOPS} (MLOps) attached loop "
        f"'{LOOP}'. In {BATCHES} batches, the one-clinic blip (window {BLIP}) was flagged and "
        f"paged nobody; the recalibrated scanners from batch {SHIFT_FROM} opened "
        f"{done.opened} alerts at batch {done.alerted_at} (what changed, how much, since "
        f"when), in the ML engineer's inbox.{accuracy} The report: {done.report}\n"
    )
