"""One window judged against its monitor's reference: data drift per input column, prediction
drift, estimated and realised performance, each a ``Finding`` that says what, how much, why.

Drift is the drift engine's (``compare_sketches``: the credible-and-large rule of
``stats/decision.py``, Benjamini-Hochberg across the columns of one window). Performance uses
the same rule on its own signals: a metric's drop from the reference (absolute for AUC and
accuracy, relative for RMSE and MAE) is *large* when it reaches its threshold and *credible*
when a one-sided z-test of it (standard errors of both sides: Hanley-McNeil for AUC, binomial
for accuracy, the errors' moments for RMSE and MAE) is significant after the same adjustment.

A window with fewer than ``min_rows`` rows is still summarised and compared (a person may look),
but nothing in it is flagged: its findings say "too few rows" and ``tested`` is False, and the
persistence rule (``stats/persistence.py``) passes over them. Labelled rows are held to the same
minimum for realised performance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scipy import stats as sps

from relayml.domain.numbers import decode_float, encode_float, json_safe
from relayml.errors import InvalidInput
from relayml.stats.decision import Effect, Signal, Thresholds, adjust, describe_effect
from relayml.stats.drift import ColumnDrift, DriftReport, compare_sketches
from relayml.stats.evaluation import Task
from relayml.stats.performance import Metric

if TYPE_CHECKING:
    from relayml.stats.monitoring import MonitorReference, PerformanceSummary, WindowSummary

DEFAULT_MIN_ROWS = 500


class FindingKind(StrEnum):
    DATA_DRIFT = "data_drift"
    PREDICTION_DRIFT = "prediction_drift"
    ESTIMATED_PERFORMANCE = "estimated_performance"
    REALISED_PERFORMANCE = "realised_performance"


@dataclass(frozen=True)
class PerformanceThresholds:
    """How much worse than the reference a metric may get before it counts as large."""

    alpha: float = 0.05  # false discovery rate across the window's performance signals
    auc: float = 0.03  # absolute drop
    accuracy: float = 0.03  # absolute drop
    rmse: float = 0.10  # relative rise (0.10 = 10 % worse)
    mae: float = 0.10  # relative rise

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("alpha", "auc", "accuracy", "rmse", "mae")}


RELATIVE = {"rmse", "mae"}  # lower is better; judged as a relative rise


@dataclass(frozen=True)
class Finding:
    """One condition in one window: what (``kind``, ``subject``), whether it was flagged, how
    much (``magnitude`` of ``measure`` against ``threshold``) and why (``reason``)."""

    kind: FindingKind
    subject: str  # the input column, output column or metric
    flagged: bool
    tested: bool  # False: too few rows to decide
    measure: str  # the effect's name: wasserstein_norm, total_variation, psi, performance_drop
    magnitude: float  # the effect after removing noise (drift) or the drop (performance)
    threshold: float
    reason: str

    @property
    def key(self) -> str:
        """Stable across windows: what alerts de-duplicate on."""
        return f"{self.kind.value}:{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "subject": self.subject,
            "flagged": self.flagged,
            "tested": self.tested,
            "measure": self.measure,
            "magnitude": encode_float(self.magnitude),
            "threshold": encode_float(self.threshold),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            FindingKind(d["kind"]), str(d["subject"]), bool(d["flagged"]), bool(d["tested"]),
            str(d["measure"]), decode_float(d["magnitude"]), decode_float(d["threshold"]),
            str(d["reason"]),
        )  # fmt: skip


@dataclass
class WindowAssessment:
    """Everything decided about one window (or a merge of windows)."""

    rows: int
    labelled_rows: int
    min_rows: int
    data: DriftReport
    prediction: DriftReport
    baseline: dict[str, Metric]  # the reference's performance
    estimated: dict[str, Metric]  # label-free, every row of the window (classifiers)
    realised: dict[str, Metric]  # the labelled rows
    estimated_on_labelled: dict[str, Metric]  # the estimator on the labelled rows only
    performance_signals: list[Signal]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)

    @property
    def enough_rows(self) -> bool:
        return self.rows >= self.min_rows

    @property
    def flagged(self) -> list[Finding]:
        return [f for f in self.findings if f.flagged]

    def estimation_error(self) -> dict[str, float]:
        """Estimated minus realised, per metric, on the same labelled rows."""
        return {
            name: self.estimated_on_labelled[name].value - metric.value
            for name, metric in self.realised.items()
            if name in self.estimated_on_labelled
        }

    def summary(self) -> str:
        if not self.enough_rows:
            return f"too few rows ({self.rows:,} < {self.min_rows:,}): nothing decided"
        flagged = self.flagged
        if not flagged:
            return f"{self.rows:,} rows: nothing flagged"
        return f"{self.rows:,} rows: " + "; ".join(f.key for f in flagged)

    def to_dict(self) -> dict[str, Any]:
        def metrics(m: dict[str, Metric]) -> dict[str, Any]:
            return {k: v.to_dict() for k, v in m.items()}

        document: dict[str, Any] = json_safe(
            {
                "summary": self.summary(),
                "rows": self.rows,
                "labelled_rows": self.labelled_rows,
                "min_rows": self.min_rows,
                "enough_rows": self.enough_rows,
                "findings": [f.to_dict() for f in self.findings],
                "data": self.data.to_dict(),
                "prediction": self.prediction.to_dict(),
                "baseline": metrics(self.baseline),
                "estimated": metrics(self.estimated),
                "realised": metrics(self.realised),
                "estimated_on_labelled": metrics(self.estimated_on_labelled),
                "estimation_error": self.estimation_error(),
                "performance_signals": [s.to_dict() for s in self.performance_signals],
                "notes": list(self.notes),
            }
        )
        return document


def _headline(column: ColumnDrift) -> tuple[str, float, float]:
    """The effect that decided (or came closest to deciding) a column: name, size, threshold."""
    fired = [s for s in column.signals if s.fired] or column.signals
    if not fired:
        return "none", 0.0, math.nan
    effects = [s.largest_effect() for s in fired]
    best = max(effects, key=lambda e: e.adjusted / e.threshold if e.threshold else 0.0)
    return best.name, best.adjusted, best.threshold


def _drift_findings(
    report: DriftReport, kind: FindingKind, tested: bool, short: str
) -> list[Finding]:
    out = []
    for name, column in report.columns.items():
        measure, size, threshold = _headline(column)
        reason = column.reason if tested else f"{short}; {column.reason}"
        out.append(
            Finding(kind, name, tested and column.drifted, tested, measure, size, threshold, reason)
        )
    return out


def _performance_signal(
    source: str, metric: str, base: Metric, current: Metric, threshold: float
) -> Signal | None:
    if not (math.isfinite(base.value) and math.isfinite(current.value)):
        return None
    relative = metric in RELATIVE
    if relative:
        if base.value <= 0:
            return None
        drop = (current.value - base.value) / base.value
        se = math.hypot(_se(current), _se(base)) / base.value
    else:
        drop = base.value - current.value
        se = math.hypot(_se(current), _se(base))
    no_noise = 0.0 if drop > 0 else 1.0  # a difference without sampling error is certain
    pvalue = float(sps.norm.sf(drop / se)) if se > 0 else no_noise
    detail = {
        "source": source,
        "metric": metric,
        "reference": base.value,
        "current": current.value,
        "relative": relative,
    }
    effect = Effect("performance_drop", drop, 0.0, threshold)
    return Signal(f"{source}_{metric}", "z", pvalue, [effect], detail=detail)


def _performance_reason(signal: Signal, alpha: float) -> str:
    text = describe_effect(signal.effects[0], signal)
    p = f"one-sided z, adjusted p {signal.pvalue_adjusted:.2g}"
    if signal.fired:
        return f"Worse: {text}; credible ({p} < {alpha:g})."
    if signal.credible:
        return f"Not flagged: the change is credible ({p}) but small: {text}."
    return f"Not flagged: {text}; not credible ({p}, needs < {alpha:g})."


def _se(m: Metric) -> float:
    return m.se if math.isfinite(m.se) else 0.0


def assess(
    reference: MonitorReference,
    summary: WindowSummary,
    performance: PerformanceSummary | None = None,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    thresholds: Thresholds | None = None,
    performance_thresholds: PerformanceThresholds | None = None,
) -> WindowAssessment:
    """Judge one window: drift of every monitored input column and of the model's outputs,
    the estimated performance (classifiers), and the realised performance when labels exist."""
    if not isinstance(min_rows, int) or isinstance(min_rows, bool) or min_rows < 1:
        raise InvalidInput(f"min_rows must be a positive integer, got {min_rows!r}")
    if summary.reference != reference.digest:
        raise InvalidInput(
            f"the window was summarised on monitor reference {summary.reference!r}, not on "
            f"{reference.digest!r}; summarise it again on this reference"
        )
    if performance is not None and performance.reference != reference.digest:
        raise InvalidInput(
            f"the performance summary was measured on monitor reference "
            f"{performance.reference!r}, not on {reference.digest!r}"
        )
    base = thresholds or Thresholds()
    limits = performance_thresholds or PerformanceThresholds()
    tested = summary.rows >= min_rows
    short = f"too few rows ({summary.rows:,} < {min_rows:,}): not decided"
    notes = [] if tested else [short]
    data = compare_sketches(reference.inputs, summary.inputs, thresholds=base)
    data.skipped = dict(reference.inputs.skipped)
    prediction = compare_sketches(reference.outputs, summary.outputs, thresholds=base)
    findings = _drift_findings(data, FindingKind.DATA_DRIFT, tested, short)
    findings += _drift_findings(prediction, FindingKind.PREDICTION_DRIFT, tested, short)

    baseline = reference.baseline()
    estimated = summary.scores.metrics() if summary.scores is not None else {}
    if summary.losses is not None and reference.loss is not None:
        estimated = summary.losses.metrics(reference.loss)
    labelled = performance.rows if performance is not None else 0
    realised = performance.metrics() if performance is not None and labelled else {}
    on_labelled = (
        performance.estimated_metrics(reference.loss)
        if performance is not None and labelled
        else {}
    )
    labels_enough = labelled >= min_rows
    if performance is not None and 0 < labelled < min_rows:
        notes.append(f"too few labelled rows ({labelled:,} < {min_rows:,}): realised not decided")
    if reference.task is not Task.REGRESSION and not reference.calibrated:
        notes.append("the reference had no labels: estimates trust the model's own probabilities")
    if reference.task is Task.REGRESSION and reference.loss is None:
        notes.append(f"no label-free estimate: {reference.estimate_note or 'no loss model'}")

    candidates: list[tuple[FindingKind, bool, Signal]] = []
    estimate_base = reference.estimate_baseline()
    for name in ("auc", "accuracy", "rmse", "mae"):
        if name not in baseline:
            continue
        threshold = float(getattr(limits, name))
        for kind, source, values, ok, base_of in (
            (FindingKind.ESTIMATED_PERFORMANCE, "estimated", estimated, tested, estimate_base),
            (FindingKind.REALISED_PERFORMANCE, "realised", realised, labels_enough, baseline),
        ):
            if name in values and name in base_of:
                signal = _performance_signal(source, name, base_of[name], values[name], threshold)
                if signal is not None:
                    candidates.append((kind, ok, signal))
    signals = [s for _, _, s in candidates]
    adjust(signals, limits.alpha)
    for kind, ok, signal in candidates:
        reason = _performance_reason(signal, limits.alpha)
        effect = signal.effects[0]
        metric = str(signal.detail["metric"])
        if not ok:
            why = short if kind is FindingKind.ESTIMATED_PERFORMANCE else "too few labelled rows"
            reason = f"{why}; {reason}"
        findings.append(
            Finding(
                kind, metric, ok and signal.fired, ok, effect.name, effect.value,
                effect.threshold, reason,
            )
        )  # fmt: skip
    return WindowAssessment(
        summary.rows, labelled, min_rows, data, prediction, baseline, estimated, realised,
        on_labelled, signals, findings, notes,
    )  # fmt: skip
