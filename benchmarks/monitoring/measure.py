"""One monitoring measurement in its own process; prints one JSON line.

Run by run.py with the interpreter of the tool's virtual environment:
    python measure.py TOOL TASK
TOOL: relay | whylogs | evidently | nannyml. TASK:
    ingest    1,000,000 rows of 40 columns in 10,000-row batches into window summaries (Relay:
              summarise + merge; whylogs: profile logging + merge of the profile views)
    close     a 1,000,000-row window against the 100,000-row reference, decided from raw rows
              (Relay: summarise + assess + decide; Evidently: DataDriftPreset report; NannyML:
              univariate drift + CBPE with its default chunking, 10 chunks a side, a column
              flagged when any chunk alerts; whylogs: profile both sides + drift scores)
    memory    10,000 windows of 1,000 rows closed one after another (Relay only), peak RSS at
              checkpoints
    estimate  label-free AUC and accuracy per 5,000-row window, 40 windows, reference fitted on
              100,000 labelled rows (Relay: MonitorReference + summaries; NannyML: CBPE)
    dle       a regressor's label-free MAE and RMSE per 5,000-row window, 40 windows, on the
              same inputs (data.regression), loss model fitted on 100,000 labelled rows (Relay:
              stats.loss_estimate; NannyML: DLE, default LightGBM, no tuning)
Data is generated in the process (benchmarks/monitoring/data.py, fixed seeds) before timing.
Threads: one (OMP/BLAS and Arrow pinned by run.py's environment), so rows per second is per core;
CPU seconds are reported beside wall seconds.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import regression, timeline, window

SCALE = 10 if os.environ.get("MONITORING_BENCH_QUICK") == "1" else 1  # run.py --quick
REF_ROWS = 100_000
INGEST_ROWS, BATCH = 1_000_000 // SCALE, 10_000
CLOSE_ROWS = 1_000_000 // SCALE
WINDOWS, WINDOW_ROWS = 10_000 // SCALE, 1_000
CHECKPOINTS = tuple(c for c in (10, 100, 1_000, 10_000) if c <= WINDOWS)
EST_WINDOWS, EST_ROWS = 40, 5_000
K, N = 3, 6  # persistence: 3 of the last 6 windows


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def reference() -> tuple[pa.Table, np.ndarray, np.ndarray]:
    return window(REF_ROWS, 1)


def ingest_batches() -> list[tuple[pa.Table, np.ndarray]]:
    t, s, _ = window(INGEST_ROWS, 2, 0.5)
    return [(t.slice(i, BATCH), s[i : i + BATCH]) for i in range(0, INGEST_ROWS, BATCH)]


def estimate_stream() -> tuple[list[pa.Table], list[np.ndarray], list[np.ndarray]]:
    tables, scores, truths = [], [], []
    for i, shift in enumerate(timeline(EST_WINDOWS)):
        t, s, y = window(EST_ROWS, 1_000 + i, shift)
        tables.append(t)
        scores.append(s)
        truths.append(y)
    return tables, scores, truths


def dle_stream() -> tuple[list[pa.Table], list[np.ndarray], list[np.ndarray]]:
    """The estimate task's windows, scored by the regressor: (inputs, predictions, truths)."""
    tables, preds, truths = [], [], []
    for i, (t, _, _) in enumerate(zip(*estimate_stream(), strict=True)):
        p, y = regression(t, 2_000 + i)
        tables.append(t)
        preds.append(p)
        truths.append(y)
    return tables, preds, truths


def dle_reference() -> tuple[pa.Table, np.ndarray, np.ndarray]:
    t, _, _ = reference()
    p, y = regression(t, 1)
    return t, p, y


# ---------------------------------------------------------------- Relay


def relay_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"relayml {version('relayml')}"
    except PackageNotFoundError:
        return "relayml (src)"


def relay_reference(with_inputs: bool = True) -> Any:
    import relayml.drift as drift
    from relayml.stats.monitoring import MonitorReference
    from relayml.stats.sketch import TableSketch

    t, s, y = reference()
    sketch = drift.summarize(t) if with_inputs else TableSketch({}, {}, t.num_rows)
    return MonitorReference.build(sketch, task="binary", classes=[0, 1], probabilities=s, labels=y)


def relay(task: str) -> dict[str, Any]:
    from relayml.stats.monitoring import assess, decide, merge, summarise

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    out: dict[str, Any] = {"version": relay_version()}
    if task == "ingest":
        ref = relay_reference()
        batches = ingest_batches()
        loaded = rss_mb()

        def run() -> Any:
            acc = None
            for t, s in batches:
                w = summarise(ref, t, None, s)
                acc = w if acc is None else merge(acc, w)
            return acc

        acc, wall, cpu = timed(run)
        _, close_wall, _ = timed(lambda: decide([assess(ref, acc, min_rows=1_000)], k=1, n=1))
        out.update(rows=INGEST_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), summary_bytes=len(json.dumps(acc.to_dict())),
                   close_after_ingest=close_wall)  # fmt: skip
    elif task == "close":
        ref = relay_reference()
        t, s, _ = window(CLOSE_ROWS, 3, 1.0)
        loaded = rss_mb()

        def run() -> Any:
            a = assess(ref, summarise(ref, t, None, s), min_rows=1_000)
            return a, decide([a], k=1, n=1)

        (a, decisions), wall, cpu = timed(run)
        flagged = sorted({f.subject for f in a.flagged if f.kind.value == "data_drift"})
        out.update(rows=CLOSE_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), flagged=flagged, alerts=len(decisions))  # fmt: skip
    elif task == "memory":
        ref = relay_reference()
        pool = [window(WINDOW_ROWS, 5_000 + i, shift) for i, shift in enumerate(timeline(16))]
        history: deque[Any] = deque(maxlen=N)
        marks: dict[str, float] = {}
        day = None
        sizes = 0
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(WINDOWS):
            t, s, _ = pool[i % len(pool)]
            w = summarise(ref, t, None, s)
            day = w if day is None or i % 24 == 0 else merge(day, w)
            a = assess(ref, w, min_rows=500)
            history.append(a.findings)
            decide(list(history), k=K, n=N)
            if i % 1000 == 0:
                sizes += len(json.dumps(w.to_dict()))
            if i + 1 in CHECKPOINTS:
                marks[str(i + 1)] = rss_mb()
        out.update(windows=WINDOWS, window_rows=WINDOW_ROWS, wall=time.perf_counter() - w0,
                   cpu=time.process_time() - c0,
                   rss_at=marks, window_json_bytes=sizes / (WINDOWS // 1000))  # fmt: skip
    elif task == "estimate":
        tables, scores, _ = estimate_stream()
        t, s, y = reference()
        from relayml.stats.monitoring import MonitorReference
        from relayml.stats.sketch import TableSketch

        empty = TableSketch({}, {}, REF_ROWS)
        no_columns = [tb.select([]) for tb in tables]

        def run() -> list[dict[str, float]]:
            ref = MonitorReference.build(
                empty, task="binary", classes=[0, 1], probabilities=s, labels=y
            )
            found = []
            for tb, sc in zip(no_columns, scores, strict=True):
                m = summarise(ref, tb, None, sc).scores.metrics()  # type: ignore[union-attr]
                found.append({"auc": m["auc"].value, "accuracy": m["accuracy"].value})
            return found

        estimates, wall, cpu = timed(run)
        full_ref = relay_reference()

        def whole() -> None:
            for tb, sc in zip(tables, scores, strict=True):
                assess(full_ref, summarise(full_ref, tb, None, sc), min_rows=1_000)

        _, whole_wall, _ = timed(whole)
        out.update(wall=wall, cpu=cpu, estimates=estimates, whole_windows_wall=whole_wall)
    elif task == "dle":
        import relayml.drift as drift
        from relayml.stats.loss_estimate import fit_loss_model
        from relayml.stats.monitoring import MonitorReference

        tables, preds, _ = dle_stream()
        t, p, y = dle_reference()

        def run() -> list[dict[str, float]]:
            model = fit_loss_model(t, p, y)
            found = []
            for tb, pr in zip(tables, preds, strict=True):
                m = model.sums(tb, pr).metrics(model)
                found.append({"mae": m["mae"].value, "rmse": m["rmse"].value})
            return found

        estimates, wall, cpu = timed(run)
        sketch = drift.summarize(t)

        def whole() -> list[bool]:
            ref = MonitorReference.build(
                sketch, task="regression", predictions=p, labels=y, features=t
            )
            flagged = []
            for tb, pr in zip(tables, preds, strict=True):
                a = assess(ref, summarise(ref, tb, pr), min_rows=1_000)
                flagged.append(
                    any(f.flagged for f in a.findings if f.kind.value == "estimated_performance")
                )
            return flagged

        flagged, whole_wall, _ = timed(whole)
        out.update(wall=wall, cpu=cpu, estimates=estimates, whole_windows_wall=whole_wall,
                   flagged_windows=flagged)  # fmt: skip
    return out


# ---------------------------------------------------------------- whylogs


def whylogs(task: str) -> dict[str, Any]:
    import whylogs as why

    out: dict[str, Any] = {"version": f"whylogs {why.__version__}"}
    if task == "ingest":
        frames = [t.to_pandas() for t, _ in ingest_batches()]
        loaded = rss_mb()

        def run() -> Any:
            acc = None
            for df in frames:
                view = why.log(pandas=df).view()
                acc = view if acc is None else acc.merge(view)
            return acc

        acc, wall, cpu = timed(run)
        out.update(rows=INGEST_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), summary_bytes=len(acc.serialize()))  # fmt: skip
    elif task == "close":
        from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

        ref = reference()[0].to_pandas()
        cur = window(CLOSE_ROWS, 3, 1.0)[0].to_pandas()
        loaded = rss_mb()

        def run() -> Any:
            ref_view = why.log(pandas=ref).view()
            cur_view = why.log(pandas=cur).view()
            return calculate_drift_scores(
                target_view=cur_view, reference_view=ref_view, with_thresholds=True
            )

        scores, wall, cpu = timed(run)
        flagged = sorted(
            name
            for name, s in scores.items()
            if s and str(s.get("drift_category", "")).upper() == "DRIFT"
        )
        out.update(rows=CLOSE_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), flagged=flagged)  # fmt: skip
    return out


# ---------------------------------------------------------------- Evidently


def evidently(task: str) -> dict[str, Any]:
    import evidently as ev
    from evidently import Report
    from evidently.presets import DataDriftPreset

    out: dict[str, Any] = {"version": f"evidently {ev.__version__}"}
    if task == "close":
        ref = reference()[0].to_pandas()
        cur = window(CLOSE_ROWS, 3, 1.0)[0].to_pandas()
        loaded = rss_mb()

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
            return sorted(flagged)

        flagged, wall, cpu = timed(run)
        out.update(rows=CLOSE_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), flagged=flagged)  # fmt: skip
    return out


# ---------------------------------------------------------------- NannyML


def nannyml(task: str) -> dict[str, Any]:
    import nannyml as nml
    import pandas as pd

    out: dict[str, Any] = {"version": f"nannyml {nml.__version__}"}
    t, s, y = reference()
    if task == "close":
        ref = t.to_pandas()
        ref["score"], ref["pred"], ref["y"] = s, (s > 0.5).astype(int), y
        ct, cs, _ = window(CLOSE_ROWS, 3, 1.0)
        cur = ct.to_pandas()
        cur["score"], cur["pred"] = cs, (cs > 0.5).astype(int)
        columns = list(t.column_names)
        cats = [c for c in columns if pa.types.is_string(t.schema.field(c).type)]
        loaded = rss_mb()

        def run() -> list[str]:
            drift = nml.UnivariateDriftCalculator(column_names=columns, treat_as_categorical=cats)
            drift.fit(ref)
            df = drift.calculate(cur).filter(period="analysis").to_df()
            cbpe = nml.CBPE(
                problem_type="classification_binary", y_pred_proba="score", y_pred="pred",
                y_true="y", metrics=["roc_auc", "accuracy"],
            )  # fmt: skip
            cbpe.fit(ref)
            cbpe.estimate(cur)
            flagged = []
            for name in columns:
                alerts = [c for c in df.columns if c[0] == name and c[-1] == "alert"]
                if any(bool(df[c].fillna(False).any()) for c in alerts):
                    flagged.append(name)
            return flagged

        flagged, wall, cpu = timed(run)
        out.update(rows=CLOSE_ROWS, wall=wall, cpu=cpu, rss_loaded_mb=loaded,
                   peak_rss_mb=rss_mb(), flagged=flagged)  # fmt: skip
    elif task == "estimate":
        _, scores, _ = estimate_stream()
        ref = pd.DataFrame({"score": s, "pred": (s > 0.5).astype(int), "y": y})
        analysis = pd.DataFrame(
            {"score": np.concatenate(scores), "pred": (np.concatenate(scores) > 0.5).astype(int)}
        )

        def run() -> list[dict[str, float]]:
            cbpe = nml.CBPE(
                problem_type="classification_binary", y_pred_proba="score", y_pred="pred",
                y_true="y", metrics=["roc_auc", "accuracy"], chunk_size=EST_ROWS,
            )  # fmt: skip
            cbpe.fit(ref)
            df = cbpe.estimate(analysis).filter(period="analysis").to_df()
            return [
                {"auc": float(a), "accuracy": float(b)}
                for a, b in zip(df[("roc_auc", "value")], df[("accuracy", "value")], strict=True)
            ]

        estimates, wall, cpu = timed(run)
        out.update(wall=wall, cpu=cpu, estimates=estimates)
    elif task == "dle":
        tables, preds, _ = dle_stream()
        rt, rp, ry = dle_reference()
        columns = list(rt.column_names)

        # NannyML 0.13.1's DLE encodes a categorical column, assigns it back and reshapes its
        # `.values`, which pandas 3's Arrow-backed strings refuse (NotImplementedError): its
        # DLE runs here with pandas' string inference off (deprecated, still honoured in 3.x)
        pd.set_option("future.infer_string", False)

        def frame(tb: pa.Table, pred: np.ndarray, truth: np.ndarray | None) -> pd.DataFrame:
            df = tb.to_pandas()
            for c in columns:
                if not pd.api.types.is_numeric_dtype(df[c]):
                    df[c] = df[c].astype(object)
            df["y_pred"] = pred
            if truth is not None:
                df["y_true"] = truth
            return df

        ref_df = frame(rt, rp, ry)
        analysis = pd.concat([frame(tb, pr, None) for tb, pr in zip(tables, preds, strict=True)],
                             ignore_index=True)  # fmt: skip

        def run() -> list[dict[str, float]]:
            dle = nml.DLE(
                feature_column_names=columns, y_pred="y_pred", y_true="y_true",
                metrics=["mae", "rmse"], chunk_size=EST_ROWS, tune_hyperparameters=False,
            )  # fmt: skip
            dle.fit(ref_df)
            df = dle.estimate(analysis).filter(period="analysis").to_df()
            return [
                {"mae": float(a), "rmse": float(b)}
                for a, b in zip(df[("mae", "value")], df[("rmse", "value")], strict=True)
            ]

        estimates, wall, cpu = timed(run)
        out.update(wall=wall, cpu=cpu, estimates=estimates)
    return out


TOOLS = {"relay": relay, "whylogs": whylogs, "evidently": evidently, "nannyml": nannyml}


def main() -> None:
    tool, task = sys.argv[1], sys.argv[2]
    result = TOOLS[tool](task)
    result.update(tool=tool, task=task, pid=os.getpid())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
