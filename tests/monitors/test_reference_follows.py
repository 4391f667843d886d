"""The reference follows the deployment: after a promotion, windows of the rows the new version
answered are compared with the new version's reference (the dataset its run was trained on and
its outputs there), built once when its rows first arrive; each window says whose reference it
used, persistence counts one reference's windows, day rollups keep versions apart, and the
alert raised against the old reference resolves when the new model takes over, saying why."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from tests.cli.conftest import Relay
from tests.monitors.conftest import FEATURES, P, Served, applicants
from tests.monitors.test_processing import _create

import relayml as relay
from relayml.domain.monitors import AlertKind, AlertState
from relayml.sdk import session

SHIFT = 12.0


def _retrain_on_shifted_data(s: Served) -> LogisticRegression:
    """loans@2 (incomes shifted as in production now) and scorecard@2 trained on it in a run
    that used it; the deployment moves to it."""
    relay.init(P, home=s.home)
    shifted = applicants(3000, SHIFT, seed=7)
    relay.datasets.publish("loans", shifted)
    with relay.start_run(experiment="retrain") as run:
        run.use_dataset("loans@2")
        model = LogisticRegression().fit(shifted[FEATURES], shifted["default"])
        relay.models.register("scorecard", model, run=run, input_example=shifted[FEATURES][:5])
    session.reset()
    s.backend.deployments.set_target(P, "scorecard-api", "scorecard@2", reason="retrained")
    return model


def test_windows_of_a_promoted_version_use_its_own_reference(served: Served) -> None:
    s = served
    b = s.backend
    _create(s)  # hour windows, min 50 rows, alert after 2 of 3
    s.log({0: 0.0, 1: SHIFT, 2: SHIFT, 3: SHIFT})
    b.monitors.process(P, "scorecard-api")
    (old,) = [a for a in b.monitors.list_alerts(P) if a.kind is AlertKind.DATA_DRIFT]
    assert old.subject == "income" and old.details["model_version"] == 1
    v2 = _retrain_on_shifted_data(s)
    # the hour of the switch: 100 rows answered by each version, then the new one only
    s.log({4: SHIFT}, n=100)
    s.log({4: SHIFT, 5: SHIFT, 6: SHIFT, 7: SHIFT}, n=100, model=v2, version=2, seed=300)
    done = b.monitors.process(P, "scorecard-api")
    assert done.note == "" and len(done.closed) == 5
    windows = b.monitors.history(P, "scorecard-api")
    assert [(w.start.hour - s.t0.hour) % 24 for w in windows] == [0, 1, 2, 3, 4, 4, 5, 6, 7]
    assert [w.model_version for w in windows] == [1, 1, 1, 1, 1, 2, 2, 2, 2]
    new = [w for w in windows if w.model_version == 2]
    assert all(w.decided and "income" not in w.flags.get("data_drift", []) for w in new)
    # against loans@2 the shifted incomes are no drift: no alert of the new reference, and the
    # old reference's alert resolved, saying the new model took over
    live = b.monitors.list_alerts(P)
    assert [a for a in live if a.kind is AlertKind.DATA_DRIFT] == [], [a.title for a in live]
    gone = b.monitors.get_alert(P, old.id)
    assert gone.state is AlertState.RESOLVED and gone.resolved_by == "@monitor"
    assert "scorecard@2 serves now, in place of scorecard@1" in gone.notes[-1].text
    # a further pass of the new version's rows: nothing opens, nothing is skipped
    s.log({8: SHIFT}, n=100, model=v2, version=2, seed=300)
    again = b.monitors.process(P, "scorecard-api")
    assert again.closed and again.opened == () and again.note == ""
    # the day's rollups keep the two references apart
    days = b.monitors.rollups(P, "scorecard-api", period="day")
    by_version: dict[int | None, int] = {}
    for d in days:
        by_version[d.model_version] = by_version.get(d.model_version, 0) + d.rows
    assert by_version == {1: 900, 2: 500}


def test_a_version_whose_reference_cannot_be_built_is_passed_over_saying_why(
    served: Served,
) -> None:
    s = served
    _create(s)
    s.log({0: 0.0})
    s.log({1: 0.0}, version=9)  # rows a version the registry does not have answered
    done = s.backend.monitors.process(P, "scorecard-api")
    assert "no reference for scorecard@9" in done.note and "not in the registry" in done.note
    assert [w.model_version for w in s.backend.monitors.history(P, "scorecard-api")] == [1]


def test_a_reference_is_built_once_per_version(served: Served) -> None:
    s = served
    _create(s)
    v2 = _retrain_on_shifted_data(s)
    first = s.backend.monitors.get(P, "scorecard-api").references
    for hour in (0, 1):
        s.log({hour: SHIFT}, n=100, model=v2, version=2, seed=300)
        done = s.backend.monitors.process(P, "scorecard-api")
        assert done.closed and done.note == ""
    assert [w.model_version for w in s.backend.monitors.history(P, "scorecard-api")] == [2, 2]
    refs = s.backend.monitors.get(P, "scorecard-api").references
    assert [(r.model_version, r.dataset) for r in refs] == [(1, "loans@1"), (2, "loans@2")]
    assert refs[0] == first[0] and len(first) == 1
    shown = Relay(s.home)("monitors", "show", "scorecard-api", "-p", P)
    assert "scorecard@1 on loans@1, scorecard@2 on loans@2" in shown.out, shown.out
