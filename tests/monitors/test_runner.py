"""The monitors' runner (`relay monitors run --once`) hands the alerts a pass opens to the
project's loops: a loop that reacts to the alert's family starts one run, a loop that reacts
to another family does not, and later passes (the alert growing) start nothing more."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.monitors.conftest import P, Served
from tests.monitors.test_processing import _create

from relayml.domain.loops import LoopSpec, LoopState
from relayml.domain.monitors import AlertFamily
from relayml.monitoring import runner
from relayml.pipelines.runner import register

PIPELINE = """
import relayml as relay


@relay.step(cache=False)
def register() -> str:
    return "scorecard@1"


@relay.pipeline
def retrain():
    register()
"""
POLICY = """\
protected:
  live:
    approvals: 1
    approvers: [model_governance]
"""


def _loops(s: Served, tmp_path: Path) -> None:
    b = s.backend
    b.models.set_alias(P, "scorecard@1", "live", "the first model")
    b.models.apply_policy(P, POLICY)
    b.deployments.set_target(P, "scorecard-api", "scorecard@live", reason="follow it")
    module = tmp_path / "retrain.py"
    module.write_text(textwrap.dedent(PIPELINE))
    register(b, f"{module}:retrain", P)
    for name, on in (
        ("on-drift", (AlertFamily.DATA_DRIFT,)),
        ("on-shift", (AlertFamily.MODEL_SHIFT,)),
    ):
        b.loops.attach(P, name, LoopSpec(pipeline="retrain", deployment="scorecard-api", on=on))


def test_an_opened_alert_starts_the_loops_that_react_to_its_family(
    served: Served, tmp_path: Path
) -> None:
    s = served
    _loops(s, tmp_path)
    _create(s)  # hour windows, alert after 2 of 3
    s.log({0: 0.0, 1: 12.0, 2: 12.0})
    (first,) = runner.tick(s.backend, P)
    assert first.error is None and first.result is not None and first.result.opened
    (run,) = first.loop_runs  # one run, however many alerts the pass opened
    assert run.loop == "on-drift" and run.trigger == "alert"
    assert run.state is LoopState.TRIGGERED and run.alert in first.result.opened
    alert = s.backend.monitors.get_alert(P, run.alert or "")
    assert alert.kind.family == "data_drift" and alert.title in run.steps[0].text

    Served(s.backend, s.home, s.model, s.signature, s.t0).log({3: 12.0})
    (second,) = runner.tick(s.backend, P)  # the alerts grow; no second run
    assert second.result is not None and second.result.grown and second.loop_runs == ()
    runs: list[Any] = s.backend.loops.list_runs(P)
    assert [r.id for r in runs] == [run.id]


def test_a_pass_that_opens_no_alert_tells_no_loop(served: Served, tmp_path: Path) -> None:
    s = served
    _loops(s, tmp_path)
    _create(s)
    s.log({0: 0.0, 1: 0.0})
    (outcome,) = runner.tick(s.backend, P)
    assert outcome.result is not None and outcome.result.closed and not outcome.result.opened
    assert outcome.loop_runs == () and s.backend.loops.list_runs(P) == []
