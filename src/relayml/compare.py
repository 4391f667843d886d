"""`relay deployments compare NAME`: a deployment's arms side by side, from its prediction log and
the feedback that has arrived, each difference with the test that says whether it is real.

    c = compare(backend, "churn", "churn-api", since=datetime.now(UTC) - timedelta(days=1))
    for arm in c.arms: arm.arm, arm.version, arm.requests, arm.latency_ms, arm.drift, ...

Per arm and version: requests and rows answered; latency percentiles (per request); the
prediction distribution (class shares, or the values' mean and quantiles) and whether it differs
from the primary's, decided by the drift engine (`relay.drift`: chi-square / KS with effect
sizes, the same rule as data drift); the agreement rate with the primary on the same requests
(a shadow sees every request, so it pairs by prediction id) with its 95 % Wilson interval; and,
where feedback has arrived (joined by prediction id), accuracy (classifiers) or mean absolute
error (regressors), tested against the primary's: McNemar's exact test or the paired t-test on
the same requests (shadow), the two-proportion z-test or Welch's t-test on different ones
(canary). A difference is called real when the test's p-value is below `alpha`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from relayml.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from relayml.client.base import Backend

COLUMNS = ("prediction_id", "ts", "arm", "model", "version", "digest", "request_id",
           "prediction", "probabilities", "latency_ms")  # fmt: skip
ARM_ORDER = {"primary": 0, "canary": 1, "shadow": 2}
FEEDBACK_CHUNK = 10_000  # the most prediction ids one list_feedback call takes
SHOWN_CLASSES = 5


@dataclass(frozen=True)
class ArmReport:
    """One arm (and version) of the deployment over the window."""

    arm: str
    model: str
    version: int
    digest: str
    requests: int
    rows: int
    latency_ms: dict[str, float]  # p50, p95, p99 of the requests' latencies
    predictions: dict[str, float]  # class -> share, or mean, sd, p50 of the values
    drift: dict[str, Any] | None  # vs the primary's predictions (None for the primary)
    agreement: dict[str, Any] | None  # with the primary on the same requests, if any
    realised: dict[str, Any] | None  # from feedback, if any arrived


@dataclass(frozen=True)
class Comparison:
    deployment: str
    project: str
    since: datetime | None
    until: datetime | None
    segments: int
    rows: int
    feedback: int
    classifier: bool
    alpha: float
    arms: tuple[ArmReport, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("since", "until"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


def read_log(
    backend: Backend, project: str, name: str, since: datetime | None, until: datetime | None
) -> tuple[pd.DataFrame, int]:
    """The deployment's prediction log rows in the window (inputs left out), and the number of
    segments read; each segment is downloaded (its sha256 verified) into scratch and removed."""
    import pandas as pd
    import pyarrow.parquet as pq

    from relayml.scratch import scratch_dir

    segments = backend.deployments.list_segments(project, name, since=since, until=until)
    frames = []
    with scratch_dir("compare") as tmp:
        for seg in segments:
            path = backend.deployments.download_segment(project, name, seg.id, tmp / "s.parquet")
            present = set(pq.read_schema(path).names)
            table = pq.read_table(path, columns=[c for c in COLUMNS if c in present])
            frame = table.to_pandas()
            if "probabilities" in frame:
                frame["has_proba"] = frame["probabilities"].notna()
                frame = frame.drop(columns=["probabilities"])
            frames.append(frame)
            path.unlink()
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "has_proba"]), 0
    log = pd.concat(frames, ignore_index=True)
    ts = pd.to_datetime(log["ts"], utc=True)
    keep = pd.Series(True, index=log.index)
    if since is not None:
        keep &= ts >= pd.Timestamp(since)
    if until is not None:
        keep &= ts <= pd.Timestamp(until)
    return log[keep].reset_index(drop=True), len(segments)


def _feedback(backend: Backend, project: str, name: str, ids: list[str]) -> dict[str, Any]:
    """prediction id -> the truth its feedback gives (label, else outcome)."""
    truth: dict[str, Any] = {}
    for start in range(0, len(ids), FEEDBACK_CHUNK):
        chunk = ids[start : start + FEEDBACK_CHUNK]
        for f in backend.deployments.list_feedback(
            project, name, prediction_ids=chunk, limit=FEEDBACK_CHUNK
        ):
            value = f.label if f.label is not None else f.outcome
            if value is not None:
                truth[f.prediction_id] = value
    return truth


def compare(
    backend: Backend,
    project: str,
    name: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    alpha: float = 0.05,
) -> Comparison:
    """The comparison of `name`'s arms over [since, until] (default: every segment)."""
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha must be between 0 and 1, not {alpha!r}")
    for what, when in (("since", since), ("until", until)):
        if when is not None and when.tzinfo is None:
            raise InvalidInput(f"{what} must carry a time zone (e.g. UTC)")
    backend.deployments.get(project, name)  # NotFound, and the read permission, first
    log, segments = read_log(backend, project, name, since, until)
    classifier = bool(len(log)) and _is_classifier(log)
    if len(log):
        log["prediction"] = (
            log["prediction"].astype(str) if classifier else log["prediction"].astype(float)
        )
    truth = _feedback(backend, project, name, sorted(set(log["prediction_id"]))) if len(log) else {}
    primary = log[log["arm"] == "primary"]
    arms = []
    if len(log):
        for key, rows in log.groupby(["arm", "version"], sort=False):
            arm, version = cast("tuple[str, int]", key)
            arms.append(_arm(str(arm), int(version), rows, primary, truth, classifier, alpha))
    arms.sort(key=lambda a: (ARM_ORDER.get(a.arm, 9), a.version))
    return Comparison(
        deployment=name, project=project, since=since, until=until, segments=segments,
        rows=len(log), feedback=len(truth), classifier=classifier, alpha=alpha,
        arms=tuple(arms),
    )  # fmt: skip


def _is_classifier(log: pd.DataFrame) -> bool:
    if "has_proba" in log and bool(log["has_proba"].any()):
        return True
    return log["prediction"].dtype.kind not in "fc"


def _arm(
    arm: str,
    version: int,
    rows: pd.DataFrame,
    primary: pd.DataFrame,
    truth: dict[str, Any],
    classifier: bool,
    alpha: float,
) -> ArmReport:
    latency = rows.groupby("request_id")["latency_ms"].first().to_numpy(dtype=float)
    is_primary = arm == "primary"
    return ArmReport(
        arm=arm,
        model=str(rows["model"].iloc[0]),
        version=version,
        digest=str(rows["digest"].iloc[0]),
        requests=int(rows["request_id"].nunique()),
        rows=len(rows),
        latency_ms={f"p{q}": _quantile(latency, q / 100) for q in (50, 95, 99)},
        predictions=_distribution(rows["prediction"], classifier),
        drift=None if is_primary or not len(primary) else _drift(primary, rows, classifier),
        agreement=None if is_primary else _agreement(rows, primary, classifier),
        realised=_realised(rows, primary, truth, classifier, alpha, is_primary),
    )


def _quantile(values: Any, q: float) -> float:
    import numpy as np

    return float(np.quantile(values, q)) if len(values) else float("nan")


def _distribution(predictions: pd.Series[Any], classifier: bool) -> dict[str, float]:
    if classifier:
        shares = predictions.value_counts(normalize=True)
        return {str(k): float(v) for k, v in shares.items()}
    return {
        "mean": float(predictions.mean()),
        "sd": float(predictions.std(ddof=1)) if len(predictions) > 1 else 0.0,
        "p50": float(predictions.median()),
    }


def _drift(primary: pd.DataFrame, rows: pd.DataFrame, classifier: bool) -> dict[str, Any]:
    """The drift engine's verdict on this arm's predictions against the primary's."""
    from relayml.drift import compare as drift_compare

    report = drift_compare(
        primary[["prediction"]], rows[["prediction"]], columns=["prediction"],
        categorical=["prediction"] if classifier else None,
    )  # fmt: skip
    column = report["prediction"]
    return {
        "drifted": bool(column.drifted),
        "reason": column.reason,
        "pvalues": dict(column.pvalues),
        "effect": float(column.effect_size),
    }


def _paired(rows: pd.DataFrame, primary: pd.DataFrame) -> pd.DataFrame:
    """This arm's and the primary's answers to the same rows (by prediction id)."""
    mine = rows[["prediction_id", "prediction"]]
    theirs = primary[["prediction_id", "prediction"]]
    return mine.merge(theirs, on="prediction_id", suffixes=("", "_primary"))


def _agreement(rows: pd.DataFrame, primary: pd.DataFrame, classifier: bool) -> dict[str, Any]:
    from relayml.stats.arms import wilson

    pairs = _paired(rows, primary)
    if not len(pairs):
        return {"pairs": 0, "note": "answers other requests than the primary (a canary)"}
    if classifier:
        same = pairs["prediction"] == pairs["prediction_primary"]
    else:
        a, b = pairs["prediction"].to_numpy(), pairs["prediction_primary"].to_numpy()
        same = abs(a - b) <= 1e-9 * (1 + abs(b))
    agreed = int(same.sum())
    low, high = wilson(agreed, len(pairs))
    found: dict[str, Any] = {"pairs": len(pairs), "rate": agreed / len(pairs), "low": low,
                             "high": high}  # fmt: skip
    if not classifier:
        found["mean_abs_diff"] = float(
            abs(pairs["prediction"] - pairs["prediction_primary"]).mean()
        )
    return found


def _scored(frame: pd.DataFrame, truth: dict[str, Any], classifier: bool) -> pd.DataFrame:
    """`frame`'s rows that have feedback, with `score`: 1/0 correct, or the absolute error."""
    known = frame[frame["prediction_id"].isin(truth.keys())].copy()
    given = known["prediction_id"].map(truth)
    if classifier:
        known["score"] = (known["prediction"] == given.astype(str)).astype(float)
        return known
    numeric = given.map(lambda v: float(v) if isinstance(v, int | float) else float("nan"))
    known["score"] = (known["prediction"] - numeric).abs()
    return known[known["score"].notna()]


def _realised(
    rows: pd.DataFrame,
    primary: pd.DataFrame,
    truth: dict[str, Any],
    classifier: bool,
    alpha: float,
    is_primary: bool,
) -> dict[str, Any] | None:
    from relayml.stats import arms as tests

    mine = _scored(rows, truth, classifier)
    if not len(mine):
        return None
    metric = "accuracy" if classifier else "mae"
    found: dict[str, Any] = {"n": len(mine), "metric": metric, "value": float(mine["score"].mean())}
    if is_primary:
        return found
    theirs = _scored(primary, truth, classifier)
    paired = mine.merge(theirs[["prediction_id", "score"]], on="prediction_id",
                        suffixes=("", "_primary"))  # fmt: skip
    if len(paired):  # the same requests (a shadow)
        a, b = paired["score"].to_numpy(), paired["score_primary"].to_numpy()
        if classifier:
            test = tests.mcnemar(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()))
        else:
            test = tests.paired_t(a, b)
        found["primary_value"] = float(b.mean())
    elif len(theirs):  # other requests (a canary)
        a, b = mine["score"].to_numpy(), theirs["score"].to_numpy()
        if classifier:
            test = tests.two_proportions(int(a.sum()), len(a), int(b.sum()), len(b))
        else:
            test = tests.welch(a, b)
        found["primary_value"] = float(b.mean())
    else:
        return found
    found.update(test.to_dict())
    found["real"] = test.real(alpha)
    return found
