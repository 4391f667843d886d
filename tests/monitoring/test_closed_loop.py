"""Alert -> loop with nobody in between, embedded: `relay monitors run` processes the monitor of a
deployment whose traffic shifts for good, the data-drift alert it opens starts the attached
loop (one run for the alert, however many windows and passes repeat it, and none for the
other alerts it opened with), and the same pass runs the loop's retraining pipeline in a
process of its own, whose candidate is evaluated and handed to governance."""

from __future__ import annotations

from relayml.domain.loops import LoopState, StepKind
from relayml.domain.monitors import AlertKind
from relayml.domain.tracking import RunStatus
from tests.cli.conftest import Relay
from tests.monitoring.conftest import Loop
from tests.monitors.conftest import P


def test_a_persistent_shift_starts_the_loop_once_and_the_runner_trains(closed: Loop) -> None:
    s = closed.served
    b = s.backend
    s.log({0: 0.0, 1: 12.0, 2: 12.0, 3: 12.0})
    out, loops = closed.tick()
    (o,) = out
    assert o.error is None and o.result is not None and len(o.result.closed) == 4
    alerts = b.monitors.list_alerts(P)
    drift = [a for a in alerts if a.kind is AlertKind.DATA_DRIFT]
    assert [a.subject for a in drift] == ["income"]
    assert len(alerts) > 1  # prediction drift too: a family the loop does not react to
    (run,) = o.loop_runs
    assert (run.trigger, run.alert) == ("alert", drift[0].id)
    assert f"data_drift alert {drift[0].id}" in run.steps[0].text
    # the same pass ran its pipeline here and took the candidate to governance
    (lo,) = loops
    assert lo.error is None and any(f"run {run.id}" in f"run {t.run.id}" for t in lo.turns)
    now = b.loops.get_run(run.id)
    assert now.state is LoopState.AWAITING_APPROVAL, now.steps[-1].text
    assert now.pipeline_run is not None and now.candidate == "scorecard@2"
    assert b.pipelines.get_run(now.pipeline_run).status is RunStatus.FINISHED
    kinds = [step.kind for step in now.steps]
    assert kinds[:3] == [StepKind.TRIGGERED, StepKind.PIPELINE_STARTED, StepKind.PIPELINE_FINISHED]
    assert (closed.gov.models.inbox(P)[0].id) == now.request
    # the shift persists: the alert grows, no second run (one per alert, not per window)
    s.log({4: 12.0, 5: 12.0})
    out, _ = closed.tick()
    assert out[0].loop_runs == ()
    grown = b.monitors.get_alert(P, drift[0].id)
    assert grown.state.live and grown.windows == 5
    # the run ends; the alert it answered, still open, starts nothing more, and neither do
    # the alerts that were open when it started
    b.loops.stop(run.id, "checking the new scanner first")
    out, loops = closed.tick()
    assert out[0].loop_runs == () and b.loops.list_runs(P) == [b.loops.get_run(run.id)]
    assert loops[0].error is None


def test_the_runner_reports_the_loops_on_the_command_line(closed: Loop) -> None:
    s = closed.served
    s.log({0: 0.0, 1: 12.0, 2: 12.0, 3: 12.0})
    relay = Relay(s.home)
    ran = relay("monitors", "run", "--once", "-p", P)
    assert ran.code == 0, ran.err
    (run,) = s.backend.loops.list_runs(P)
    assert f"loop retrain run {run.id} started by alert {run.alert}" in ran.out
    assert f"credit: loop retrain run {run.id}: pipeline retrain run" in ran.out
    again = relay("monitors", "run", "--once", "-p", P, "--no-loops", "--json")
    assert again.code == 0 and again.json()[0]["loop_runs"] == []
