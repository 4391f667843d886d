"""Traffic that stops: a time monitor with --no-traffic-after N opens one critical alert when
N complete windows in a row had no rows (the model server down, or requests no longer reaching
it), in the inbox at once, and resolves it when a window has rows again. Golden-set replays
are no traffic; a rows monitor cannot have it; no loop may react to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.cli.conftest import Relay
from tests.monitors.conftest import P, Served
from tests.monitors.test_processing import _create

from relayml.domain.loops import LoopSpec
from relayml.domain.monitors import AlertKind, AlertState, Severity
from relayml.errors import InvalidInput


def test_no_rows_for_n_windows_alerts_until_traffic_is_back(served: Served) -> None:
    s = served
    b = s.backend
    _create(s, no_traffic_after=3)  # hour windows from 12 hours ago
    s.log({0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0})  # then nothing for 7 or 8 complete hours
    done = b.monitors.process(P, "scorecard-api")
    (alert,) = b.monitors.list_alerts(P)
    assert alert.id in done.opened
    assert (alert.kind, alert.subject, alert.severity) == (
        AlertKind.NO_TRAFFIC,
        "traffic",
        Severity.CRITICAL,
    )
    assert alert.kind.family == "traffic" and alert.since == s.t0 + timedelta(hours=4)
    assert alert.windows >= 7 and "no traffic: scorecard-api's primary" in alert.title
    assert "is its model server up" in alert.title
    inbox = [i for i in b.models.inbox(P) if i.id == alert.id]
    assert inbox and inbox[0].severity == "critical"
    again = b.monitors.process(P, "scorecard-api")  # still quiet: the same alert, no other
    assert again.opened == () and len(b.monitors.list_alerts(P)) == 1
    s.log({9: 0.0, 10: 0.0})
    back = b.monitors.process(P, "scorecard-api")
    assert back.resolved == (alert.id,) and b.monitors.list_alerts(P) == []
    gone = b.monitors.get_alert(P, alert.id)
    assert gone.state is AlertState.RESOLVED and "traffic is back: window" in gone.notes[-1].text


def test_a_short_gap_does_not_alert(served: Served) -> None:
    s = served
    _create(s, no_traffic_after=3)
    s.log({h: 0.0 for h in (0, 1, 3, 4, 6, 7, 9, 10)})  # gaps of one hour, the last up to now
    s.backend.monitors.process(P, "scorecard-api")
    assert [a for a in s.backend.monitors.list_alerts(P) if a.kind is AlertKind.NO_TRAFFIC] == []


def test_it_is_set_at_creation_refused_where_it_cannot_hold_and_for_loops(served: Served) -> None:
    s = served
    relay = Relay(s.home)
    since = s.t0.strftime("%Y-%m-%dT%H:%M:%S")
    made = relay("monitors", "create", "scorecard-api", "-p", P, "--since", since,
                 "--no-traffic-after", "2", "--min-rows", "50")  # fmt: skip
    assert made.code == 0 and "alerts after 2 windows without rows" in made.out, made.err
    ran = relay("monitors", "run", "--once", "-p", P)
    assert ran.code == 0 and "1 alert(s) opened" in ran.out, ran.out
    rows = relay("monitors", "create", "scorecard-api", "-p", P, "--name", "by-rows",
                 "--window", "500", "--no-traffic-after", "2")  # fmt: skip
    assert rows.code != 0 and "needs time windows" in rows.err and "Traceback" not in rows.err
    with pytest.raises(InvalidInput, match="out of range"):
        s.backend.monitors.create(P, "scorecard-api", name="zero", no_traffic_after=0)
    with pytest.raises(InvalidInput, match="not something a retraining answers"):
        s.backend.loops.attach(P, "restart", LoopSpec(
            pipeline="p", deployment="scorecard-api", on=("traffic",),  # type: ignore[arg-type]
        ))  # fmt: skip
