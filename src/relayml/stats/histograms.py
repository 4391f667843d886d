"""Histograms of both sides for people to look at (the tests never use these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from relayml.stats.sketch import CategoricalSketch, NumericSketch

DISPLAY_BINS = 30
DISPLAY_CATEGORIES = 15


@dataclass(frozen=True)
class Histogram:
    """Shares per bin (numeric: ``edges`` has one more entry) or per category (``labels``)."""

    reference: list[float]
    current: list[float]
    edges: list[float] | None = None
    labels: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _cum_at(sk: NumericSketch, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Approximate count of values <= x, interpolating the sketch's cumulative counts."""
    xp = np.concatenate(([sk.minimum], sk.edges, [sk.maximum]))
    fp = np.concatenate(([0], sk.cum_counts, [sk.n])).astype(np.float64)
    order = np.argsort(xp, kind="stable")
    xp, fp = xp[order], np.maximum.accumulate(fp[order])
    out: np.ndarray[Any, Any] = np.interp(x, xp, fp, left=0.0, right=float(sk.n))
    return out


def numeric_histogram(
    ref: NumericSketch, cur: NumericSketch, bins: int = DISPLAY_BINS
) -> Histogram:
    """Equal-width bins over the reference's 0.5-99.5 % range; the tails go in the end bins."""
    if ref.n == 0 or ref.edges.size == 0:
        return Histogram([], [], edges=[])
    f = ref.cdf_at_edges()
    lo = float(ref.edges[min(int(np.searchsorted(f, 0.005)), ref.edges.size - 1)])
    hi = float(ref.edges[min(int(np.searchsorted(f, 0.995)), ref.edges.size - 1)])
    if cur.n:
        lo = min(lo, float(np.interp(0.005 * cur.n, cur.cum_counts, cur.edges)))
        hi = max(hi, float(np.interp(0.995 * cur.n, cur.cum_counts, cur.edges)))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    out = []
    for sk in (ref, cur):
        cum = _cum_at(sk, edges[1:-1]) if sk.n else np.zeros(bins - 1)
        counts = np.diff(np.concatenate(([0.0], cum, [float(sk.n)])))
        out.append((counts / max(sk.n, 1)).round(6).tolist())
    return Histogram(out[0], out[1], edges=[float(e) for e in edges])


def categorical_histogram(
    ref: CategoricalSketch, cur: CategoricalSketch, top: int = DISPLAY_CATEGORIES
) -> Histogram:
    """Shares of the most frequent categories of either side; the rest as '(other)'."""
    n, m = max(ref.n, 1), max(cur.n, 1)
    keys = set(ref.counts) | set(cur.counts)
    ranked = sorted(keys, key=lambda k: -max(ref.counts.get(k, 0) / n, cur.counts.get(k, 0) / m))
    shown = ranked[:top]
    r = [ref.counts.get(k, 0) / n for k in shown]
    c = [cur.counts.get(k, 0) / m for k in shown]
    if len(ranked) > top or ref.other or cur.other:
        shown.append("(other)")
        r.append(max(1.0 - sum(r), 0.0) if ref.n else 0.0)
        c.append(max(1.0 - sum(c), 0.0) if cur.n else 0.0)
    return Histogram([round(x, 6) for x in r], [round(x, 6) for x in c], labels=shown)
