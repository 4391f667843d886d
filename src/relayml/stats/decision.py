"""The decision rule: a column drifted when a change is both credible and large.

Each column yields *signals* (distribution or frequencies, missing rate, unseen categories). A
signal has one p-value and one or more effect sizes. A signal fires when

1. its p-value, Benjamini-Hochberg-adjusted across every signal of every column, is below
   ``alpha`` (the change is statistically credible: not sampling noise, even after testing many
   columns at once), and
2. at least one of its effect sizes, *minus the value expected from sampling noise alone*, reaches
   its threshold (the change is practically large: huge samples make trivial changes credible,
   and small samples make effect sizes look bigger than they are).

A column drifted when any of its signals fires. Every threshold is a field of ``Thresholds``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Thresholds:
    """Defaults of the decision rule; each effect is compared after removing its noise level."""

    alpha: float = 0.05  # false discovery rate (Benjamini-Hochberg) across all columns and tests
    wasserstein: float = 0.05  # numeric: mean move, in reference standard deviations
    psi: float = 0.10  # numeric and categorical: population stability index
    total_variation: float = 0.03  # categorical: share of rows that changed category
    missing_rate: float = 0.01  # every column: change of the missing share (0.01 = 1 point)
    unseen_share: float = 0.01  # categorical: share of current rows in never-seen categories

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def with_(self, **changes: float) -> Thresholds:
        return replace(self, **changes)


@dataclass
class Effect:
    """One effect size: observed value, its expected value under no shift, and its threshold."""

    name: str
    value: float
    null: float
    threshold: float

    @property
    def adjusted(self) -> float:
        return max(self.value - self.null, 0.0)

    @property
    def large(self) -> bool:
        return self.adjusted >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "noise": self.null,
            "adjusted": self.adjusted,
            "threshold": self.threshold,
            "large": self.large,
        }


@dataclass
class Signal:
    """One question about a column ("did its distribution change?") with its test and effects."""

    name: str  # distribution | frequencies | missing | unseen
    test: str  # ks | chi2 | two_proportion_z | binomial
    pvalue: float
    effects: list[Effect]
    pvalue_adjusted: float = 1.0
    alpha: float = 0.05
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def credible(self) -> bool:
        return self.pvalue_adjusted < self.alpha

    @property
    def large(self) -> bool:
        return any(e.large for e in self.effects)

    @property
    def fired(self) -> bool:
        return self.credible and self.large

    def largest_effect(self) -> Effect:
        """The effect closest to (or furthest past) its threshold."""
        return max(self.effects, key=lambda e: e.adjusted / e.threshold if e.threshold else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "test": self.test,
            "pvalue": self.pvalue,
            "pvalue_adjusted": self.pvalue_adjusted,
            "credible": self.credible,
            "large": self.large,
            "fired": self.fired,
            "effects": [e.to_dict() for e in self.effects],
            **({"detail": self.detail} if self.detail else {}),
        }


def benjamini_hochberg(pvalues: list[float]) -> list[float]:
    """BH-adjusted p-values (SciPy's ``false_discovery_control``)."""
    if not pvalues:
        return []
    p = np.clip(np.asarray(pvalues, dtype=np.float64), 0.0, 1.0)
    return [float(x) for x in sps.false_discovery_control(p, method="bh")]


def adjust(signals: list[Signal], alpha: float) -> None:
    """Set every signal's adjusted p-value, across all of them at once."""
    for s, q in zip(signals, benjamini_hochberg([s.pvalue for s in signals]), strict=True):
        s.pvalue_adjusted = q
        s.alpha = alpha


def describe_effect(effect: Effect, signal: Signal) -> str:
    """A plain sentence for one effect, with its threshold."""
    a, t = effect.adjusted, effect.threshold
    if effect.name == "wasserstein_norm":
        return (
            f"values moved by {a:.3f} standard deviations on average "
            f"(normalised Wasserstein after removing noise; threshold {t:g})"
        )
    if effect.name == "psi":
        return f"PSI {a:.3f} after removing {effect.null:.3f} expected from noise (threshold {t:g})"
    if effect.name == "total_variation":
        return (
            f"{a:.1%} of rows changed category (total variation after removing noise; "
            f"threshold {t:.1%})"
        )
    if effect.name == "missing_rate_change":
        ref, cur = signal.detail["reference_rate"], signal.detail["current_rate"]
        return f"missing values went from {ref:.1%} to {cur:.1%} (threshold ±{t * 100:g} points)"
    if effect.name == "unseen_share":
        examples = ", ".join(repr(x) for x in signal.detail.get("examples", [])[:3])
        tail = f", e.g. {examples}" if examples else ""
        return (
            f"{effect.value:.1%} of current rows have categories the reference never had{tail} "
            f"(threshold {t:.1%} above the {effect.null:.2%} expected)"
        )
    if effect.name == "performance_drop":  # a monitor's performance signal (stats/assessment.py)
        d = signal.detail
        if d.get("relative"):
            size = f"{effect.value:+.1%}, threshold +{t:.0%}"
        else:
            size = f"{-effect.value:+.3f}, threshold -{t:g}"
        return (
            f"{d['source']} {d['metric']} went from {d['reference']:.3f} on the reference "
            f"to {d['current']:.3f} ({size})"
        )
    return f"{effect.name} {a:.3g} (threshold {t:g})"


def _p(p: float) -> str:
    return "< 1e-300" if p < 1e-300 else f"= {p:.2g}"


def explain(signals: list[Signal], alpha: float) -> tuple[bool, str]:
    """The column's decision and the reason for it, in words."""
    if not signals:
        return False, "Not tested: no values to compare."
    fired = [s for s in signals if s.fired]
    if fired:
        parts = []
        for s in fired:
            effect = describe_effect(s.largest_effect(), s)
            parts.append(
                f"{effect}; credible ({s.test} adjusted p {_p(s.pvalue_adjusted)} < {alpha:g})"
            )
        return True, "Drifted: " + ". ".join(parts) + "."
    credible = [s for s in signals if s.credible]
    if credible:
        s = max(
            credible,
            key=lambda x: x.largest_effect().adjusted / max(x.largest_effect().threshold, 1e-12),
        )
        return False, (
            f"Not drifted: the change is credible ({s.test} adjusted p {_p(s.pvalue_adjusted)}) "
            f"but small: {describe_effect(s.largest_effect(), s)}."
        )
    best = min(signals, key=lambda x: x.pvalue_adjusted)
    return False, (
        f"Not drifted: no credible change (smallest adjusted p {_p(best.pvalue_adjusted)} "
        f"from {best.test}, needs < {alpha:g}); {describe_effect(best.largest_effect(), best)}."
    )
