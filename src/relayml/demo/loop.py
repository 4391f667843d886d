"""Chapter 10: the closed loop. The data engineer publishes what the lab re-measured on the
recalibrated scanners; the alert's loop run retrains on it, evaluates the candidate against the
model in production and opens a held promotion request; governance approves; the candidate
serves half the traffic as a canary pinned by version; the biopsies come back; the canary is
significantly better and the loop promotes it (the alias moves, in the approver's name).

The runner's turns are `relay loops run --once`'s (relay.loops.tick), as the MLOps engineer.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

import relayml as relay
from relayml.demo import traffic
from relayml.demo.governance import PROJECT
from relayml.demo.monitoring import LOOP, WINDOW, Watched
from relayml.demo.registry import MODEL, OFFICER
from relayml.demo.serving import (
    MLOPS,
    ServingStory,
    wait_for_arms,
)
from relayml.domain.loops import LoopRun, LoopState
from relayml.errors import RelayError

CANARY_BATCHES = 6  # at most; the canary is usually decided after two or three


@dataclass
class Looped:
    """What chapter 10 did, for the chapters after it and the closing panel."""

    run: str = ""
    training: str = ""  # the dataset version the loop's pipeline trained on
    holdout: str = ""
    holder: str = ""  # MODEL@N in production before
    candidate: str = ""
    request: str = ""
    verdict: str = ""
    state: str = ""
    accuracy_before: float = 0.0  # on the shifted traffic, the holder's
    accuracy_after: float = 0.0  # the promoted candidate's, on a batch after the promotion


def run_loop(story: ServingStory, watched: Watched) -> Looped:
    """Chapter 10."""
    c, done = story.console, Looped()
    if watched.loop_run is None:
        raise RelayError(
            f"no run of loop {LOOP!r} was started by the monitor's alerts; `relay loops runs` "
            "says what the loop did"
        )
    done.run = watched.loop_run
    done.holder = str(relay.models.get(f"{MODEL}@production").ref)

    done.training, done.holdout = watched.remeasured
    run = relay.loops.get_run(done.run)
    c.print(
        f"The alert's loop run {run.id[:12]} ran the retraining pipeline in the same monitor "
        f"pass, on {done.training}, the newest usable tumours version:"
    )
    if run.state is not LoopState.AWAITING_APPROVAL or run.request is None:
        raise RelayError(f"loop run {run.id} is {run.state.value}: {run.steps[-1].text}")
    done.candidate, done.request = run.candidate or "", run.request
    _evidence(c, run)

    story.act_as(OFFICER)
    (item,) = [i for i in relay.requests.inbox() if i.id == run.request]
    c.print(f"\n[bold]{OFFICER}[/] (governance) finds it in her inbox: {item.title}")
    approved = relay.requests.approve(
        run.request, "evaluated on the recalibrated scanners' data: better than production"
    )
    holder_now = relay.models.get(f"{MODEL}@production").ref
    c.print(
        f"  [green]✓ {OFFICER} approves[/]: request {approved.state.value}, held by "
        f"{approved.hold}; {MODEL}@production is still {holder_now}. Nothing moves before the "
        "canary has shown it on live traffic."
    )

    _tick(story)
    live = story.live_server()
    version = int(done.candidate.rsplit("@", 1)[1])
    waited = wait_for_arms(live, lambda arms: arms.get("canary") == version)
    c.print(
        f"  the server picked up the canary within {waited:.1f} s: {done.candidate}, pinned by "
        "version, answers half the patients; the primary still follows production."
    )
    _canary(story, done)

    story.act_as(MLOPS)
    final = relay.loops.get_run(done.run)
    done.state = final.state.value
    if final.state is not LoopState.PROMOTED:
        raise RelayError(f"loop run {final.id} ended {final.state.value}: {final.steps[-1].text}")
    waited = wait_for_arms(live, lambda arms: arms == {"primary": version})
    c.print(
        f"[green]✓[/] promoted: {MODEL}@production is {done.candidate}, moved in {OFFICER}'s "
        f"name by her approved request; the server serves it to everyone (followed within "
        f"{waited:.1f} s)."
    )
    after = traffic.send(
        c, live.url, traffic.remeasured(story.patients), WINDOW, "after the promotion"
    )
    story.answers += after.answers
    done.accuracy_after = _accuracy(after.answers)
    c.print(
        f"  {len(after.answers)} more patients from the recalibrated scanners: "
        f"{_accuracy(after.answers):.0%} right, against {done.accuracy_before:.0%} for "
        f"{done.holder} on the same kind of traffic before."
    )
    _steps(c, final)
    return done


def _turns(story: ServingStory) -> list[relay.loops.Turn]:
    """One turn of the runner as the MLOps engineer (its pipelines' steps run as him too)."""
    from relayml.pipelines import worker_env

    session = story.act_as(MLOPS)
    env = worker_env(session.settings, story.server, story.tokens[MLOPS])
    return relay.loops.tick(session.backend, PROJECT, env=env)


def _tick(story: ServingStory) -> None:
    """A turn of the runner; what it last said of each run."""
    last = {t.run.id: t for t in _turns(story)}
    for t in last.values():
        story.console.print(f"  {MLOPS}'s runner (relay loops run --once): {t.did}")


def _evidence(c: Console, run: LoopRun) -> None:
    request = relay.requests.get(run.request or "")
    c.print(
        f"  candidate [bold]{run.candidate}[/]; promotion request {request.id} opened in "
        f"{request.requester}'s name, held by the loop, with its evidence:"
    )
    for e in request.evidence:
        mark = "[green]✓[/]" if e.ok else "[red]✗[/]"
        c.print(f"    {mark} {e.name.value:12} {e.summary}")
    for step in run.steps:
        if step.kind.value == "evaluated":
            c.print(f"  against the holder: {step.text}")
    c.print(
        "  [dim]A scale change keeps the holder's ranking (its auc), not its threshold: its "
        "accuracy is what fell, and accuracy is what the canary is decided on.[/]"
    )


def _canary(story: ServingStory, done: Looped) -> None:
    """Shifted traffic in batches, the lab's labels after each, a runner turn after that, until
    the loop decides."""
    c = story.console
    shifted = traffic.remeasured(story.patients)
    c.print(
        f"Traffic from the recalibrated scanners goes on; the lab posts each batch's biopsy "
        f"results after it, and {MLOPS}'s runner compares the arms from the prediction log:"
    )
    holder_answers: list[traffic.Answer] = []
    with traffic.Stream(c, story.live_server().url, CANARY_BATCHES * WINDOW, "canary") as s:
        for batch in range(1, CANARY_BATCHES + 1):
            sent = s.send(shifted, WINDOW, start=batch * 53)
            story.answers += sent.answers
            holder_answers += [a for a in sent.answers if a.arm == "primary"]
            story.wait_for_log()
            story.post_labels(sent.answers)
            said = [t.did for t in _turns(story) if t.run.id == done.run]
            s.print(f"  batch {batch}: {said[0] if said else 'nothing to do'}")
            if relay.loops.get_run(done.run).ended:
                break
    done.accuracy_before = _accuracy(holder_answers)
    final = relay.loops.get_run(done.run)
    compared = [st for st in final.steps if st.kind.value == "compared"]
    done.verdict = compared[-1].text if compared else final.steps[-1].text


def _accuracy(answers: list[traffic.Answer]) -> float:
    return sum(a.right for a in answers) / len(answers) if answers else 0.0


def _steps(c: Console, run: LoopRun) -> None:
    table = Table(title=f"relay loops show {run.id}: every step", title_justify="left")
    for col in ("step", "who", "at", "what"):
        table.add_column(col)
    for st in run.steps:
        table.add_row(st.kind.value, st.actor, f"{st.at:%H:%M:%S}", st.text)
    c.print(table)


def summary(done: Looped) -> str:
    """The closing panel's lines for chapter 10."""
    return (
        f"• The alert started loop run {done.run[:12]}: the pipeline retrained on "
        f"{done.training} (the lab's archive re-measured), {done.candidate} was evaluated "
        f"against {done.holder} on {done.holdout} in a held request, {OFFICER} approved, it "
        f"served half the traffic as a canary pinned by version, and the loop {done.state} it: "
        f"{done.verdict}. On the recalibrated scanners' traffic: {done.accuracy_before:.0%} "
        f"right before, {done.accuracy_after:.0%} after.\n"
    )
