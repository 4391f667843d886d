"""Uniqueness across batches: state that remembers every distinct value seen so far.

Memory is bounded by the number of distinct values (not rows): numeric and temporal columns keep
sorted runs of (value, count) as NumPy arrays, 16 bytes per distinct value per run, merged when
runs pile up; other types (strings, key combinations) keep Arrow group-by tables of
(key..., count). A column of 10 million distinct ids therefore costs about 160 MB at the end.
A failing row is any row whose value occurs more than once (every occurrence counts).
"""

from __future__ import annotations

from typing import Any

MAX_RUNS = 16
BLOCK_ROWS = 1 << 24  # values buffered before they are sorted into a run (128 MB of int64)
SAMPLE = 5


class NumericCounter:
    """Counts of int/float/temporal values: buffered, then kept as sorted NumPy runs.

    Up to BLOCK_ROWS values are buffered as they come (zero-copy views where Arrow allows);
    a full buffer is sorted into a run of (distinct value, count). A column that fits one
    buffer is sorted once, at the end, which is as fast as a plain np.sort of the column.
    """

    def __init__(self) -> None:
        self.runs: list[tuple[Any, Any]] = []
        self.pending: list[Any] = []
        self.pending_rows = 0

    def add(self, values: Any) -> None:
        if len(values) == 0:
            return
        self.pending.append(values)
        self.pending_rows += len(values)
        if self.pending_rows >= BLOCK_ROWS:
            self._flush()

    def _flush(self) -> None:
        import numpy as np

        if not self.pending:
            return
        s = np.sort(np.concatenate(self.pending))
        self.pending, self.pending_rows = [], 0
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        self.runs.append((s[starts], np.diff(np.append(starts, len(s)))))
        if len(self.runs) > MAX_RUNS:
            self._compact()

    def _compact(self) -> None:
        import numpy as np

        v = np.concatenate([u for u, _ in self.runs])
        c = np.concatenate([n for _, n in self.runs])
        order = np.argsort(v, kind="stable")
        v, c = v[order], c[order]
        starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
        self.runs = [(v[starts], np.add.reduceat(c, starts))]

    def duplicates(self) -> tuple[int, list[tuple[Any, int]]]:
        """(rows whose value occurs more than once, up to SAMPLE (value, count) pairs)."""
        import numpy as np

        if not self.runs:
            if not self.pending:
                return 0, []
            # The common case: everything fits one buffer; one pass, no run bookkeeping.
            values = np.concatenate(self.pending)
            dense = _dense_duplicates(values)
            if dense is not None:
                return dense
            s = np.sort(values)
            eq = s[1:] == s[:-1]
            if not eq.any():
                return 0, []
            mark = np.zeros(len(s), dtype=bool)
            mark[1:] |= eq
            mark[:-1] |= eq
            shown = np.unique(s[1:][eq])[:SAMPLE]
            counts = np.searchsorted(s, shown, "right") - np.searchsorted(s, shown, "left")
            return int(np.count_nonzero(mark)), _pairs(shown, counts)
        self._flush()
        if len(self.runs) > 1:
            # Candidates: values seen in two runs, or twice within one run. Usually few, so
            # look them up instead of merging every run.
            every = np.sort(np.concatenate([u for u, _ in self.runs]))
            across = every[1:][every[1:] == every[:-1]]
            within = [u[n > 1] for u, n in self.runs]
            candidates = np.unique(np.concatenate([across, *within]))
            if len(candidates) > len(every) // 4:
                self._compact()
            else:
                totals = np.zeros(len(candidates), dtype=np.int64)
                for u, n in self.runs:
                    idx = np.minimum(np.searchsorted(u, candidates), len(u) - 1)
                    hit = u[idx] == candidates
                    totals[hit] += n[idx[hit]]
                return int(totals.sum()), _pairs(candidates, totals)
        u, n = self.runs[0]
        dup = n > 1
        return int(n[dup].sum()), _pairs(u[dup], n[dup])


def _dense_duplicates(values: Any) -> tuple[int, list[tuple[Any, int]]] | None:
    """Integer ids over a range not much wider than their number: count with np.bincount
    (linear time, 8 bytes per possible value) instead of sorting."""
    import numpy as np

    if values.dtype.kind not in "iu" or len(values) == 0:
        return None
    lo, hi = int(values.min()), int(values.max())
    width = hi - lo + 1
    if width > max(2 * len(values), 1 << 16):
        return None
    counts = np.bincount(values - lo if lo else values, minlength=width)
    dup = np.flatnonzero(counts > 1)
    shown = dup[:SAMPLE]
    return int(counts[dup].sum()), _pairs(shown + lo, counts[shown])


def _pairs(values: Any, counts: Any) -> list[tuple[Any, int]]:
    return [(v.item() if hasattr(v, "item") else v, int(c)) for v, c in
            zip(values[:SAMPLE], counts[:SAMPLE], strict=True)]  # fmt: skip


class GroupCounter:
    """Counts of key combinations (or non-numeric single values) with Arrow group-by."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.parts: list[Any] = []
        self.pending = 0
        self.compacted = 0

    def add(self, table: Any) -> None:
        """`table` holds the key columns of one batch; rows with a null key are skipped."""
        if table.num_rows == 0:
            return
        table = table.drop_null()
        counted = table.group_by(self.columns, use_threads=False).aggregate([([], "count_all")])
        self.parts.append(counted.rename_columns([*self.columns, "n"]))
        self.pending += counted.num_rows
        if self.pending > 2 * self.compacted + (1 << 20):
            self._compact()

    def _compact(self) -> None:
        import pyarrow as pa

        merged = pa.concat_tables(self.parts).group_by(self.columns, use_threads=False)
        total = merged.aggregate([("n", "sum")]).rename_columns([*self.columns, "n"])
        self.parts = [total]
        self.compacted = self.pending = total.num_rows

    def duplicates(self) -> tuple[int, list[dict[str, Any]]]:
        import pyarrow.compute as pc

        if not self.parts:
            return 0, []
        self._compact()
        total = self.parts[0]
        dup = total.filter(pc.greater(total["n"], 1))
        failing = pc.sum(dup["n"]).as_py() or 0
        sample = dup.slice(0, SAMPLE).to_pylist()
        return int(failing), [{**{k: v for k, v in r.items() if k != "n"}, "_count": r["n"]}
                              for r in sample]  # fmt: skip
