"""`relay deploy` and `relay deployments ...` as users type them: the real CLI in a subprocess
on an embedded store, --json printing what REST returns, errors as one line, roles enforced."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Relay, admin_backend, one_error_line


@pytest.fixture
def registered(relay: Relay, tmp_path: Path) -> Relay:
    """churn@1 and churn@2 in the default project, `stable` on version 1."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(int)
    with admin_backend(relay.home) as backend:
        for c in (0.5, 5.0):
            path = tmp_path / f"m{c}.skops"
            saved = save_model(LogisticRegression(C=c).fit(x, y), path, input_example=x[:3])
            backend.models.register(
                "default", "churn", path, flavor="sklearn",
                environment=saved.environment.to_dict(),
            )  # fmt: skip
        backend.models.set_alias("default", "churn@1", "stable")
    return relay


def test_deploy_change_roll_back_and_show(registered: Relay) -> None:
    relay = registered
    made = relay("deploy", "churn@stable", "--name", "churn-api", "--reason", "first")
    assert made.code == 0, made.err
    assert "churn-api: churn@stable (follows the alias)" in made.out
    assert "primary  churn@stable" in made.out and "version 1" in made.out
    listed = relay("deployments", "ls", "--json")
    (dep,) = listed.json()
    assert (dep["name"], dep["target"], dep["pinned"], dep["revision"]) == (
        "churn-api", "churn@stable", False, 1)  # fmt: skip
    assert dep["traffic"] == {"canary": None, "canary_percent": 0.0, "sticky_key": None,
                              "shadow": None}  # fmt: skip
    canary = relay(
        "deployments", "set-traffic", "churn-api", "--canary", "churn@2",
        "--canary-percent", "10", "--sticky-key", "customer_id",
    )  # fmt: skip
    assert canary.code == 0, canary.err
    assert "canary churn@2 10%, sticky by customer_id" in canary.out
    res = relay("deployments", "resolve", "churn-api", "--json").json()
    assert [(a["role"], a["version"], a["weight"]) for a in res["arms"]] == [
        ("primary", 1, 90.0), ("canary", 2, 10.0)]  # fmt: skip
    shown = relay("deployments", "show", "churn-api")
    assert shown.code == 0 and "serving now:" in shown.out and "canary" in shown.out
    back = relay("deployments", "rollback", "churn-api", "--reason", "errors up")
    assert back.code == 0, back.err
    assert "now pinned to churn@1" in back.out
    assert "relay deployments set-target churn-api churn@stable" in back.out
    history = relay("deployments", "history", "churn-api", "--json").json()
    assert [c["action"] for c in history] == ["rollback", "set_traffic", "create"]
    assert history[0]["reason"] == "errors up" and history[0]["after"]["primary_version"] == 1
    assert relay("deployments", "set-target", "churn-api", "churn@stable").code == 0
    archived = relay("deployments", "archive", "churn-api", "--json").json()
    assert archived["status"] == "archived"
    assert relay("deployments", "ls", "--json").json() == []
    assert len(relay("deployments", "ls", "--all", "--json").json()) == 1


def test_bad_input_is_one_line_with_its_exit_code(registered: Relay) -> None:
    relay = registered
    cases = [
        (("deploy", "churn@latest", "--name", "a"), 2, "pinned version or follows an alias"),
        (("deploy", "churn@9", "--name", "a"), 5, "has no version 9"),
        (("deploy", "fraud@1", "--name", "a"), 5, "no model 'fraud'"),
        (("deploy", "churn@1", "--name", "bad name"), 2, "invalid deployment name"),
        (("deploy", "churn@1", "--name", "a", "--canary", "churn@2"), 2, "needs the share"),
        (("deploy", "churn@1", "--name", "a", "--canary", "churn@2", "--canary-percent", "150"),
         2, "out of range"),
        (("deploy", "churn@1", "--name", "a", "--shadow", "churn@1"), 2, "own target"),
        (("deployments", "show", "nope"), 5, "no deployment 'nope'"),
    ]  # fmt: skip
    for argv, code, message in cases:
        result = relay(*argv)
        assert result.code == code, (argv, result.err)
        assert message in one_error_line(result), argv
    assert relay("deployments", "ls", "--all", "--json").json() == []


def test_roles_feedback_and_segments(registered: Relay) -> None:
    relay = registered
    with admin_backend(relay.home) as backend:
        ops = backend.identity.create_user("night-ops", ["devops_engineer"], "default").token
        fan = backend.identity.create_user("fan", ["stakeholder"], "default").token
    denied = relay("deploy", "churn@1", "--name", "ops-api", RELAY_TOKEN=ops)
    assert denied.code == 4, denied.err
    assert "deployment.create" in one_error_line(denied)
    assert relay("deploy", "churn@stable", "--name", "churn-api").code == 0
    relay("deployments", "set-traffic", "churn-api", "--canary", "churn@2", "--canary-percent", "5")
    rolled = relay("deployments", "rollback", "churn-api", RELAY_TOKEN=ops)
    assert rolled.code == 0, rolled.err
    sent = relay(
        "deployments", "feedback", "churn-api", "pred-1", "--label", "1",
        "--comment", "was right", "--json", RELAY_TOKEN=fan,
    )  # fmt: skip
    assert sent.code == 0, sent.err
    assert (sent.json()["label"], sent.json()["who"]) == (1, "fan")
    text = relay(
        "deployments", "feedback", "churn-api", "pred-2", "--label", '"1"', RELAY_TOKEN=fan
    )
    assert text.code == 0 and "label '1'" in text.out
    again = relay("deployments", "feedback", "churn-api", "pred-1", "--label", "0", RELAY_TOKEN=fan)
    assert again.code == 6 and "--replace" in one_error_line(again)
    none = relay("deployments", "feedback", "churn-api", "pred-3", RELAY_TOKEN=fan)
    assert none.code == 2 and "needs a label" in one_error_line(none)
    listed = relay("deployments", "feedback-ls", "churn-api", "--id", "pred-2", "--json")
    assert [(f["prediction_id"], f["label"]) for f in listed.json()] == [("pred-2", "1")]
    segments = relay("deployments", "segments", "churn-api")
    assert segments.code == 0 and "0 segments, 0 records" in segments.out


def test_feedback_import_sends_a_csv_in_batches(registered: Relay, tmp_path: Path) -> None:
    relay = registered
    assert relay("deploy", "churn@stable", "--name", "churn-api").code == 0
    labels = tmp_path / "labels.csv"
    rows = [f"p-{i},{i % 2},,{'by phone' if i == 3 else ''}" for i in range(2500)]
    labels.write_text("prediction_id,label,outcome,comment\n" + "\n".join(rows) + "\n")
    sent = relay("deployments", "feedback-import", "churn-api", str(labels), "--batch", "1000")
    assert sent.code == 0, sent.err
    assert "2500 predictions of churn-api recorded in 3 batches (2500 new, 0 replaced)" in sent.out
    listed = relay("deployments", "feedback-ls", "churn-api", "--id", "p-3", "--json").json()
    assert [(f["label"], f["comment"]) for f in listed] == [(1, "by phone")]
    # the second batch meets a labelled prediction: the first is kept, the second and third not
    again = tmp_path / "again.csv"
    again.write_text(
        "prediction_id,outcome\n"
        + "".join(f"q-{i},1.5\n" for i in range(3))
        + "p-7,2.5\n"
        + "q-9,3\n"
    )
    refused = relay("deployments", "feedback-import", "churn-api", str(again), "--batch", "3")
    assert refused.code == 6, refused.err
    line = one_error_line(refused)
    assert "batch 2 of 2 (rows 5 to 6)" in line and "the 3 predictions" in line and "p-7" in line
    kept = relay("deployments", "feedback-ls", "churn-api", "--id", "q-0", "--id", "q-9", "--json")
    assert [f["prediction_id"] for f in kept.json()] == ["q-0"]
    replaced = relay(
        "deployments", "feedback-import", "churn-api", str(again), "--replace", "--json"
    )  # fmt: skip
    assert [(b["added"], b["replaced"]) for b in replaced.json()] == [(1, 4)]
    for content, message in (
        ("prediction_id,score\np-1,3\n", "needs prediction_id and label"),
        ("prediction_id,outcome\np-1,high\n", "line 2: outcome 'high' is not a number"),
        ("prediction_id,label\n", "no rows under its header"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(content)
        failed = relay("deployments", "feedback-import", "churn-api", str(bad))
        assert failed.code == 2 and message in one_error_line(failed), failed.err
