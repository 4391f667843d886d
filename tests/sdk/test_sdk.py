"""The SDK as a data scientist uses it (embedded mode)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import relayml as relay
from relayml.domain.tracking import RunStatus


def test_issue_example(sdk_home: Path) -> None:
    Path("report.html").write_text("<h1>report</h1>")
    relay.init(project="churn")
    with relay.start_run(experiment="baseline", name="lr", params={"C": 1.0}) as run:
        run.log_params({"penalty": "l2"})
        run.log_metric("loss", 0.31, step=1)
        run.log_metrics({"acc": 0.91, "f1": 0.88}, step=1)
        run.log_artifact("report.html")
        run.set_tags({"team": "risk"})
    runs = relay.search_runs(
        experiment="baseline",
        filter="metrics.acc > 0.9 and params.C = '1.0'",
        order_by=["metrics.acc DESC"],
        limit=100,
    )
    assert [r.id for r in runs] == [run.id]
    r = relay.get_run(run.id)
    assert r.params == {"C": "1.0", "penalty": "l2"}
    assert r.metrics == {"loss": 0.31, "acc": 0.91, "f1": 0.88}
    assert r.tags["team"] == "risk" and r.status is RunStatus.FINISHED
    assert [(p.value, p.step) for p in r.metric_history("loss")] == [(0.31, 1)]
    assert r.end_time is not None and r.end_time >= r.start_time
    assert [a.path for a in r.list_artifacts()] == ["report.html"]
    out = r.download_artifact("report.html", sdk_home / "copy.html")
    assert out.read_text() == "<h1>report</h1>"


def test_exception_marks_run_failed_and_reraises(sdk_home: Path) -> None:
    with pytest.raises(ZeroDivisionError), relay.start_run(experiment="e") as run:
        run.log_metric("x", 1.0)
        _ = 1 / 0
    got = relay.get_run(run.id)
    assert got.status is RunStatus.FAILED and got.metrics == {"x": 1.0}


def test_nested_runs_become_children(sdk_home: Path) -> None:
    with relay.start_run(experiment="sweep", name="parent") as parent:
        for c in (0.1, 1.0):
            with relay.start_run(experiment="sweep", params={"C": c}) as child:
                child.log_metric("acc", c)
    kids = relay.search_runs(filter=f"parent_id = '{parent.id}'")
    assert {k.params["C"] for k in kids} == {"0.1", "1.0"}
    assert relay.active_run() is None


def test_metrics_faithful_and_steps_default_to_next(sdk_home: Path) -> None:
    with relay.start_run() as run:
        for v in (1.0, math.nan, math.inf, -math.inf):
            run.log_metric("m", v)
    hist = relay.get_run(run.id).metric_history("m")
    assert [p.step for p in hist] == [0, 1, 2, 3]
    assert hist[0].value == 1.0 and math.isnan(hist[1].value)
    assert hist[2].value == math.inf and hist[3].value == -math.inf


def test_params_are_immutable_at_the_call(sdk_home: Path) -> None:
    with relay.start_run(params={"C": 1}) as run:
        run.log_param("C", 1)
        with pytest.raises(relay.Conflict, match="immutable"):
            run.log_param("C", 2)
    with pytest.raises(relay.InvalidInput):
        relay.start_run(params={"obj": object()})


def test_directory_artifacts_round_trip(sdk_home: Path) -> None:
    model = sdk_home / "model"
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (model / "sub" / "config.json").write_text("{}")
    with relay.start_run() as run:
        run.log_artifact(model)
    assert [a.path for a in run.list_artifacts()] == ["model/sub/config.json", "model/weights.bin"]
    dest = sdk_home / "restore"
    dest.mkdir()
    root = run.download_artifact("model", dest)
    assert (root / "weights.bin").read_bytes() == b"\x00\x01" * 100
    assert (root / "sub" / "config.json").read_text() == "{}"


def test_context_is_captured(sdk_home: Path) -> None:
    with relay.start_run() as run:
        pass
    tags = relay.get_run(run.id).tags
    assert tags["relay.python"].count(".") == 2
    assert tags["relay.pkg.relayml"] == relay.__version__
    assert "relay.host" in tags


def test_search_as_frame_and_pages(sdk_home: Path) -> None:
    for i in range(5):
        with relay.start_run(experiment="grid", params={"i": i}) as run:
            run.log_metric("score", i / 10)
    frame = relay.search_runs(experiment="grid", order_by=["metrics.score DESC"], as_frame=True)
    assert list(frame["params.i"]) == ["4", "3", "2", "1", "0"]
    first = relay.search_runs(experiment="grid", limit=2)
    assert isinstance(first, list) and first.next_page_token
    rest = relay.search_runs(experiment="grid", limit=10, page_token=first.next_page_token)
    assert len(first) + len(rest) == 5 and rest.next_page_token is None


def test_stakeholder_is_refused_through_the_sdk(sdk_home: Path) -> None:
    from relayml.sdk.session import current

    relay.init(project="churn")
    token = current().backend.identity.create_user("sam", ["stakeholder"], "churn").token
    relay.init(project="churn", token=token)
    with pytest.raises(relay.PermissionDenied, match="stakeholder"):
        relay.start_run()
    assert relay.search_runs() == []


def test_git_commit_and_dirty_flag_are_captured(sdk_home: Path) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=sdk_home, check=True, capture_output=True, text=True
        ).stdout.strip()

    with relay.start_run() as outside:  # not a git work tree yet
        pass
    git("init", "-q")
    with relay.start_run() as no_commit:  # a repository without a commit
        pass
    (sdk_home / "train.py").write_text("print('v1')\n")
    git("add", "train.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "v1")
    with relay.start_run() as clean_run:
        pass
    (sdk_home / "train.py").write_text("print('v2')\n")  # an uncommitted edit
    with relay.start_run() as dirty_run:
        pass
    git("add", "train.py")  # staged, not committed: still dirty
    with relay.start_run() as staged_run:
        pass
    head = git("rev-parse", "HEAD")
    for run in (outside, no_commit):
        assert not {"relay.git.commit", "relay.git.dirty"} & set(relay.get_run(run.id).tags)
    assert relay.get_run(clean_run.id).tags["relay.git.commit"] == head
    assert relay.get_run(clean_run.id).tags["relay.git.dirty"] == "false"
    assert relay.get_run(dirty_run.id).tags["relay.git.dirty"] == "true"
    assert relay.get_run(staged_run.id).tags["relay.git.dirty"] == "true"
    assert relay.get_run(staged_run.id).tags["relay.git.commit"] == head
