"""Monitoring benchmark: Relay's window summaries, decisions and label-free estimates against
whylogs, Evidently and NannyML, on one generated stream of 40 columns with planted shifts.

    python benchmarks/monitoring/run.py             # `make bench`, `make bench-monitoring`
    python benchmarks/monitoring/run.py --quick     # a tenth of the sizes, a smoke test
    python benchmarks/monitoring/run.py --no-peers  # Relay only
    python benchmarks/monitoring/run.py --only-dle  # a regressor's DLE: Relay and NannyML

Peers run in their own virtual environments under benchmarks/.venvs/ (created on first use,
latest from PyPI; evidently and nannyml are the drift benchmark's environments). whylogs 1.6.4
imports ``np.unicode_``, which NumPy 2 removed, though its metadata allows NumPy 2: its
environment pins ``numpy<2`` and, with it, ``pyarrow<20``. Every measurement is its own process
(peak memory belongs to one tool) with one thread for BLAS and Arrow; rates are per CPU second
of the process, so they are per core and not slowed by other work on the machine, and wall
seconds are shown beside them. Results go between the monitoring markers of
benchmarks/RESULTS.md; the rest of that file is left as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BEGIN, END = "<!-- monitoring:begin -->", "<!-- monitoring:end -->"
DLE_BEGIN, DLE_END = "<!-- monitoring-dle:begin -->", "<!-- monitoring-dle:end -->"

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402
from data import SHIFTED  # noqa: E402

PEERS = {
    "whylogs": ["whylogs[viz]", "numpy<2", "pandas<3", "pyarrow<20"],
    "evidently": ["evidently>=0.7,<0.8", "pandas<3", "pyarrow"],
    "nannyml": ["nannyml", "statsmodels", "pyarrow"],
}
PLAN = [
    ("relay", "ingest"),
    ("whylogs", "ingest"),
    ("relay", "close"),
    ("whylogs", "close"),
    ("evidently", "close"),
    ("nannyml", "close"),
    ("relay", "estimate"),
    ("nannyml", "estimate"),
    ("relay", "dle"),
    ("nannyml", "dle"),
    ("relay", "memory"),
]
ENV = {
    **os.environ,
    "NML_DISABLE_USAGE_LOGGING": "1",
    "EVIDENTLY_DISABLE_TELEMETRY": "1",
    "WHYLOGS_NO_ANALYTICS": "True",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
TIMEOUT = 3600
ENVIRONMENTS = (
    "Environments (benchmarks/.venvs, latest from PyPI): "
    + "; ".join(f"{name}: `pip install {' '.join(pk)}`" for name, pk in PEERS.items())
    + ". whylogs 1.6.4, the latest, fails on import with NumPy 2 (`np.unicode_` was removed) "
    "although its metadata allows it, so its environment pins NumPy 1 and a pyarrow built "
    "for it; nothing else had to be changed."
)
CLOSE_NOTE = (
    "Each peer as it decides by default: Evidently's DataDriftPreset; NannyML's univariate "
    "drift and CBPE with its default chunking (10 chunks a side), a column flagged when any "
    "chunk alerts; whylogs' `calculate_drift_scores` with its thresholds, a column flagged "
    "when its category is DRIFT. Relay's rule is the drift engine's (credible and large, "
    "Benjamini-Hochberg across the columns)."
)
INPUT_COLUMNS = 40


def measure(python: Path, tool: str, task: str, quick: bool) -> dict[str, Any]:
    env = dict(ENV)
    if quick:
        env["MONITORING_BENCH_QUICK"] = "1"
    if tool == "relay":
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [str(python), str(HERE / "measure.py"), tool, task]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "task": task, "error": f"timeout after {TIMEOUT} s"}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"tool": tool, "task": task, "error": " | ".join(tail)[:400]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def realised(quick: bool) -> list[dict[str, float]]:
    """The realised AUC and accuracy of every estimate window, exact (rank AUC: the same as
    scikit-learn's roc_auc_score), from the same generated rows the tools saw."""
    if quick:
        os.environ["MONITORING_BENCH_QUICK"] = "1"
    from measure import estimate_stream

    from relayml.stats.metrics import roc_auc

    _, scores, truths = estimate_stream()
    return [
        {"auc": roc_auc(y == 1, s), "accuracy": float(np.mean((s > 0.5) == (y == 1)))}
        for s, y in zip(scores, truths, strict=True)
    ]


def realised_regression(quick: bool) -> list[dict[str, float]]:
    """The realised MAE and RMSE of every DLE window, from the same generated rows."""
    if quick:
        os.environ["MONITORING_BENCH_QUICK"] = "1"
    from measure import dle_stream

    _, preds, truths = dle_stream()
    return [
        {"mae": float(np.mean(np.abs(p - y))), "rmse": float(np.sqrt(np.mean((p - y) ** 2)))}
        for p, y in zip(preds, truths, strict=True)
    ]


def mae(estimates: list[dict[str, float]], truth: list[dict[str, float]], key: str) -> float:
    return float(np.mean([abs(e[key] - t[key]) for e, t in zip(estimates, truth, strict=True)]))


def score(flagged: list[str]) -> tuple[int, int]:
    return len(set(flagged) & set(SHIFTED)), len(set(flagged) - set(SHIFTED))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(results: dict[tuple[str, str], dict[str, Any]], truth: list[dict[str, float]],
           command: str, truth_dle: list[dict[str, float]] | None = None) -> str:  # fmt: skip
    def get(tool: str, task: str) -> dict[str, Any] | None:
        r = results.get((tool, task))
        return r if r and "error" not in r else None

    def err(tool: str, task: str) -> str:
        r = results.get((tool, task))
        return f"error: {r['error']}" if r and "error" in r else "not run"

    lines = [
        BEGIN,
        "## Monitoring (`relayml.stats.monitoring`: window summaries, decisions, estimates)",
        "",
        f"Command: `{command}` · machine: {harness.machine_line()} · "
        f"run {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Data: a scored, labelled stream of {INPUT_COLUMNS} input columns (28 numeric, 12 "
        "categorical) with five planted covariate shifts (a mean, a spread, a category's share, "
        "never-seen categories, missing values; `benchmarks/monitoring/data.py`); the reference "
        "is 100,000 labelled rows, the model a miscalibrated logistic score. Each measurement is "
        "its own process with one BLAS/Arrow thread; *per core* is rows per CPU second of that "
        "process, wall seconds beside it (the machine is shared).",
        "",
        ENVIRONMENTS,
        "",
    ]
    targets: list[str] = []

    def rows(task: str) -> str:
        found = [r["rows"] for (_, t), r in results.items() if t == task and "rows" in r]
        return f"{found[0]:,}" if found else "?"

    # ingest
    lines += [
        f"### Ingest into window summaries ({rows('ingest')} rows, 10,000-row batches)",
        "",
        "| tool | what | rows/s per core | CPU s | wall s | summary bytes | peak MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rates: dict[str, float] = {}
    for tool, what in (("relay", "summarise + merge"), ("whylogs", "log profile + merge views")):
        r = get(tool, "ingest")
        if r is None:
            lines.append(f"| {tool} | {what} | {err(tool, 'ingest')} | | | | |")
            continue
        rates[tool] = r["rows"] / r["cpu"]
        lines.append(
            f"| {tool} | {what} | {rates[tool]:,.0f} | {r['cpu']:.2f} | {r['wall']:.2f} | "
            f"{r['summary_bytes']:,} | {r['peak_rss_mb']:.0f} |"
        )
    if "relay" in rates:
        targets.append(
            f"Ingest: Relay {rates['relay']:,.0f} rows/s per core at {INPUT_COLUMNS} columns "
            f"(target >= 50,000): {verdict(rates['relay'] >= 50_000)}"
        )
        if "whylogs" in rates:
            ratio = rates["relay"] / rates["whylogs"]
            targets.append(
                f"Ingest: Relay / whylogs = {ratio:.1f}x (target >= 4x): {verdict(ratio >= 4)}"
            )
    # close
    lines += [
        "",
        f"### Close a {rows('close')}-row window and decide (from raw rows, against the reference)",
        "",
        "| tool | what | CPU s | wall s | peak MB (loaded) | shifts caught (of 5) | "
        "unshifted flagged (of 35) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    whats = {
        "relay": "summarise + assess + decide",
        "whylogs": "profile both sides + drift scores",
        "evidently": "DataDriftPreset report",
        "nannyml": "univariate drift + CBPE",
    }
    for tool, what in whats.items():
        r = get(tool, "close")
        if r is None:
            lines.append(f"| {tool} | {what} | {err(tool, 'close')} | | | | |")
            continue
        caught, false = score(r["flagged"])
        lines.append(
            f"| {tool} | {what} | {r['cpu']:.2f} | {r['wall']:.2f} | {r['peak_rss_mb']:.0f} "
            f"({r['rss_loaded_mb']:.0f}) | {caught} | {false} |"
        )
    lines += ["", CLOSE_NOTE]
    relay_close, relay_ingest = get("relay", "close"), get("relay", "ingest")
    if relay_close:
        caught, false = score(relay_close["flagged"])
        targets.append(
            f"Close: Relay decides a {rows('close')}-row window in {relay_close['cpu']:.2f} CPU s "
            f"({relay_close['wall']:.2f} s wall) from raw rows, catching {caught}/5 planted "
            f"shifts and flagging {false}/35 unshifted columns"
            + (
                f"; closing a window already ingested (assess + decide on its merged summary) "
                f"takes {relay_ingest['close_after_ingest']:.2f} s wall"
                if relay_ingest
                else ""
            )
        )
    # memory
    mem = get("relay", "memory")
    lines += ["", "### Peak memory against the number of windows closed (Relay)", ""]
    if mem:
        marks = mem["rss_at"]
        lines += [
            f"{mem['windows']:,} windows of {mem['window_rows']:,} rows, each summarised, merged "
            "into its day, assessed and decided (3 of the last 6) one after another, in "
            f"{mem['wall']:.0f} s wall; a window's stored summary is "
            f"{mem['window_json_bytes'] / 1024:.0f} KB of JSON.",
            "",
            "| windows closed | " + " | ".join(f"{int(k):,}" for k in marks) + " |",
            "| --- | " + " | ".join("---:" for _ in marks) + " |",
            "| peak RSS MB | " + " | ".join(f"{v:.0f}" for v in marks.values()) + " |",
        ]
        values = list(marks.values())
        growth = values[-1] - values[1] if len(values) > 1 else 0.0
        targets.append(
            f"Memory: peak RSS {values[1]:.0f} MB after {list(marks)[1]} windows and "
            f"{values[-1]:.0f} MB after {list(marks)[-1]} (+{growth:.0f} MB; target flat, "
            f"<= 5 %): {verdict(growth <= 0.05 * values[1])}"
        )
    else:
        lines.append(err("relay", "memory"))
    # estimates
    lines += [
        "",
        f"### Estimated performance without labels ({len(truth)} windows of 5,000 rows; "
        "realised computed exactly from the labels)",
        "",
        "| tool | MAE of estimated AUC | MAE of estimated accuracy | CPU s | wall s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    est = {t: get(t, "estimate") for t in ("relay", "nannyml")}
    errors: dict[str, float] = {}
    for tool, r in est.items():
        if r is None:
            lines.append(f"| {tool} | {err(tool, 'estimate')} | | | |")
            continue
        errors[tool] = mae(r["estimates"], truth, "auc")
        lines.append(
            f"| {tool} | {errors[tool]:.6f} | {mae(r['estimates'], truth, 'accuracy'):.6f} | "
            f"{r['cpu']:.2f} | {r['wall']:.2f} |"
        )
    relay_est, nml_est = est["relay"], est["nannyml"]
    if relay_est:
        lines += [
            "",
            "Relay's time is the estimate alone (fitting the reference's calibration, then each "
            "window's scores), like for like with CBPE's fit and estimate; summarising and "
            f"assessing the same windows with all {INPUT_COLUMNS} input columns as well took "
            f"{relay_est['whole_windows_wall']:.2f} s wall. Both estimators calibrate with "
            "isotonic regression on the reference and take the expected ROC of the calibrated "
            "probabilities, so their estimates agree to about 1e-6 (Relay ranks by the raw "
            "score within bins, CBPE by the calibrated one); most of the remaining error is "
            "the realised AUC's own sampling noise on 5,000 rows (standard error about 0.006).",
        ]
    if relay_est and nml_est:
        closer = errors["relay"] <= errors["nannyml"]
        speed = nml_est["cpu"] / relay_est["cpu"]
        targets.append(
            f"Estimate: MAE of AUC Relay {errors['relay']:.6f} vs NannyML CBPE "
            f"{errors['nannyml']:.6f} (target at least as close): {verdict(closer)}"
            + (
                " (a tie: the same estimator, agreeing to 1e-5)"
                if abs(errors["relay"] - errors["nannyml"]) < 1e-5
                else ""
            )
        )
        targets.append(
            f"Estimate: NannyML / Relay time = {speed:.0f}x (CPU; target >= 10x): "
            f"{verdict(speed >= 10)}"
        )
    lines += ["", *render_dle(results, truth_dle or [])]
    lines += ["", "Targets (printed as measured, pass or fail):", ""]
    lines += [f"- {t}" for t in targets]
    versions = sorted({r["version"] for r in results.values() if "version" in r})
    lines += ["", "Versions: " + "; ".join(versions), ""]
    flagged = [
        f"{tool}: {', '.join(r['flagged']) or '-'}"
        for (tool, task), r in results.items()
        if task == "close" and "flagged" in r
    ]
    lines += [f"<details><summary>columns flagged on the {rows('close')}-row window</summary>", ""]
    lines += [f"- {f}" for f in flagged] + ["", "</details>", END]
    return "\n".join(lines)


def render_dle(
    results: dict[tuple[str, str], dict[str, Any]], truth: list[dict[str, float]]
) -> list[str]:
    """The regressor's label-free MAE and RMSE (Relay's direct loss estimation against
    NannyML's DLE) on the same windows, with its targets, between markers of its own (so
    `--only-dle` rewrites just this part)."""
    targets: list[str] = []
    lines = [
        DLE_BEGIN,
        f"### A regressor's error without labels: direct loss estimation ({len(truth)} windows "
        "of 5,000 rows; realised computed exactly from the truths)",
        "",
        "| tool | MAE of estimated MAE | (clean half / shifted half) | MAE of estimated RMSE | "
        "CPU s | wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    half = len(truth) // 2
    found: dict[str, dict[str, Any]] = {}
    for tool in ("relay", "nannyml"):
        r = results.get((tool, "dle"))
        if r is None or "error" in r:
            why = f"error: {r['error']}" if r and "error" in r else "not run"
            lines.append(f"| {tool} | {why} | | | | |")
            continue
        found[tool] = r
        est = r["estimates"]
        halves = (mae(est[:half], truth[:half], "mae"), mae(est[half:], truth[half:], "mae"))
        lines.append(
            f"| {tool} | {mae(est, truth, 'mae'):.6f} | {halves[0]:.4f} / {halves[1]:.4f} | "
            f"{mae(est, truth, 'rmse'):.6f} | {r['cpu']:.2f} | {r['wall']:.2f} |"
        )
    if truth:
        shown = [f"{t['mae']:.3f}" for t in truth[:: max(len(truth) // 8, 1)]]
        lines += [
            "",
            "Same inputs as above; the model is a straight line in s_mean while the truth bends "
            "upward past s_mean = 1, so the planted shift moves traffic where it errs more "
            "(`data.regression`; realised MAE every fifth window: " + ", ".join(shown) + "). "
            "Relay's time is the estimate alone (fitting its two loss models on 70 % of the "
            "reference, at most 50,000 rows, checking them on the other 30 %, then each "
            "window), like for like with DLE's fit and estimate (LightGBM on the whole "
            "reference, default parameters, no tuning). NannyML 0.13.1's DLE fails on pandas 3 "
            "with string columns (it reshapes an Arrow-backed string array: NotImplementedError), "
            "so its run sets pandas' `future.infer_string` off.",
        ]
    relay_r = found.get("relay")
    if relay_r:
        flags = relay_r["flagged_windows"]
        lines += [
            "",
            f"Through a monitor's reference and windows (building the reference with the loss "
            f"model, summarising and assessing the {len(truth)} windows with all "
            f"{INPUT_COLUMNS} input columns): {relay_r['whole_windows_wall']:.2f} s wall; "
            f"estimated performance flagged in {sum(flags[:half])} of the {half} clean windows "
            f"and {sum(flags[half:])} of the {len(flags) - half} shifted ones (the first of "
            "which are barely shifted).",
        ]
    if relay_r and "nannyml" in found:
        nml_r = found["nannyml"]
        ours, theirs = (
            mae(relay_r["estimates"], truth, "mae"),
            mae(nml_r["estimates"], truth, "mae"),
        )
        targets.append(
            f"DLE: MAE of estimated MAE Relay {ours:.6f} vs NannyML DLE {theirs:.6f} (target "
            f"within 10 % of NannyML's or closer): {verdict(ours <= 1.1 * theirs)}"
        )
        speed = nml_r["cpu"] / relay_r["cpu"]
        targets.append(
            f"DLE: NannyML / Relay time = {speed:.1f}x (CPU; target >= 1x): {verdict(speed >= 1)}"
        )
    if targets:
        lines += ["", "DLE targets (printed as measured, pass or fail):", ""]
        lines += [f"- {t}" for t in targets]
    return [*lines, DLE_END]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--no-peers", action="store_true", help="Relay only")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument(
        "--only-dle", action="store_true",
        help="only the regressor's direct loss estimation (Relay and NannyML), rewriting just "
        "its part of the monitoring section",
    )  # fmt: skip
    args = parser.parse_args()
    plan = [p for p in PLAN if p[1] == "dle"] if args.only_dle else PLAN
    peers = {"nannyml": PEERS["nannyml"]} if args.only_dle else PEERS
    pythons: dict[str, Path] = {"relay": Path(sys.executable)}
    if not args.no_peers:
        for name, packages in peers.items():
            try:
                pythons[name] = harness.peer_python(name, packages, ENV)
            except subprocess.CalledProcessError as exc:
                print(f"{name}: could not be installed ({exc})", flush=True)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for tool, task in plan:
        if tool not in pythons:
            if not args.no_peers:
                results[(tool, task)] = {"error": "its environment could not be installed"}
            continue
        print(f"{tool:<10} {task:<9} ...", end=" ", flush=True)
        r = measure(pythons[tool], tool, task, args.quick)
        results[(tool, task)] = r
        shown = r.get("error") or f"{r.get('cpu', 0):.2f} CPU s, {r.get('wall', 0):.2f} s wall"
        print(shown, flush=True)
    command = "python benchmarks/monitoring/run.py" + (" --quick" if args.quick else "")
    if args.only_dle:
        section = "\n".join(render_dle(results, realised_regression(args.quick)))
        section = section.replace(
            "\n", f"\n\nCommand: `{command} --only-dle` · machine: {harness.machine_line()} · "
            f"run {time.strftime('%Y-%m-%d %H:%M')}\n\n", 1,
        )  # fmt: skip
        print(section)
        if not args.no_write:
            harness.write_section("monitoring-dle", section)
            print(f"\nwritten to {harness.RESULTS}")
        return
    section = render(results, realised(args.quick), command, realised_regression(args.quick))
    print()
    print(section)
    if not args.no_write:
        harness.write_section("monitoring", section)
        print(f"\nwritten to {harness.RESULTS}")


if __name__ == "__main__":
    main()
