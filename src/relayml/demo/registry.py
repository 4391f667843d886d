"""Chapter: the hand-off to production. The data scientist registers models, a stakeholder
sets the bar, the policy blocks a weak candidate, a self-approval is refused, governance
approves the good one and the alias moves — every step through the public SDK."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

import relayml as relay
from relayml.client.base import Backend
from relayml.demo.governance import PROJECT, STAKEHOLDER, user_token
from relayml.errors import PermissionDenied, RelayError, Unprocessable

MODEL = "tumour-classifier"
LEAD = "lee"  # a lead data scientist who also reviews for governance
OFFICER = "gina"  # model governance
FLOOR = 0.95

POLICY = """\
separation_of_duties: true          # neither the requester nor the run's author approves
evaluation:
  dataset: holdout
  target: diagnosis
  slices: [mean_radius]
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, data_checks, evaluation, requirements]
    allow_override: false
model_card: [intended_use, limitations, owners]
"""


def _as(token: str, server: str | None) -> None:
    relay.init(project=PROJECT, server=server, token=token)


def split(dataset: Any) -> tuple[Any, Any, Any, Any]:
    """x_train, x_val, y_train, y_val: the features (patient_id left out; the dataset's index
    kept, so it finds a row's patient) and the diagnosis, a quarter held out."""
    from sklearn.model_selection import train_test_split

    frame = dataset.to_pandas()
    y = frame.pop("diagnosis")
    x = frame.drop(columns=["patient_id"])
    return train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)  # type: ignore[no-any-return]


def _evidence(console: Console, req: Any) -> None:
    for e in req.evidence:
        mark = "[green]✓[/]" if e.ok else "[red]✗[/]"
        console.print(f"    {mark} {e.name.value:12} {e.summary}")


def model_of_run(run_id: str) -> Any:
    """The fitted model a training run of chapter 2 saved as its artifact."""
    from relayml.flavors.formats import load_model

    with tempfile.TemporaryDirectory(prefix="relay-demo-") as tmp:
        path = relay.get_run(run_id).download_artifact("model.skops", tmp)
        data = Path(path).read_bytes()
    return load_model(data, flavor="sklearn", digest=hashlib.sha256(data).hexdigest()).model


def hand_over(
    console: Console,
    admin: Backend,
    dataset: Any,
    best_run: str,
    server: str | None,
    reports: Path,
) -> str:
    """Run the hand-off, and write the compliance report of what went to production into the
    `reports` folder; return the ref now in production."""
    from sklearn.dummy import DummyClassifier

    x_train, x_val, y_train, y_val = split(dataset)
    holdout = x_val.assign(diagnosis=y_val.to_numpy())
    published = relay.datasets.publish("holdout", holdout, description="the evaluation split")
    console.print(f"The data engineer publishes the evaluation split as [bold]{published.ref}[/].")
    best = model_of_run(best_run)  # the winner of chapter 3, from its run's artifact
    lead, officer = (
        user_token(admin, LEAD, ["data_scientist"]),
        user_token(admin, OFFICER, ["model_governance"]),
    )
    admin.identity.grant(LEAD, "model_governance", PROJECT)  # a lead who also reviews others
    stakeholder = admin.identity.issue_token(STAKEHOLDER).token

    _as(officer, server)
    policy = relay.policy.apply(POLICY.replace("dataset: holdout", f"dataset: {published.ref}"))
    console.print(
        f"[bold]{OFFICER}[/] (governance) applies the promotion policy v{policy.version}: "
        "production moves only by an approved request, with evidence, and nobody approves "
        "their own."
    )

    _as(lead, server)
    with relay.start_run(experiment="breast-cancer", name="baseline-prior") as run:
        run.use_dataset(dataset)
        weak = relay.models.register(
            MODEL,
            DummyClassifier().fit(x_train, y_train),
            run=run,
            input_example=x_val[:5],
            description="predicts the majority class: a baseline",
        )
    strong = relay.models.register(
        MODEL, best, run=best_run, input_example=x_val[:5], description="the leaderboard's best"
    )
    relay.models.set_card(
        MODEL,
        intended_use="flag tumours for a second reading by a radiologist",
        limitations="trained on 569 Wisconsin cases; not validated on other populations",
        owners=f"{LEAD} (data science), {OFFICER} (governance)",
    )
    console.print(
        f"[bold]{LEAD}[/] (data scientist) registers {weak.ref} (a baseline) and {strong.ref} "
        f"(the best run), saved with skops, signature inferred from {len(x_val.columns)} "
        "columns, and fills in the model card."
    )
    _as(stakeholder, server)
    relay.models.set_requirement(MODEL, "auc", min=FLOOR)
    console.print(f"[bold]{STAKEHOLDER}[/] (stakeholder) sets the bar: auc ≥ {FLOOR}.")

    _as(lead, server)
    first = relay.models.promote(weak.ref, to="production", note="the simplest thing first")
    console.print(f"\n{LEAD} asks to promote {weak.ref} to production (request {first.id}):")
    _evidence(console, first)
    _as(officer, server)
    try:
        relay.requests.approve(first.id)
        raise RelayError("the policy let a model below the stakeholder's floor through")
    except Unprocessable as exc:
        console.print(f"  [red]✗ approval refused[/] {exc.message}")
    relay.requests.reject(first.id, f"auc is below {STAKEHOLDER}'s floor of {FLOOR}")
    console.print(f"  {OFFICER} rejects it, with the reason.")

    _as(lead, server)
    second = relay.models.promote(strong.ref, to="production", note="beats the floor on holdout")
    console.print(f"\n{LEAD} asks to promote {strong.ref} to production (request {second.id}):")
    _evidence(console, second)
    try:
        relay.requests.approve(second.id)
        raise RelayError("separation of duties let a requester approve their own request")
    except PermissionDenied as exc:
        console.print(f"  [red]✗ self-approval refused[/] {exc.message}")
    _as(officer, server)
    done = relay.requests.approve(second.id, "evidence checked: auc, slices, data, load")
    console.print(
        f"  [green]✓ {OFFICER} approves[/]: request {done.state.value}; the alias moved in the "
        "same transaction as the approval."
    )
    served = relay.models.load(f"{MODEL}@production")
    rows = x_val[:3]
    console.print(
        f"  {MODEL}@production is {served.version.ref} (sha256 {served.digest[:12]}, verified on "
        f"load); it predicts {', '.join(str(v) for v in served.predict(rows))} for three holdout "
        "rows."
    )
    (move,) = relay.models.history(MODEL, alias="production")[:1]
    console.print(
        f"  history: {move.by} moved production {move.from_version or '-'} → {move.to_version} "
        f"by request {move.request_id}: “{move.reason}”"
    )
    _as(officer, server)
    reports.mkdir(parents=True, exist_ok=True)
    html, md = reports / f"{MODEL}-compliance.html", reports / f"{MODEL}-compliance.md"
    doc = relay.models.report(f"{MODEL}@production", html=html, md=md)
    verified = "intact" if doc["audit"]["verified"] else "FAILED"
    console.print(
        f"  {OFFICER} writes the compliance report of {doc['model']['ref']} (EU AI Act Annex IV "
        f"headings, model card, approval record, audit excerpt; chain {verified}):"
    )
    console.print(f"    {html}", soft_wrap=True)
    console.print(f"    {md}", soft_wrap=True)
    return served.version.ref  # type: ignore[no-any-return]
