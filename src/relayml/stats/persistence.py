"""When a finding becomes an alert: k of the last n windows, so one noisy hour pages nobody.

``persistent(flags, k, n)`` is the rule on one condition's flags (oldest first). ``decide``
applies it to every condition of a monitor's recent windows and says, for each, whether it
fires, how many of the windows counted were flagged, since which window, and how large it is
now. Windows with too few rows (findings not ``tested``) are passed over: they neither count
towards ``n`` nor break a run, so a quiet night does not clear a shift seen all day. An alert
resolves itself when its condition no longer fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relayml.domain.numbers import encode_float
from relayml.errors import InvalidInput
from relayml.stats.assessment import Finding, FindingKind, WindowAssessment


def _check(k: int, n: int) -> None:
    for name, value in (("k", k), ("n", n)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInput(f"{name} must be a positive integer, got {value!r}")
    if k > n:
        raise InvalidInput(f"k ({k}) cannot exceed n ({n}): k of the last n windows")


def persistent(flags: Sequence[bool], k: int, n: int) -> bool:
    """True when at least ``k`` of the last ``n`` flags (oldest first) are set."""
    _check(k, n)
    return sum(bool(f) for f in list(flags)[-n:]) >= k


@dataclass(frozen=True)
class AlertDecision:
    """One condition over a monitor's recent windows: fire or not, and what to say."""

    key: str
    kind: FindingKind
    subject: str
    firing: bool
    flagged: int  # windows flagged among those counted
    counted: int  # tested windows among the last n (at most n)
    since: int | None  # history index of the oldest flagged window counted
    latest: Finding  # the newest tested finding: how much, and why

    @property
    def text(self) -> str:
        """One line for the alert: what, how much, in how many windows."""
        f = self.latest
        return (
            f"{self.subject} ({self.kind.value.replace('_', ' ')}): {f.measure} "
            f"{f.magnitude:.3g} against threshold {f.threshold:g}, flagged in {self.flagged} "
            f"of the last {self.counted} windows. {f.reason}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "subject": self.subject,
            "firing": self.firing,
            "flagged": self.flagged,
            "counted": self.counted,
            "since": self.since,
            "magnitude": encode_float(self.latest.magnitude),
            "latest": self.latest.to_dict(),
            "text": self.text,
        }


def decide(
    history: Sequence[WindowAssessment | Sequence[Finding]], *, k: int, n: int
) -> list[AlertDecision]:
    """For every condition flagged in the last ``n`` tested windows of ``history`` (oldest
    first; assessments or their findings), whether it fires (``k`` of those ``n``), firing
    ones first. ``since`` is an index into ``history``."""
    _check(k, n)
    windows = [w.findings if isinstance(w, WindowAssessment) else list(w) for w in history]
    per_key: dict[str, list[tuple[int, Finding]]] = {}
    for index, findings in enumerate(windows):
        for finding in findings:
            if finding.tested:
                per_key.setdefault(finding.key, []).append((index, finding))
    out = []
    for key, seen in per_key.items():
        recent = seen[-n:]
        flagged = [(i, f) for i, f in recent if f.flagged]
        if not flagged:
            continue
        latest = recent[-1][1]
        out.append(
            AlertDecision(
                key, latest.kind, latest.subject, len(flagged) >= k, len(flagged),
                len(recent), flagged[0][0], latest,
            )
        )  # fmt: skip
    return sorted(out, key=lambda d: (not d.firing, -d.flagged, d.key))
