"""One measurement in its own process: load both sides, time one tool, print a JSON line.

Run by run.py with the interpreter of the tool's virtual environment:
    python measure.py TOOL REF.parquet CUR.parquet REPEATS
Prints {"tool", "version", "seconds" (best of REPEATS), "all_seconds", "rss_loaded_mb",
"peak_rss_mb", "flagged"}. Only pandas, numpy and pyarrow are needed besides the tool.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq

CATEGORICAL = {"s_category", "s_rare", "u_cat3", "u_cat10", "u_zipf50", "u_cat_missing"}
BOOLEAN = {"u_bool1", "u_bool2"}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def relay(ref: Any, cur: Any) -> tuple[Callable[[], list[str]], str]:
    from importlib.metadata import PackageNotFoundError, version

    import relayml.drift as drift
    import relayml.stats.drift  # noqa: F401 - import outside the timing

    try:
        v = version("relayml")
    except PackageNotFoundError:
        v = "src"
    return lambda: drift.compare(ref, cur).drifted, v


def plain(ref: Any, cur: Any) -> tuple[Callable[[], list[str]], str]:
    """KS, Wasserstein, PSI, JS per numeric column; chi-square, PSI, JS per categorical; missing
    rate z-test. Flags a column when any p-value < 0.05 (no correction, no effect size)."""
    import numpy as np
    import scipy
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    def psi(p: Any, q: Any) -> float:
        p, q = (p + 0.5) / (p + 0.5).sum(), (q + 0.5) / (q + 0.5).sum()
        return float(np.sum((q - p) * np.log(q / p)))

    def missing_p(a: int, n: int, b: int, m: int) -> float:
        if a + b == 0:
            return 1.0
        return float(stats.chi2_contingency([[a, n - a], [b, m - b]], correction=False).pvalue)

    def run() -> list[str]:
        flagged = []
        for name in ref.columns:
            r, c = ref[name], cur[name]
            pvals = [missing_p(int(r.isna().sum()), len(r), int(c.isna().sum()), len(c))]
            if name in CATEGORICAL or name in BOOLEAN:
                rc, cc = r.value_counts(), c.value_counts()
                keys = rc.index.union(cc.index)
                a = rc.reindex(keys, fill_value=0).to_numpy(float)
                b = cc.reindex(keys, fill_value=0).to_numpy(float)
                pvals.append(float(stats.chi2_contingency(np.vstack([a, b])).pvalue))
                psi(a, b), jensenshannon(a, b, base=2)
            else:
                x = r.to_numpy(dtype=float, na_value=np.nan)
                y = c.to_numpy(dtype=float, na_value=np.nan)
                x, y = x[np.isfinite(x)], y[np.isfinite(y)]
                pvals.append(float(stats.ks_2samp(x, y, method="asymp").pvalue))
                stats.wasserstein_distance(x, y) / x.std()
                edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
                edges[0], edges[-1] = -np.inf, np.inf
                a = np.histogram(x, edges)[0].astype(float)
                b = np.histogram(y, edges)[0].astype(float)
                psi(a, b), jensenshannon(a, b, base=2)
            if min(pvals) < 0.05:
                flagged.append(name)
        return flagged

    return run, f"numpy {np.__version__}, scipy {scipy.__version__}"


def evidently(ref: Any, cur: Any) -> tuple[Callable[[], list[str]], str]:
    import evidently as ev
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def run() -> list[str]:
        snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
        flagged = []
        for metric in snapshot.dict()["metrics"]:
            cfg = metric.get("config", {})
            if not str(cfg.get("type", "")).endswith("ValueDrift"):
                continue
            value, threshold = float(metric["value"]), float(cfg["threshold"])
            is_pvalue = "p_value" in str(cfg.get("method", "")).lower()
            if (value < threshold) if is_pvalue else (value >= threshold):
                flagged.append(str(cfg["column"]))
        return flagged

    return run, f"evidently {ev.__version__}"


def nannyml(ref: Any, cur: Any) -> tuple[Callable[[], list[str]], str]:
    import nannyml as nml

    cols = list(ref.columns)
    cats = [c for c in cols if c in CATEGORICAL or c in BOOLEAN]

    def run() -> list[str]:
        calc = nml.UnivariateDriftCalculator(column_names=cols, treat_as_categorical=cats)
        calc.fit(ref)
        df = calc.calculate(cur).filter(period="analysis").to_df()
        flagged = []
        for name in cols:
            alerts = [c for c in df.columns if c[0] == name and c[-1] == "alert"]
            if any(bool(df[c].fillna(False).any()) for c in alerts):
                flagged.append(name)
        return flagged

    return run, f"nannyml {nml.__version__} (default chunking, default methods)"


TOOLS = {"relay": relay, "plain": plain, "evidently": evidently, "nannyml": nannyml}


def main() -> None:
    tool, ref_path, cur_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ref = pq.read_table(ref_path).to_pandas()
    cur = pq.read_table(cur_path).to_pandas()
    run, version = TOOLS[tool](ref, cur)
    loaded = rss_mb()
    times, flagged = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        flagged = run()
        times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "tool": tool,
                "version": version,
                "seconds": min(times),
                "all_seconds": times,
                "rss_loaded_mb": loaded,
                "peak_rss_mb": rss_mb(),
                "flagged": sorted(set(flagged)),
            }
        )
    )


if __name__ == "__main__":
    main()
