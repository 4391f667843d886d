"""The monitors' and alerts' commands on a real log, as an on-call engineer types them: every
command answers, `--json` prints what REST returns, and alerts are worked from the shell."""

from __future__ import annotations

from tests.cli.conftest import Relay
from tests.monitors.conftest import P, Served


def test_an_on_call_session_from_the_shell(served: Served) -> None:
    s = served
    relay = Relay(s.home)
    since = s.t0.strftime("%Y-%m-%dT%H:%M:%S")
    made = relay("monitors", "create", "scorecard-api", "-p", P, "--target", "default",
                 "--min-rows", "50", "--alert-after", "2/3", "--since", since)  # fmt: skip
    assert made.code == 0, made.err
    assert "monitoring scorecard-api: scorecard-api in windows of 1h, reference loans@1" in made.out
    s.log({0: 0.0, 1: 9.0, 2: 9.0, 3: 9.0})
    ran = relay("monitors", "run", "--once", "-p", P)
    assert ran.code == 0 and "credit/scorecard-api: 4 segments, 800 rows" in ran.out, ran.err
    assert "alert(s) opened" in ran.out
    shown = relay("monitors", "show", "scorecard-api", "-p", P)
    assert shown.code == 0 and "income" in shown.out and "too few rows" not in shown.out
    days = relay("monitors", "history", "scorecard-api", "-p", P, "--by", "day", "--json")
    assert days.code == 0 and sum(d["rows"] for d in days.json()) == 800
    alerts = relay("alerts", "ls", "-p", P, "--json").json()
    income = next(a for a in alerts if a["subject"] == "income")
    assert income["family"] == "data_drift" and income["windows"] == 3
    told = relay("alerts", "show", income["id"], "-p", P)
    assert told.code == 0 and "why: Drifted" in told.out and "relay monitors report" in told.out
    assert relay("alerts", "ack", income["id"], "-p", P, "--note", "on it").code == 0
    assert relay("alerts", "comment", income["id"], "unit change", "-p", P).code == 0
    inbox = relay("inbox", "-p", P)
    assert inbox.code == 0 and "alert (warning)" in inbox.out
    done = relay("alerts", "resolve", income["id"], "-p", P, "--reason", "fixed upstream")
    assert done.code == 0 and "resolved by admin" in done.out
    notes = relay("alerts", "show", income["id"], "-p", P, "--json").json()["notes"]
    assert [n["what"] for n in notes] == ["opened", "acknowledged", "comment", "resolved"]
    assert relay("monitors", "pause", "scorecard-api", "-p", P, "--reason", "upgrade").code == 0
    skipped = relay("monitors", "process", "scorecard-api", "-p", P)
    assert "skipped (monitor is paused)" in skipped.out
    assert relay("monitors", "resume", "scorecard-api", "-p", P).code == 0
    checks = relay("monitors", "checks", "scorecard-api", "-p", P, "--json")
    assert checks.code == 0 and checks.json() == []
    page = s.home.parent / "page.html"
    report = relay("monitors", "report", "scorecard-api", "-p", P, "--html", str(page))
    assert report.code == 0 and page.read_text().count('id="window-') == 4
    gone = relay("monitors", "archive", "scorecard-api", "-p", P, "--json")
    assert gone.code == 0 and gone.json()["status"] == "archived"
