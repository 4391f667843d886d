"""`relay demo --quick` tells the whole story, and can be told again in the same directory."""

from __future__ import annotations

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


def check_serving(relay: Relay, out: str, *, primary: int, canary: int, run: int) -> None:
    """Chapters 6 and 7: the model server answered, labelled, split, took feedback, rolled back,
    stopped on SIGTERM and left its prediction log in the store."""
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
    assert "✓ relay serve stopped on SIGTERM (exit 0)" in out
    assert "✓ 450 records for 450 answers" in out

    history = relay("deployments", "history", "tumour-api", "-p", "demo", "--json").json()
    assert [(c["action"], c["who"]) for c in history[:3]] == [
        ("rollback", "omar"),
        ("set_traffic", "mia"),
        ("create" if primary == 2 else "set_target", "mia"),
    ]
    feedback = relay("deployments", "feedback-ls", "tumour-api", "-p", "demo", "--json").json()
    assert len(feedback) == 200 * run
    assert {f["who"] for f in feedback} == {"sam", "lab"}
    segments = relay("deployments", "segments", "tumour-api", "-p", "demo", "--json").json()
    assert sum(s["records"] for s in segments) == 450 * run


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
        "8. Is production",
        "9. Check",
    )
    for chapter in chapters:
        assert chapter in first.out
    rows = table_rows(first.out)
    assert rows["this week"].split("│")[3].strip() == "none"
    assert rows["next month"].split("│")[3].strip() == "mean_radius, mean_texture"
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
    check_serving(relay, first.out, primary=2, canary=3, run=1)

    with no_process_outlives():
        second = relay("demo", "--quick", timeout=300)
    assert second.code == 0, second.err
    assert "already exists from an earlier demo" in second.out
    assert "nightly_prepare is paused by" in " ".join(second.out.split())  # not paused twice
    assert "tumour-api exists from an earlier demo; mia points it at" in second.out
    check_serving(relay, second.out, primary=5, canary=6, run=2)
    assert "audit_verify(): intact" in second.out
    report = relay.home / "reports" / "drift.html"
    assert report.exists() and "mean_radius" in report.read_text()

    # what the demo recorded is there for the CLI: two batches of four runs, artifacts included
    # (and the registry chapter's baseline, one per demo)
    runs = relay("runs", "ls", "--project", "demo", "--json").json()
    trained = [r for r in runs if "family" in r["tags"]]
    assert len(trained) == 8 and len(runs) == 10
    assert {r["tags"]["family"] for r in trained} == {"logreg", "gboost", "forest"}
    assert {r["name"] for r in runs if "family" not in r["tags"]} == {"baseline-prior"}
    best = relay(
        "runs", "ls", "--project", "demo", "--order-by", "metrics.roc_auc DESC", "--json"
    ).json()[0]
    assert best["metrics"]["roc_auc"] > 0.95
    paths = [a["path"] for a in relay("artifacts", "ls", best["id"], "--json").json()]
    assert paths == ["classification_report.txt", "model.skops", "report.html"]
    assert relay("audit", "verify").code == 0
    moves = relay("models", "history", "tumour-classifier", "-p", "demo", "--json").json()
    # the serving chapter registered the runner-up as a version of its own (3, then 6)
    assert [(m["alias"], m["to_version"]) for m in moves] == [("production", 5), ("production", 2)]
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
