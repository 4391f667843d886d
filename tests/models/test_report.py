"""The compliance report as governance uses it: `relay.models.report` and `relay models report`
write a self-contained HTML page and Markdown under the Annex IV headings, with the numbers
Relay recorded, user text escaped, and only governance (or an admin) may produce it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import relayml as relay
from relayml.errors import InvalidInput, PermissionDenied
from relayml.reports.model_report import HEADINGS
from relayml.sdk import session
from tests.cli.conftest import Relay
from tests.conftest import settings_for
from tests.models.test_registry import POLICY, _fit, _frame

SCRIPT = "<script>alert('card')</script> & co"


def _promoted(home: Path) -> tuple[dict[str, str], str, str]:
    """churn@1 trained in a run, promoted to production and approved by governance; returns
    the tokens, the run id and the request id."""
    admin = session.connect(settings=settings_for(home), project="churn").backend
    tokens = {
        role: admin.identity.create_user(role.replace("_", "-"), [role], "churn").token
        for role in ("data_scientist", "model_governance", "data_engineer", "stakeholder")
    }
    admin.close()
    df = _frame()
    relay.init("churn", home=home, token=tokens["data_engineer"])
    relay.datasets.publish("holdout", df)
    relay.init("churn", home=home, token=tokens["data_scientist"])
    with relay.start_run(experiment="baseline") as run:
        run.use_dataset("holdout@1")
        run.log_params({"C": 0.5, "solver": "lbfgs"})
        run.log_metric("train_accuracy", 0.875)
        relay.models.register("churn", _fit(df), run=run, input_example=df[["x1", "x2"]][:5])
    relay.models.set_card(
        "churn", intended_use="rank customers by churn risk", limitations=SCRIPT, owners="ds team"
    )
    relay.init("churn", home=home, token=tokens["model_governance"])
    relay.policy.apply(POLICY)
    relay.init("churn", home=home, token=tokens["data_scientist"])
    req = relay.models.promote("churn@1", to="production", note="first model")
    relay.init("churn", home=home, token=tokens["model_governance"])
    relay.requests.approve(req.id, "evidence checked")
    return tokens, run.id, req.id


def _cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html)


def test_report_of_a_promoted_model_has_every_heading_and_its_numbers(
    tmp_path: Path,
) -> None:
    home = tmp_path / ".relay"
    _, run_id, request_id = _promoted(home)
    html_path, md_path = tmp_path / "report.html", tmp_path / "report.md"
    doc = relay.models.report("churn@production", html=html_path, md=md_path)
    page, md = html_path.read_text(), md_path.read_text()
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in page
        assert f"## {heading}\n" in md
    # the numbers are the recorded ones
    (evaluation,) = [e for e in doc["promotion"]["evidence"] if e["name"] == "evaluation"]
    candidate: dict[str, Any] = evaluation["details"]["candidate"]
    auc = f"{candidate['metrics']['auc']:.4g}"
    cells = _cells(page)
    assert "auc" in cells and auc in cells and f"| auc | {auc} |" in md
    for s in candidate["slices"]:
        m = s["metrics"]
        row = f"| region | {s['value']} | {s['rows']} | {m['auc']:.4g} | {m['accuracy']:.4g} |"
        assert row in md
    assert {s["value"] for s in candidate["slices"]} == {"north", "south"}
    assert doc["model"]["digest"] in cells and run_id in cells and request_id in page
    assert "0.875" in cells and "lbfgs" in cells  # the run's metric and params
    assert "holdout@1" in cells and "valid" in cells
    assert "model-governance" in cells and "evidence checked" in cells  # the approval record
    assert "Audit chain verification: INTACT" in page
    # self-contained, and the card's text is shown as text, never run
    assert "<script" not in page.lower() and "&lt;script&gt;alert(&#x27;card&#x27;)" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "<script" not in md and "&lt;script&gt;" in md
    assert doc["card"]["fields"]["limitations"] == SCRIPT  # the document keeps the raw text


def test_only_governance_writes_the_report_and_the_cli_prints_its_paths(tmp_path: Path) -> None:
    home = tmp_path / ".relay"
    tokens, _, request_id = _promoted(home)
    relay.init("churn", home=home, token=tokens["stakeholder"])
    out = tmp_path / "refused.html"
    with pytest.raises(PermissionDenied, match=r"compliance\.report"):
        relay.models.report("churn@1", html=out)
    assert not out.exists()
    relay.init("churn", home=home, token=tokens["model_governance"])
    with pytest.raises(InvalidInput, match="no folder"):
        relay.models.report("churn@1", md=tmp_path / "missing" / "r.md")

    cli = Relay(home)
    html_path, md_path = tmp_path / "r.html", tmp_path / "r.md"
    args = ["models", "report", "churn@1", "--html", str(html_path), "--md", str(md_path)]
    refused = cli(*args, "-p", "churn", RELAY_TOKEN=tokens["stakeholder"])
    assert refused.code != 0 and "compliance.report" in refused.err and not html_path.exists()
    done = cli(*args, "-p", "churn", RELAY_TOKEN=tokens["model_governance"])
    assert done.code == 0, done
    assert f"approved by request {request_id}" in done.out and "audit chain intact" in done.out
    assert str(html_path) in done.out and str(md_path) in done.out
    assert "<h2>5. Risk management system</h2>" in html_path.read_text()
    assert md_path.read_text().startswith("# Technical documentation: churn@1")
