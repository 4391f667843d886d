"""Why a monitor's model outputs come from its evaluation set, measured: a random forest fits
its training rows closely, so its probabilities there are more extreme than on new rows. Clean
traffic drawn like the evaluation set shows prediction drift against the training baseline in
every window and none against the evaluation baseline, and the label-free estimate calibrated on
the training rows is far over-confident while the one calibrated on the evaluation rows tracks
the realised performance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

from relayml.stats.assessment import FindingKind
from relayml.stats.monitoring import MonitorReference, assess, summarise
from relayml.stats.summarize import summarize_table
from relayml.stats.tables import resolve_kinds

COLUMNS = ["x1", "x2", "x3"]


def rows(n: int, seed: int) -> tuple[pa.Table, Any]:
    rng = np.random.default_rng(seed)
    x = {c: rng.normal(0.0, 1.0, n) for c in COLUMNS}
    logit = 1.2 * x["x1"] - 0.8 * x["x2"] + 0.5 * x["x3"]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pa.table(x), y


def matrix(t: pa.Table) -> Any:
    return np.column_stack([t.column(c).to_numpy() for c in COLUMNS])


def test_an_overfit_forest_needs_the_evaluation_baseline() -> None:
    train, y_train = rows(4000, 1)
    holdout, y_holdout = rows(4000, 2)
    forest = RandomForestClassifier(n_estimators=60, random_state=0).fit(matrix(train), y_train)
    kinds, skipped = resolve_kinds(train, COLUMNS)
    profile = summarize_table(train, kinds, skipped=skipped).to_dict()  # the input side: training

    def reference(t: pa.Table, y: Any) -> MonitorReference:
        proba = forest.predict_proba(matrix(t))
        return MonitorReference.build(
            profile, task="binary", classes=[0, 1], probabilities=proba, labels=y
        )

    on_train, on_eval = reference(train, y_train), reference(holdout, y_holdout)
    drifted = {"train": 0, "eval": 0}
    for seed in range(6):
        t, y = rows(2000, 100 + seed)  # clean traffic, drawn like the evaluation set
        proba = forest.predict_proba(matrix(t))
        realised = roc_auc_score(y, proba[:, 1])
        for name, ref in (("train", on_train), ("eval", on_eval)):
            a = assess(ref, summarise(ref, t, None, proba), min_rows=100)
            assert not any(f.flagged for f in a.findings if f.kind is FindingKind.DATA_DRIFT)
            drifted[name] += any(
                f.flagged for f in a.findings if f.kind is FindingKind.PREDICTION_DRIFT
            )
            estimated = a.estimated["auc"].value
            if name == "train":
                assert estimated - realised > 0.15, (estimated, realised)  # over-confident
            else:
                assert abs(estimated - realised) < 0.04, (estimated, realised)
    assert drifted == {"train": 6, "eval": 0}
