"""Model registry benchmark (issue 11): Relay vs MLflow (latest, its own venv), one run.

    python benchmarks/registry/run.py            # what `make bench` runs; writes RESULTS.md
    python benchmarks/registry/run.py --quick    # 5 versions, 100,000-row holdout; prints only
    make bench-registry                          # this benchmark alone

1. registering 50 versions of a StandardScaler + LogisticRegression pipeline (breast_cancer),
   each in its own run: Relay (embedded SQLite) against MLflow's default path (log_model +
   register, pip requirements inferred) and its explicit-requirements path (SQLite + local
   artifact folder, no server);
2. loading the champion in a fresh process and predicting 5 rows, timed from process start;
3. opening a promotion request whose evaluation runs over a 1,000,000-row holdout (candidate
   and holder), against predict_proba alone on the same frame (Relay only: MLflow has no
   promotion requests).
Every workload is a fresh process in a fresh temp dir; MLflow's under benchmarks/.venvs/mlflow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from common import MODEL, RESULT_PREFIX, median  # noqa: E402

REGISTER_MS = 50.0  # Relay per version
LOAD_S = 0.5  # Relay, fresh process, end to end
LOAD_REPS = 5
RELAY_LOAD = (
    "import pandas as pd, relayml as relay; relay.init(project='bench', home='.relay'); "
    f"relay.models.load('{MODEL}@champion').predict(pd.read_csv('X.csv'))"
)
FLOOR_LOAD = (
    "import pickle, pandas as pd; "
    "pickle.loads(open('model.pkl', 'rb').read()).predict(pd.read_csv('X.csv'))"
)
SKOPS_IMPORT = "import skops.io"
MLFLOW_LOAD = (
    "import pandas as pd, mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
    f"mlflow.pyfunc.load_model('models:/{MODEL}@champion').predict(pd.read_csv('X.csv'))"
)


def say(msg: str) -> None:
    print(msg, flush=True)


def env(python: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("RELAY_", "MLFLOW_"))}
    out.update(
        MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1", GIT_PYTHON_REFRESH="quiet",
        PYTHONWARNINGS="ignore", RELAY_USER="bench", NO_PROXY="127.0.0.1,localhost",
    )  # fmt: skip
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        out.pop(var, None)
    paths = [str(HERE)] + ([str(ROOT / "src")] if python == Path(sys.executable) else [])
    out["PYTHONPATH"] = os.pathsep.join(paths)
    return out


def workload(python: Path, script: str, args: list[str], home: Path) -> dict[str, Any]:
    cmd = [str(python), str(HERE / script), *args, "--home", str(home)]
    proc = subprocess.Popen(
        cmd, cwd=home, env=env(python), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    for line in err.splitlines():
        if line.startswith("    "):
            say(line)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {args[0]} failed:\n" + "\n".join(err.splitlines()[-15:]))
    line = next(x for x in out.splitlines() if x.startswith(RESULT_PREFIX))
    return dict(json.loads(line[len(RESULT_PREFIX) :]))


def fresh_load(python: Path, code: str, home: Path, reps: int) -> dict[str, Any]:
    """Wall time of `python -c code` in `home`, from process start to exit: one warm-up (page
    cache, bytecode), then the median of `reps`."""
    times, cpu = [], []
    for i in range(reps + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(
            [str(python), "-c", code], cwd=home, env=env(python), capture_output=True, text=True
        )
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if done.returncode != 0:
            raise RuntimeError(f"load failed:\n{done.stderr[-2000:]}")
        if i:
            times.append(elapsed)
            cpu.append(used)
    return {"median_s": median(times), "all_s": times, "cpu_s": median(cpu)}


def run(quick: bool, budget: float, keep: bool) -> dict[str, Any]:
    versions, rows = (5, 100_000) if quick else (50, 1_000_000)
    mlflow_py = harness.peer_python("mlflow", ["pip", "mlflow", "scikit-learn", "pandas"])
    relay_py = Path(sys.executable)
    homes = {side: Path(tempfile.mkdtemp(prefix=f"relay-bench-registry-{side}-")) for side in "rm"}
    results: dict[str, Any] = {"versions": versions, "rows": rows}
    try:
        say(f"\n[1] registering {versions} versions (+1 warm-up)")
        reg = ["register", "--versions", str(versions)]
        results["relay_register"] = workload(relay_py, "relay_workload.py", reg, homes["r"])
        results["mlflow_register"] = workload(
            mlflow_py, "mlflow_workload.py", [*reg, "--budget", str(budget)], homes["m"]
        )
        say(f"\n[3] promotion request, evaluation over a {rows:,}-row holdout")
        results["relay_promote"] = workload(
            relay_py, "relay_workload.py", ["promote", "--rows", str(rows)], homes["r"]
        )
        say(f"\n[2] load the champion in a fresh process (median of {LOAD_REPS} + 1 warm-up)")
        results["relay_load"] = fresh_load(relay_py, RELAY_LOAD, homes["r"], LOAD_REPS)
        say(f"    relay: {results['relay_load']['median_s']:.3f} s")
        results["mlflow_load"] = fresh_load(mlflow_py, MLFLOW_LOAD, homes["m"], LOAD_REPS)
        say(f"    mlflow: {results['mlflow_load']['median_s']:.3f} s")
        for key, code in (("floor_load", FLOOR_LOAD), ("skops_import", SKOPS_IMPORT)):
            results[key] = fresh_load(relay_py, code, homes["r"], LOAD_REPS)
            say(f"    {key}: {results[key]['median_s']:.3f} s (CPU {results[key]['cpu_s']:.3f} s)")
    finally:
        if not keep:
            for home in homes.values():
                shutil.rmtree(home, ignore_errors=True)
    probe = "import importlib.metadata as m; print(m.version('mlflow'), m.version('scikit-learn'))"
    mv, msk = subprocess.run(
        [str(mlflow_py), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    results["versions_used"] = {
        "relayml": version("relayml"), "mlflow": mv, "skops": version("skops"),
        "scikit-learn (Relay)": version("scikit-learn"), "scikit-learn (MLflow venv)": msk,
        "pandas": version("pandas"),
    }  # fmt: skip
    return results


def render(r: dict[str, Any], command: str, started: datetime, minutes: float) -> str:
    n, rows = r["versions"], r["rows"]
    rr, mr = r["relay_register"], r["mlflow_register"]
    md, me = mr["default"], mr["explicit"]
    rel_ms = median(rr["call_s"]) * 1000
    rel_block_ms = median(rr["block_s"]) * 1000

    def mlf(path: dict[str, Any]) -> str:
        return f"{median(path['call_s']):.3f} s ({path['versions']} versions)"

    def ok(good: bool) -> str:
        return "PASS" if good else "FAIL"

    rl = r["relay_load"]["median_s"]

    def load(key: str) -> str:
        x = r[key]
        return f"{x['median_s']:.3f} s (CPU {x['cpu_s']:.2f} s)"

    p = r["relay_promote"]
    promote_s, raw, checked = (
        median(p[k]) for k in ("promote_s", "proba_raw_s", "proba_checked_s")
    )
    models = 2 if p["holder_evaluated"] else 1
    v = r["versions_used"]
    scaled = [
        f"MLflow's default path stopped after {path['versions']} of {n} versions because "
        "finishing would have exceeded its time budget; its figure is the median over the "
        "versions it did."
        for path in (md,)
        if path["versions"] < n
    ]
    out = [
        "<!-- registry:begin -->",
        "## Model registry: Relay vs MLflow",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {minutes:.1f} min with `{command}` "
        "(`make bench` runs it without flags; `make bench-registry` runs it alone).",
        "",
        "- Machine: " + harness.machine_line(),
        f"- Relay {v['relayml']}, MLflow {v['mlflow']} (own venv, latest from PyPI), scikit-learn "
        f"{v['scikit-learn (Relay)']} (Relay) / {v['scikit-learn (MLflow venv)']} (MLflow venv), "
        f"skops {v['skops']}, pandas {v['pandas']}",
        "",
        "| Workload | Relay | MLflow default | MLflow explicit requirements | Target | Result |",
        "|---|---|---|---|---|---|",
        f"| 1. register one version (median of {n}) | {rel_ms:.1f} ms | {mlf(md)} | {mlf(me)} "
        f"| Relay <= {REGISTER_MS:.0f} ms | {ok(rel_ms <= REGISTER_MS)} |",
        f"| 1. the same with the run around it (start, use_dataset/-, end) | "
        f"{rel_block_ms:.1f} ms | {median(md['block_s']):.3f} s | {median(me['block_s']):.3f} s "
        "| reported | - |",
        f"| 2. load `{MODEL}@champion` + predict 5 rows, fresh process (median of {LOAD_REPS}) "
        f"| {load('relay_load')} | {load('mlflow_load')} | - | Relay <= {LOAD_S} s "
        f"| {ok(rl <= LOAD_S)} |",
        f"| 2. floor: `pickle.loads` of the same pipeline + predict, fresh process, no registry "
        f"| {load('floor_load')} | - | - | reported | - |",
        f"| 2. `import skops.io` alone, fresh process | {load('skops_import')} "
        "| - | - | reported | - |",
        f"| 3. open a promotion request, evaluation over {rows:,} rows (median of "
        f"{len(p['promote_s'])}) | {promote_s:.2f} s"
        + (f" (CPU {median(p['promote_cpu_s']):.2f} s)" if "promote_cpu_s" in p else "")
        + " | - | - | reported | - |",
        f"| 3. of which predict_proba, {models} model(s) x {raw:.2f} s (scikit-learn alone, "
        f"same frame) | {models * raw:.2f} s ({models * raw / promote_s:.0%}) | - | - "
        "| reported | - |",
        "",
        "Notes:",
        "",
        f"- Model: `make_pipeline(StandardScaler(), LogisticRegression(C=...))` fitted on "
        f"scikit-learn's breast_cancer (569 rows, 30 float columns), {n + 1} fits with different "
        "C so no two artifacts are the same bytes; `input_example=X[:5]` on both sides.",
        "- Relay: `relay.models.register('churn', model, run=run, input_example=X[:5])` inside "
        "`with relay.start_run(...) as run: run.use_dataset(train)`, embedded store (SQLite, "
        "artifacts on local disk); saved with skops, its types checked against Relay's "
        "allow-list, signature inferred, environment recorded, sha256 stored. MLflow: "
        "`mlflow.sklearn.log_model(model, name='model', input_example=X[:5], "
        "registered_model_name=...)` inside `mlflow.start_run()`, tracking and registry in "
        "`sqlite:///mlflow.db`, artifacts in a local folder, no server; default = pip "
        "requirements inferred (MLflow's default), explicit = `pip_requirements="
        f"{mr['explicit_requirements']}`. Row 1 times the register / log_model call; the next "
        "row, the whole `with` block. One warm-up version first on every path, not counted.",
        *[f"- **Scaled down:** {s}" for s in scaled],
        f'- Load: `python -c "{RELAY_LOAD}"` against `python -c "{MLFLOW_LOAD}"`, in the '
        "directory holding each store, wall time from process start to exit (interpreter start, "
        "imports, store, artifact read and hash check, skops load, signature check, predict). "
        f"champion is version 1 on both sides (Relay: moved by an approved promotion request).",
        f"- Promotion: `relay.models.promote('churn@{n + 1}', to='champion')` with a policy whose "
        f"evaluation is `holdout@1` ({rows:,} rows drawn with replacement from breast_cancer, "
        f"31 columns, published once in {p['publish_s']:.1f} s, not timed) and whose required "
        "evidence is the load check, data checks, evaluation and requirements; the candidate and "
        "the holder (v1) are both evaluated (AUC, accuracy, F1, log loss, calibration). Each "
        "request is withdrawn after timing. predict_proba is timed alone on the same frame "
        f"(the dataset's Parquet read into pandas): {raw:.2f} s per model for scikit-learn, "
        f"{checked:.2f} s through Relay's `LoadedModel.predict_proba` (input checked against "
        "the signature first).",
        *(
            [
                "- The evaluation's pieces, each timed alone in the same process (medians): "
                f"read and verify the dataset's bytes {p['phase_read_s']:.2f} s and decode them "
                f"into pandas {p['phase_decode_s']:.2f} s (once per request); per model: load "
                f"{p['phase_load_s']:.2f} s, signature check {p['phase_check_s']:.2f} s, "
                f"predict_proba {raw:.2f} s, metrics {p['phase_metrics_s']:.2f} s."
            ]
            if "phase_read_s" in p
            else []
        ),
        "- The machine is shared (2 CPUs, other agents' work): wall times move with its load; "
        "the CPU seconds (user + system of the process) move much less.",
        "<!-- registry:end -->",
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes; prints, never writes")
    ap.add_argument("--keep", action="store_true", help="keep the stores (temp dirs)")
    ap.add_argument(
        "--mlflow-budget",
        type=float,
        default=900.0,
        help="seconds each MLflow register path may take before it stops early (default 900)",
    )
    ap.add_argument("--render", type=Path, metavar="JSON", help="print the section from raw JSON")
    ap.add_argument("--write", action="store_true", help="with --render: write RESULTS.md")
    args = ap.parse_args()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    raw = HERE.parent / ".work" / ("registry-quick.json" if args.quick else "registry.json")
    if args.render:
        results = json.loads(args.render.read_text())
    else:
        results = run(args.quick, args.mlflow_budget, args.keep)
        results["meta"] = {
            "started": started.isoformat(),
            "minutes": (time.perf_counter() - t0) / 60,
            "command": " ".join(["python", "benchmarks/registry/run.py", *sys.argv[1:]]),
        }
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(results, indent=1))
    meta = results["meta"]
    section = render(
        results, meta["command"], datetime.fromisoformat(meta["started"]), meta["minutes"]
    )
    say("\n" + section)
    if (not args.quick and not args.render) or args.write:
        path = harness.write_section("registry", section)
        say(f"wrote the registry section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
