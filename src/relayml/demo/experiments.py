"""Chapter 1 and 2: a data scientist trains real models, tracks them, and ranks them.

Uses only the public SDK (`import relayml as relay`), as a user's training script would.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

import relayml as relay

EXPERIMENT = "breast-cancer"


@dataclass(frozen=True)
class Candidate:
    name: str
    family: str
    params: dict[str, Any]


@dataclass
class Data:
    x_train: Any
    x_val: Any
    y_train: Any
    y_val: Any
    target_names: list[str]
    n_features: int


def load_data(dataset: Any = None, seed: int = 0) -> Data:
    """Features and labels from the validated dataset version (or scikit-learn's copy)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    if dataset is not None:
        frame = dataset.to_pandas()
        y = frame.pop("diagnosis").to_numpy()
        x = frame.drop(columns=["patient_id"]).to_numpy(dtype=float)
        names = ["malignant", "benign"]
    else:
        bunch = load_breast_cancer()
        x, y, names = bunch.data, bunch.target, list(bunch.target_names)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=seed
    )
    return Data(x_train, x_val, y_train, y_val, names, x.shape[1])


def grid(quick: bool) -> list[Candidate]:
    """The hyper-parameters to try; `quick` is the small grid the tests use."""
    cs = (0.1, 1.0) if quick else (0.01, 0.1, 1.0, 10.0)
    boosts = ((0.1, 2),) if quick else ((0.05, 2), (0.1, 3), (0.3, 2))
    n_boost = 40 if quick else 150
    forests = (30,) if quick else (50, 150, 300)
    out = [Candidate(f"logreg-C{c:g}", "logreg", {"C": c, "max_iter": 2000}) for c in cs]
    out += [
        Candidate(
            f"gboost-lr{lr:g}-d{d}",
            "gboost",
            {"learning_rate": lr, "max_depth": d, "n_estimators": n_boost, "subsample": 0.8},
        )
        for lr, d in boosts
    ]
    out += [
        Candidate(f"forest-n{n}", "forest", {"n_estimators": n, "max_features": "sqrt"})
        for n in forests
    ]
    return out


def _model(c: Candidate) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if c.family == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(**c.params))
    if c.family == "gboost":
        return GradientBoostingClassifier(random_state=0, **c.params)
    return RandomForestClassifier(random_state=0, n_jobs=1, **c.params)


def _log_curves(run: relay.ActiveRun, c: Candidate, model: Any, data: Data) -> None:
    """Metric curves by step: per boosting iteration, or per tree added to the forest."""
    import numpy as np
    from sklearn.metrics import accuracy_score, log_loss

    if c.family == "gboost":
        stages = model.staged_predict_proba(data.x_val)
        for step, proba in enumerate(stages, start=1):
            run.log_metrics(
                {
                    "train_loss": float(model.train_score_[step - 1]),
                    "val_loss": log_loss(data.y_val, proba, labels=[0, 1]),
                    "val_acc": accuracy_score(data.y_val, proba.argmax(axis=1)),
                },
                step=step,
            )
    elif c.family == "forest":
        total = np.zeros((len(data.y_val), 2))
        for step, tree in enumerate(model.estimators_, start=1):
            total += tree.predict_proba(data.x_val)
            proba = total / step
            run.log_metrics(
                {
                    "val_loss": log_loss(data.y_val, np.clip(proba, 1e-6, 1 - 1e-6), labels=[0, 1]),
                    "val_acc": accuracy_score(data.y_val, proba.argmax(axis=1)),
                },
                step=step,
            )


def _write_reports(folder: Path, c: Candidate, model: Any, data: Data) -> dict[str, float]:
    """Save the model with skops (never pickle) and a classification report; return metrics."""
    import skops.io as sio
    from sklearn.metrics import (
        accuracy_score,
        classification_report,
        f1_score,
        roc_auc_score,
    )

    proba = model.predict_proba(data.x_val)[:, 1]
    pred = (proba >= 0.5).astype(int)
    metrics = {
        "acc": float(accuracy_score(data.y_val, pred)),
        "f1": float(f1_score(data.y_val, pred)),
        "roc_auc": float(roc_auc_score(data.y_val, proba)),
    }
    sio.dump(model, folder / "model.skops")
    names = data.target_names
    (folder / "classification_report.txt").write_text(
        classification_report(data.y_val, pred, target_names=names, digits=3)
    )
    report: dict[str, Any] = classification_report(
        data.y_val, pred, target_names=names, output_dict=True
    )
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{v:.3f}</td>" for v in (s["precision"], s["recall"], s["f1-score"]))
        + f"<td>{int(s['support'])}</td></tr>"
        for label, s in report.items()
        if isinstance(s, dict)
    )
    summary = "".join(f"<li>{k}: {v:.4f}</li>" for k, v in metrics.items())
    (folder / "report.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(c.name)}</title>"
        f"<h1>{html.escape(c.name)}</h1><ul>{summary}</ul><table border='1'>"
        "<tr><th>class</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"
        f"{rows}</table>"
    )
    return metrics


def train_all(console: Console, quick: bool, batch: str, dataset: Any = None) -> list[str]:
    """Train every candidate as a tracked run on `dataset`; return the run ids."""
    data = load_data(dataset)
    source = dataset.ref if dataset is not None else "sklearn.breast_cancer"
    console.print(
        f"Data: {source}, {len(data.y_train)} training and "
        f"{len(data.y_val)} validation rows, {data.n_features} features.\n"
    )
    candidates = grid(quick)
    ids: list[str] = []
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training", total=len(candidates))
        for c in candidates:
            progress.update(task, description=f"training {c.name:<18}")
            with relay.start_run(
                experiment=EXPERIMENT,
                name=c.name,
                params=c.params,
                tags={"family": c.family, "demo_batch": batch},
            ) as run:
                if dataset is not None:
                    run.use_dataset(dataset)  # lineage: this run trained on tumours@N
                model = _model(c).fit(data.x_train, data.y_train)
                _log_curves(run, c, model, data)
                with tempfile.TemporaryDirectory(prefix="relay-demo-") as tmp:
                    metrics = _write_reports(Path(tmp), c, model, data)
                    run.log_metrics(metrics)
                    for f in sorted(Path(tmp).iterdir()):
                        run.log_artifact(f)
            ids.append(run.id)
            progress.console.print(
                f"  [green]✓[/] {c.name:<18} roc_auc {metrics['roc_auc']:.4f}  "
                f"acc {metrics['acc']:.4f}  run {run.id[:12]}"
            )
            progress.advance(task)
        progress.update(task, description="trained")
    return ids


def leaderboard_filter(batch: str) -> str:
    return f"tags.demo_batch = '{batch}'"


def show_leaderboard(console: Console, batch: str) -> list[relay.Run]:
    from rich.table import Table

    flt = leaderboard_filter(batch)
    console.print(
        f'[dim]relay.search_runs(experiment="{EXPERIMENT}", filter="{flt}", '
        'order_by=["metrics.roc_auc DESC"])[/]'
    )
    runs = relay.search_runs(experiment=EXPERIMENT, filter=flt, order_by=["metrics.roc_auc DESC"])
    assert isinstance(runs, list)
    table = Table(title="Leaderboard (validation set)", title_justify="left")
    for col in ("#", "run", "family", "roc_auc", "f1", "acc", "id"):
        table.add_column(col, justify="right" if col in ("#", "roc_auc", "f1", "acc") else "left")
    for rank, r in enumerate(runs, start=1):
        style = "bold green" if rank == 1 else None
        m = r.metrics
        table.add_row(
            str(rank),
            r.name,
            r.tags.get("family", "?"),
            f"{m.get('roc_auc', float('nan')):.4f}",
            f"{m.get('f1', float('nan')):.4f}",
            f"{m.get('acc', float('nan')):.4f}",
            r.id[:12],
            style=style,
        )
    console.print(table)
    return list(runs)
