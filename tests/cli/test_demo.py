"""`relay demo --quick` tells the whole story, and can be told again in the same directory."""

from __future__ import annotations

from relayml.reports.model_report import HEADINGS
from tests.cli.conftest import Relay, admin_backend


def test_demo_quick_runs_twice_in_the_same_home(relay: Relay) -> None:
    first = relay("demo", "--quick", timeout=300)
    assert first.code == 0, first.err
    chapters = (
        "1. Prepare",
        "2. Train",
        "3. Compare",
        "4. Share",
        "5. Hand the best model",
        "6. Is production",
        "7. Check",
    )
    for chapter in chapters:
        assert chapter in first.out
    rows = {line.split("│")[1].strip(): line for line in first.out.splitlines() if "│" in line}
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

    second = relay("demo", "--quick", timeout=300)
    assert second.code == 0, second.err
    assert "already exists from an earlier demo" in second.out
    assert "nightly_prepare is paused by" in " ".join(second.out.split())  # not paused twice
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
    assert [(m["alias"], m["to_version"]) for m in moves] == [("production", 4), ("production", 2)]
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
