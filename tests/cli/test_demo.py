"""`relay demo --quick` tells the whole story, and can be told again in the same directory."""

from __future__ import annotations

import re

from relayml.reports.model_report import HEADINGS
from tests.cli.conftest import Relay, admin_backend
from tests.processes import no_process_outlives


def table_rows(out: str) -> dict[str, str]:
    """The rows of the tables the demo printed, by their first cell."""
    return {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}


def between(out: str, start: str, end: str) -> str:
    """The part of the output from `start` up to `end`."""
    return out[out.index(start) : out.index(end, out.index(start))]


def cells(row: str) -> list[str]:
    return [c.strip() for c in row.split("│")[1:-1]]


def check_serving(
    relay: Relay, out: str, *, primary: int, canary: int, run: int, logged_before: int = 0
) -> int:
    """Chapters 6 and 7: the model server answered, labelled, split, took feedback, rolled back,
    stopped on SIGTERM and left its prediction log in the store. Returns the records this run
    logged (the loop's canary sends batches until it is decided, so the count varies by run);
    `logged_before`: what the earlier runs in the same home logged."""
    model = "tumour-classifier"
    arms = table_rows(between(out, "Per arm, from the answers'", "patients met one model"))
    compared = table_rows(between(out, "relay deployments compare", "vs primary: the drift"))
    out = " ".join(out.split())  # the prose as one line, however the console wrapped it
    assert "relay serve tumour-api --port" in out and "(GET /readyz 200)" in out
    # every answer named its version: the first 200 all the approved one, then the split
    assert "✓ 200/200 answers named the version that gave them" in out
    assert f"{model}@{primary} (200)" in out
    primary_row, canary_row = cells(arms["primary"]), cells(arms["canary"])
    assert primary_row[1] == str(primary) and canary_row[1] == str(canary)
    served = int(primary_row[2]), int(canary_row[2])
    assert sum(served) == 200 and 10 <= served[1] <= 90  # about 20 % of 200, by patient
    assert f"{model}@{primary} ({served[0]}), {model}@{canary} ({served[1]})" in out
    assert "✓ 142/142 patients met one model every time" in out
    # feedback: refused without a token, then five found again by their prediction ids
    assert "✗ refused without a token: 401" in out
    assert "✓ 5/5 found by prediction id" in out
    # the lab's results make every canary-time answer comparable: the arms side by side from
    # the prediction log, the accuracy difference with its test
    assert "posts the other 195 biopsy results" in out
    assert "200 logged answers in" in out and "200 with feedback" in out
    assert f"The canary, {model}@{canary}: accuracy" in out and "(two-proportion z test, p =" in out
    assert cells(compared["primary"])[:3] == ["primary", str(primary), str(served[0])]
    assert cells(compared["canary"])[:3] == ["canary", str(canary), str(served[1])]
    assert "relay_serving_ready 1.0" in out
    assert 'relay_serving_model_info{arm="canary",deployment="tumour-api"' in out
    # DevOps rolled back: the canary gone, everything answered by the primary, pinned
    assert f"serves {model}@{primary} alone (pinned" in out
    assert "✓ 50/50 answers named the version that gave them" in out
    # the server ran on through the monitoring chapters: every answer and golden row logged
    assert "✓ relay serve stopped on SIGTERM (exit 0)" in out
    logged = re.search(r"✓ (\d+) records in \d+ segments for (\d+) answers and 105 golden", out)
    assert logged is not None and int(logged[1]) == int(logged[2]) + 105

    history = relay("deployments", "history", "tumour-api", "-p", "demo", "--json").json()
    assert [(c["action"], c["who"]) for c in history[:6]] == [
        ("promote_canary", "kai"),  # the loop's canary won
        ("set_traffic", "kai"),  # the loop's canary started, after governance approved
        ("set_target", "mia"),  # following production again, to be watched
        ("rollback", "omar"),
        ("set_traffic", "mia"),
        # told again, it follows production already: the last run's promotion comes before
        ("create", "mia") if run == 1 else ("promote_canary", "kai"),
    ]
    feedback = relay("deployments", "feedback-ls", "tumour-api", "-p", "demo", "--json",
                     "--limit", "10000").json()  # fmt: skip
    # 200 in chapter 7, 800 while the monitor watched, 100 a canary batch (two at least)
    assert len(feedback) >= (200 + 800 + 200) * run
    assert {f["who"] for f in feedback} == {"sam", "lab"}
    segments = relay("deployments", "segments", "tumour-api", "-p", "demo", "--json").json()
    assert sum(s["records"] for s in segments) >= logged_before + int(logged[1])
    return int(logged[1])


def check_monitoring(relay: Relay, out: str, *, production: int, candidate: int, run: int) -> None:
    """Chapters 8 to 11: the monitor, the blip that pages nobody, the persistent shift that
    alerts and starts the loop, the loop to a promotion, model shift caught."""
    model = "tumour-classifier"
    windows = table_rows(between(out, "relay monitors history tumour-api", "accuracy est.:"))
    flat = " ".join(out.split())
    # the blip (window 2) is flagged but alerts nobody; windows 3 and 4 are clean again
    assert cells(windows["2"])[3] == "9 of 30" and cells(windows["3"])[3] == "-"
    assert "window 2 closed (100 rows): 9 inputs drifted, predictions drifted" in flat
    blip = between(flat, "batch 2 window 2 closed", "batch 3")
    assert "no alert: not in 2 of the last 3 windows" in blip and "opened" not in blip
    assert "opened" not in between(flat, "batch 3 ", "batch 6 ")
    # the shift from batch 5 alerts at batch 6 (2 of the last 3), and starts the loop once
    at_six = between(flat, "batch 6 window 6 closed", "batch 7")
    assert re.search(r"⚠ \d+ alerts opened \(data_drift: 9, prediction_drift: 2\)", at_six)
    assert "loop retrain started by an alert" in at_six
    assert flat.count("loop retrain started by an alert") == 1
    # ... whose pipeline the same pass runs, on the data the lab re-measured, to governance
    assert "loop retrain: pipeline retrain run" in at_six and "finished" in at_six
    assert "awaiting_approval: promotion request" in at_six
    # realised accuracy falls on the shifted windows while the label-free estimate does not
    for seq in ("5", "6", "7", "8"):
        row = cells(windows[seq])
        realised, estimated = int(row[6].rstrip("%")), int(row[5].rstrip("%"))
        assert row[2] == "100" and realised + 5 <= estimated and realised < 92
    assert "CRITICAL realised performance down on accuracy" in flat
    report = relay.home / "reports" / ("monitor-tumour-api.html" if run == 1 else "x")
    if run == 1:
        assert report.is_file() and 'id="window-8"' in report.read_text()
    # the loop: retrained on the re-measured data, a held request, approved, canary, promoted
    assert f"candidate {model}@{candidate}; promotion request" in flat
    assert "✓ gina approves: request approved, held by loop:" in flat
    assert f"{model}@production is still {model}@{production}" in flat
    assert f"✓ promoted: {model}@production is {model}@{candidate}, moved in gina's name" in flat
    assert "significantly better" in between(flat, "What just happened", "Next steps")
    after = re.search(r"more patients from the recalibrated scanners: (\d+)% right, against (\d+)%",
                      flat)  # fmt: skip
    assert after is not None and int(after[1]) > int(after[2]) + 10
    # the monitor follows the deployment: the new version is compared with its own training
    # data (the re-measured tumours), and the alerts raised against the old one resolve
    refs = table_rows(between(out, "relay monitors show", "alerts resolved"))
    trained = re.search(
        r"ran the retraining pipeline in the same monitor pass, on (tumours@\d+)", flat
    )
    assert trained is not None and cells(refs[f"{model}@{candidate}"])[1] == trained[1]
    followed = between(flat, "The monitor follows the deployment", "11. Is what serves")
    assert re.search(r"✓ \d+ alerts resolved themselves, 0 still live", followed)
    assert f"{model}@{candidate} serves now, in place of {model}@{production}" in followed
    runs = relay("loops", "runs", "-p", "demo", "--json").json()
    assert runs[0]["state"] == "promoted" and runs[0]["trigger"] == "alert"
    assert runs[0]["candidate"] == f"{model}@{candidate}"
    # model shift: the demo's server passes, the stale node is caught and alerts at once
    assert f"digest ok serves primary {model}@{candidate}" in flat
    assert f"replay ok 105 golden rows of {model}@{candidate}" in flat
    assert "digest SHIFTED (critical)" in flat
    assert f"golden rows of {model}@{candidate} came back otherwise from {model}@1" in flat
    alerts = relay("alerts", "ls", "-p", "demo", "--json").json()
    shift = {a["subject"]: a["severity"] for a in alerts if a["kind"] == "model_shift"}
    assert shift == {"digest": "critical", "replay": "warning"}
    assert not list((relay.home).glob("stale-store-*"))  # the stale node's store is removed


def test_demo_quick_runs_twice_in_the_same_home(relay: Relay) -> None:
    with no_process_outlives():  # the demo's model server included
        first = relay("demo", "--quick", timeout=300)
    assert first.code == 0, first.err
    chapters = (
        "1. Prepare",
        "2. Train",
        "3. Compare",
        "4. Share",
        "5. Hand the best model",
        "6. Serve it",
        "7. Feedback, a comparison, a rollback",
        "8. Watch it",
        "9. Traffic, a blip, then a real shift",
        "10. The loop",
        "11. Is what serves what was approved?",
        "12. Check",
    )
    for chapter in chapters:
        assert chapter in first.out
    rows = table_rows(first.out)
    assert rows["2026-11"].split("│")[3].strip() == "tumours@1"
    assert "quarantined" in rows["2026-12"]
    # the nightly schedule: its next run, then paused with the reason
    flat = " ".join(first.out.split())  # as a reader sees it, whatever the terminal's width
    assert "Scheduled nightly_prepare at '0 2 * * *' (UTC)" in flat and "next run 20" in flat
    assert "nightly_prepare is paused by" in flat and "new server this week" in flat
    assert "Leaderboard" in first.out
    assert "refused" in first.out and "run.create needs one of" in first.out
    assert "audit_verify(): intact" in first.out
    assert "relay audit verify" in first.out
    # the hand-off: the weak baseline is blocked, the requester may not approve, governance does
    assert "✗ approval refused" in first.out and "✗ self-approval refused" in first.out
    assert "tumour-classifier@production is tumour-classifier@2" in first.out
    # governance writes the compliance report of the model in production, and says where
    compliance = relay.home / "reports" / "tumour-classifier-compliance.html"
    assert str(compliance) in first.out and "chain intact" in first.out
    page = compliance.read_text()
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in page
    assert "tumour-classifier@2" in page and "evidence checked: auc, slices, data, load" in page
    assert (relay.home / "reports" / "tumour-classifier-compliance.md").is_file()
    assert "Traceback" not in first.err
    logged = check_serving(relay, first.out, primary=2, canary=3, run=1)
    check_monitoring(relay, first.out, production=2, candidate=4, run=1)

    with no_process_outlives():
        second = relay("demo", "--quick", timeout=300)
    assert second.code == 0, second.err
    assert "already exists from an earlier demo" in second.out
    assert "nightly_prepare is paused by" in " ".join(second.out.split())  # not paused twice
    assert "tumour-api exists from an earlier demo; mia points it at" in second.out
    check_serving(relay, second.out, primary=6, canary=7, run=2, logged_before=logged)
    check_monitoring(relay, second.out, production=6, candidate=8, run=2)
    assert "The monitor 'tumour-api' of an earlier demo is archived" in second.out
    assert "audit_verify(): intact" in second.out

    # what the demo recorded is there for the CLI: two batches of four runs, artifacts included
    # (and the registry chapter's baseline, one per demo)
    runs = relay("runs", "ls", "--project", "demo", "--json").json()
    trained = [r for r in runs if "family" in r["tags"]]
    assert len(trained) == 8 and len(runs) == 12
    assert {r["tags"]["family"] for r in trained} == {"logreg", "gboost", "forest"}
    others = [r for r in runs if "family" not in r["tags"]]
    assert (
        sorted(r["name"].split("-on-")[0] for r in others)
        == ["baseline-prior"] * 2 + ["retrain"] * 2
    )  # the loop's pipeline ran once per demo, as kai
    assert {r["user"] for r in others if r["name"].startswith("retrain")} == {"kai"}
    best = relay(
        "runs", "ls", "--project", "demo", "--order-by", "metrics.roc_auc DESC", "--json"
    ).json()[0]
    assert best["metrics"]["roc_auc"] > 0.95
    paths = [a["path"] for a in relay("artifacts", "ls", best["id"], "--json").json()]
    assert paths == ["classification_report.txt", "model.skops", "report.html"]
    assert relay("audit", "verify").code == 0
    moves = relay("models", "history", "tumour-classifier", "-p", "demo", "--json").json()
    # the serving chapter registered the runner-up as a version of its own (3, then 7), and the
    # loop's retrained candidate won production from the approved model (2, then 6)
    assert [(m["alias"], m["to_version"]) for m in moves] == [
        ("production", 8),
        ("production", 6),
        ("production", 4),
        ("production", 2),
    ]
    assert all(m["request_id"] and m["by"] == "gina" for m in moves)


def test_demo_model_artifact_loads_back_with_skops(relay: Relay) -> None:
    assert relay("demo", "--quick", timeout=300).code == 0
    gboost = relay(
        "runs", "ls", "--project", "demo", "--filter", "tags.family = 'gboost'", "--json"
    ).json()[0]
    dest = relay.home.parent / "model"
    assert relay("artifacts", "get", gboost["id"], "model.skops", "--dest", str(dest)).code == 0

    import skops.io as sio

    path = dest / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert type(model).__name__ == "GradientBoostingClassifier"
    assert int(gboost["params"]["n_estimators"]) == model.n_estimators_

    # the validation curve was logged once per boosting iteration, steps 1..n
    with admin_backend(relay.home) as backend:
        history = backend.tracking.metric_history(gboost["id"], "val_loss")
    assert [p.step for p in history] == list(range(1, model.n_estimators_ + 1))
