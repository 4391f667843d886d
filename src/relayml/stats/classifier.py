"""Optional multivariate check: can a classifier tell reference rows from current rows?

A cross-validated ROC AUC near 0.5 means the two samples look alike jointly; well above it means
the joint distribution changed, even when no single column did. Needs scikit-learn (the ``ml``
extra). Numeric columns are used as they are (missing values allowed), categoricals as ordinal
codes marked categorical for the gradient-boosting model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from relayml.errors import InvalidInput
from relayml.stats.kinds import ColumnKind, numeric_values

DEFAULT_MAX_ROWS = 5_000  # per side
DEFAULT_AUC_THRESHOLD = 0.55


@dataclass(frozen=True)
class ClassifierResult:
    auc: float
    auc_std: float  # across folds
    pvalue: float  # of AUC > 0.5 under no shift (normal approximation of Mann-Whitney)
    threshold: float
    rows_used: int
    drifted: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _features(
    table: Any, kinds: Mapping[str, ColumnKind], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], list[list[str]]]:
    import pyarrow.compute as pc

    cols: list[npt.NDArray[np.float64]] = []
    vocab: list[list[str]] = []
    taken = table.take(rows)
    for name, kind in kinds.items():
        col = taken.column(name)
        if kind.is_ordered:
            x = (
                np.asarray(pc.cast(col, "float64").to_numpy(), dtype=np.float64)
                if kind is not ColumnKind.DATETIME
                else _datetime(col)
            )
            cols.append(np.where(np.isfinite(x), x, np.nan))
            vocab.append([])
        else:
            text = pc.cast(col, "string") if not col.type.equals("string") else col
            values = text.to_pylist()
            cats = sorted({v for v in values if v is not None})
            vocab.append(cats)
            cols.append(np.array([np.nan if v is None else float(v) for v in _codes(values, cats)]))
    return np.column_stack(cols), vocab


def _datetime(col: Any) -> npt.NDArray[np.float64]:
    values, _ = numeric_values(col.fill_null(0))
    return values


def _codes(values: list[Any], cats: list[str]) -> list[float | None]:
    index = {c: i for i, c in enumerate(cats)}
    return [None if v is None else index[v] for v in values]


def domain_classifier(
    reference: Any,
    current: Any,
    kinds: Mapping[str, ColumnKind],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    folds: int = 5,
    auc_threshold: float = DEFAULT_AUC_THRESHOLD,
    seed: int = 0,
) -> ClassifierResult:
    """Cross-validated AUC of a gradient-boosting classifier separating the two samples."""
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_score
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InvalidInput(
            "the domain classifier needs scikit-learn: pip install 'relayml[ml]'"
        ) from exc
    rng = np.random.default_rng(seed)
    n = min(reference.num_rows, max_rows)
    m = min(current.num_rows, max_rows)
    ri = np.sort(rng.choice(reference.num_rows, n, replace=False))
    ci = np.sort(rng.choice(current.num_rows, m, replace=False))
    import pyarrow as pa

    both = pa.concat_tables([reference.take(ri), current.take(ci)], promote_options="permissive")
    x, vocab = _features(both, kinds, np.arange(n + m, dtype=np.int64))
    y = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(m, dtype=np.int64)])
    categorical = [0 < len(v) <= 250 for v in vocab]  # HGB handles at most 255 levels
    model = HistGradientBoostingClassifier(
        max_iter=50,
        categorical_features=categorical if any(categorical) else None,
        random_state=seed,
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, y, cv=cv, scoring="roc_auc")
    auc = float(np.mean(scores))
    fold_n, fold_m = n / folds, m / folds
    se = math.sqrt((fold_n + fold_m + 1) / (12 * fold_n * fold_m)) / math.sqrt(folds)
    from scipy import stats as sps

    pvalue = float(sps.norm.sf((auc - 0.5) / se))
    drifted = auc >= auc_threshold and pvalue < 0.05
    reason = (
        f"A classifier tells current rows from reference rows with AUC {auc:.3f} "
        f"(threshold {auc_threshold:g}; 0.5 means indistinguishable)"
        + (": the joint distribution changed." if drifted else ": no joint change found.")
    )
    return ClassifierResult(
        auc, float(np.std(scores)), pvalue, auc_threshold, n + m, drifted, reason
    )
