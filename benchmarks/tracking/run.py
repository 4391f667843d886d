"""Experiment tracking benchmark: Relay vs MLflow (latest), measured in one run.

    .venv/bin/python benchmarks/tracking/run.py            # full run, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/tracking/run.py --quick    # tiny sizes, smoke test, prints only

Creates `benchmarks/.venvs/mlflow` (python3 -m venv + pip install mlflow) when missing. Every
measured workload runs in its own subprocess and fresh temp dir: Relay's with this interpreter,
MLflow's with the MLflow venv's. Workloads (issue 2):
  1. logging N runs x (20 params + 5 metrics x 200 steps, one log_metric call per point
     + 3 small artifacts), embedded (SQLite) and over HTTP (relay server vs mlflow server);
  2. search_runs with a filter, and with a filter and an order, over 2,000 runs (+ Relay alone at
     100,000 runs);
  3. cold start: `relay --help` / `import relayml` vs `mlflow --help` / `import mlflow`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402
from common import RESULT_PREFIX, LogSpec, median, quiet_env  # noqa: E402
from report import Row, render_section  # noqa: E402

ROOT = HERE.parent.parent
MLFLOW_VENV = HERE.parent / ".venvs" / "mlflow"  # harness.peer_python("mlflow", ...)
MLFLOW_PY = MLFLOW_VENV / "bin" / "python"
RELAY_PY = Path(sys.executable)
RELAY_CLI = RELAY_PY.parent / "relay"


@dataclass(frozen=True)
class Sizes:
    log: LogSpec
    search_runs: int
    search_big: int
    search_reps: int
    search_rounds: int
    cold_reps: int
    warmup_steps: int


FULL = Sizes(LogSpec(), 2000, 100_000, 7, 3, 5, 20)
QUICK = Sizes(LogSpec(runs=3, steps=20, budget_s=60), 200, 2000, 3, 2, 2, 5)


def say(msg: str) -> None:
    print(msg, flush=True)


# setup ---------------------------------------------------------------------------------------
def ensure_mlflow_venv() -> str:
    """Create the MLflow venv if it is missing; return MLflow's version."""
    harness.peer_python("mlflow", ["pip", "mlflow"])
    probe = [str(MLFLOW_PY), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


# running workloads ---------------------------------------------------------------------------
def run_workload(
    python: Path, script: str, args: list[str], keep: bool, home: Path | None = None
) -> dict[str, Any]:
    """Run one workload script in `home` (default: a fresh temp dir, removed afterwards unless
    `keep`); forward its progress; return its result."""
    own_home = home is None
    home = home or Path(tempfile.mkdtemp(prefix="relay-bench-"))
    cmd = [str(python), str(HERE / script), *args[:1], "--home", str(home), *args[1:]]
    proc = subprocess.Popen(
        cmd,
        cwd=home,
        env=quiet_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True)
    reader.start()
    noise: list[str] = []
    for line in proc.stderr or []:
        if line.startswith("    "):
            say(line.rstrip())
        else:
            noise.append(line)
    proc.wait()
    reader.join()
    try:
        if proc.returncode != 0:
            tail = "".join((noise + out)[-40:])
            raise RuntimeError(f"{script} {' '.join(args)} failed ({proc.returncode}):\n{tail}")
        for line in out:
            if line.startswith(RESULT_PREFIX):
                result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
                return result
        raise RuntimeError(f"{script} printed no result:\n{''.join(out[-20:])}")
    finally:
        if own_home and not keep:
            shutil.rmtree(home, ignore_errors=True)


def log_pair(mode: str, sizes: Sizes, keep: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = sizes.log
    warm = str(sizes.warmup_steps)
    say(f"\n[1{'a' if mode == 'embedded' else 'b'}] logging, {mode}: {spec.runs} runs")
    args = ["log", "--mode", mode, "--spec", spec.to_json(), "--warmup-steps", warm]
    relay = run_workload(RELAY_PY, "relay_workload.py", args, keep)
    mlf = run_workload(MLFLOW_PY, "mlflow_workload.py", args, keep)
    return relay, mlf


def search_all(sizes: Sizes, keep: bool) -> dict[str, dict[str, Any]]:
    """Relay and MLflow take turns, `search_rounds` rounds each on the same populated stores, so
    a slow phase of the machine falls on both; the medians are over every round's repetitions."""
    n, big, reps = sizes.search_runs, sizes.search_big, str(sizes.search_reps)
    say(f"\n[2] search_runs over {n} runs, {sizes.search_rounds} rounds (Relay also at {big})")
    homes = {side: Path(tempfile.mkdtemp(prefix=f"relay-bench-{side}-")) for side in SIDES}
    rounds: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    try:
        for i in range(sizes.search_rounds):
            for side, (python, script) in SIDES.items():
                args = ["search", "--runs", str(n), "--reps", reps]
                rounds[side].append(
                    run_workload(
                        python, script, args + (["--populated"] if i else []), keep, homes[side]
                    )
                )
    finally:
        if not keep:
            for home in homes.values():
                shutil.rmtree(home, ignore_errors=True)
    out = {side: _pooled(results) for side, results in rounds.items()}
    out["relay_big"] = run_workload(
        RELAY_PY, "relay_workload.py", ["search", "--runs", str(big), "--reps", reps], keep
    )
    return out


SIDES = {"relay": (RELAY_PY, "relay_workload.py"), "mlflow": (MLFLOW_PY, "mlflow_workload.py")}


def _pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's rounds as one result: the first round's fields, medians over every rep."""
    out = dict(results[0])
    for field in ("filter", "order"):
        every = [t for r in results for t in r[f"{field}_all_s"]]
        out[f"{field}_all_s"] = every
        out[f"{field}_s"] = median(every)
    out["rounds"] = len(results)
    return out


def cold_start(cmd: list[str], reps: int) -> dict[str, Any]:
    """Median wall time of `cmd` over `reps` runs, after one unmeasured warm-up run."""
    with tempfile.TemporaryDirectory(prefix="relay-bench-cold-") as cwd:
        times: list[float] = []
        for i in range(reps + 1):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, cwd=cwd, env=quiet_env(), capture_output=True, check=False)
            elapsed = time.perf_counter() - t0
            if done.returncode != 0:
                err = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
                return {"error": f"exit {done.returncode}: {' / '.join(err)}"}
            if i:
                times.append(elapsed)
    return {"median_s": median(times), "all_s": times}


def cold_all(sizes: Sizes) -> dict[str, dict[str, Any]]:
    say(f"\n[3] cold start (median of {sizes.cold_reps} after one warm-up)")
    cmds = {
        "relay --help": [str(RELAY_CLI), "--help"],
        "import relayml": [str(RELAY_PY), "-c", "import relayml"],
        "mlflow --help": [str(MLFLOW_VENV / "bin" / "mlflow"), "--help"],
        "import mlflow": [str(MLFLOW_PY), "-c", "import mlflow"],
    }
    out = {}
    for name, cmd in cmds.items():
        out[name] = cold_start(cmd, sizes.cold_reps)
        shown = out[name].get("median_s")
        say(f"    {name}: " + (f"{shown:.3f}s" if shown is not None else out[name]["error"]))
    return out


# results -------------------------------------------------------------------------------------
def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for key, label, target in (
        ("log_embedded", "1a. logging, embedded (SQLite)", 50.0),
        ("log_http", "1b. logging over HTTP (server on SQLite)", 20.0),
    ):
        if key not in results:
            continue
        relay, mlf = results[key]
        rows.append(
            Row(
                label,
                f"{relay['per_run_s']:.3f} s/run ({relay['runs']} runs, {relay['seconds']:.1f} s)",
                f"{mlf['per_run_s']:.2f} s/run ({mlf['runs']} runs, {mlf['seconds']:.1f} s)",
                mlf["per_run_s"] / relay["per_run_s"],
                target,
            )
        )
    if "search" in results:
        s = results["search"]
        r, m, rb = s["relay"], s["mlflow"], s["relay_big"]
        n, big, reps = r["runs"], rb["runs"], len(r["filter_all_s"])
        turns = f", {r['rounds']} rounds" if r.get("rounds", 1) > 1 else ""
        for field, what in (("filter_s", "filter"), ("order_s", "filter + order_by")):
            rows.append(
                Row(
                    f"2. search_runs, {what}, {n:,} runs (median of {reps}{turns})",
                    f"{r[field] * 1000:.1f} ms",
                    f"{m[field] * 1000:.1f} ms",
                    m[field] / r[field],
                    10.0,
                )
            )
        for field, what in (("filter_s", "filter"), ("order_s", "filter + order_by")):
            rows.append(
                Row(
                    f"2. search_runs, {what}, {big:,} runs, Relay only",
                    f"{rb[field] * 1000:.1f} ms",
                    "-",
                    None,
                    None,
                )
            )
    if "cold" in results:
        c = results["cold"]
        for relay_key, mlf_key in (
            ("relay --help", "mlflow --help"),
            ("import relayml", "import mlflow"),
        ):
            rc, mc = c[relay_key], c[mlf_key]
            rows.append(
                Row(
                    f"3. cold start: `{relay_key}` vs `{mlf_key}`",
                    f"{rc['median_s']:.3f} s" if "median_s" in rc else f"ERROR {rc['error']}",
                    f"{mc['median_s']:.3f} s" if "median_s" in mc else f"ERROR {mc['error']}",
                    mc["median_s"] / rc["median_s"]
                    if "median_s" in rc and "median_s" in mc
                    else None,
                    None,
                    limit_s=0.5,
                    value_s=rc.get("median_s"),
                )
            )
    return rows


def versions(mlflow_version: str) -> dict[str, str]:
    import relayml

    probe = "import sqlite3, platform; print(platform.python_version(), sqlite3.sqlite_version)"
    mpy, msq = subprocess.run(
        [str(MLFLOW_PY), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return {
        "python": f"{platform.python_version()} (Relay), {mpy} (MLflow venv)",
        "relay": relayml.__version__,
        "mlflow": mlflow_version,
        "sqlite": f"{sqlite3.sqlite_version} (Relay), {msq} (MLflow venv)",
    }


def use_relay_interpreter() -> None:
    """Re-run under the repo's .venv when this interpreter cannot import relayml."""
    try:
        import relayml  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable) != venv_python:
            os.execv(venv_python, [str(venv_python), __file__, *sys.argv[1:]])
        raise SystemExit(
            f"{sys.executable} cannot import relayml; run this with the interpreter Relay is "
            "installed in, e.g. .venv/bin/python benchmarks/tracking/run.py"
        ) from None


def main() -> int:
    use_relay_interpreter()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes; prints, never writes")
    ap.add_argument(
        "--only",
        action="append",
        choices=["log-embedded", "log-http", "search", "cold"],
        help="run only these parts (repeatable); RESULTS.md is written only for a full run",
    )
    ap.add_argument("--keep", action="store_true", help="keep the workloads' temp dirs")
    ap.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (default: exit 0)"
    )
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="print the table from saved raw results (benchmarks/.work/tracking-full.json or "
        "tracking-partial.json); run nothing",
    )
    ap.add_argument(
        "--write",
        action="store_true",
        help="with --render of a full run's JSON: (re)write its RESULTS.md section",
    )
    ap.add_argument(
        "--mlflow-budget",
        type=float,
        default=600.0,
        help="seconds each MLflow logging workload may take before it stops early (default 600)",
    )
    args = ap.parse_args()
    sizes = QUICK if args.quick else FULL
    sizes = replace(sizes, log=replace(sizes.log, budget_s=args.mlflow_budget))
    parts = args.only or ["log-embedded", "log-http", "search", "cold"]
    started = datetime.now(UTC)
    loadavg = list(os.getloadavg())
    t0 = time.perf_counter()
    mlflow_version = ensure_mlflow_venv()
    say(f"Relay vs MLflow {mlflow_version}: {', '.join(parts)}{' (quick)' if args.quick else ''}")
    results: dict[str, Any] = json.loads(args.render.read_text()) if args.render else {}
    if args.render:
        parts = []
    if "log-embedded" in parts:
        results["log_embedded"] = log_pair("embedded", sizes, args.keep)
    if "log-http" in parts:
        results["log_http"] = log_pair("http", sizes, args.keep)
    if "search" in parts:
        results["search"] = search_all(sizes, args.keep)
    if "cold" in parts:
        results["cold"] = cold_all(sizes)
    if not args.render:
        results["meta"] = {
            "started": started.isoformat(),
            "duration_s": time.perf_counter() - t0,
            "command": " ".join(["python", "benchmarks/tracking/run.py", *sys.argv[1:]]),
            "sizes_note": sizes_note(sizes),
            "full": not (args.quick or args.only),
            "loadavg": loadavg,
        }
        name = "tracking-full.json" if results["meta"]["full"] else "tracking-partial.json"
        raw = HERE.parent / ".work" / name
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(results, indent=1))
        say(f"\nraw results: {raw.relative_to(ROOT)}")
    meta = results["meta"]
    rows = build_rows(results)
    section = render_section(
        rows=rows,
        results=results,
        sizes_note=meta["sizes_note"],
        started=datetime.fromisoformat(meta["started"]),
        duration_s=meta["duration_s"],
        machine=harness.machine(),
        versions=versions(mlflow_version),
        command=meta["command"],
    )
    say("\n" + section)
    if meta["full"] and (not args.render or args.write):
        path = harness.write_section("tracking", section)
        say(f"wrote the tracking section of {path.relative_to(ROOT)}")
    else:
        say(
            "(benchmarks/RESULTS.md left unchanged: only a full run, or --render --write of one, "
            "writes it)"
        )
    missed = [r.label for r in rows if r.passed is False]
    if missed:
        say("targets missed: " + "; ".join(missed))
    return 1 if missed and args.strict else 0


def sizes_note(sizes: Sizes) -> str:
    spec = sizes.log
    return (
        f"{spec.runs} runs x ({spec.params} params + {spec.metrics} metrics x {spec.steps} steps, "
        f"one log_metric call per point, + {spec.artifacts} artifacts of {spec.artifact_bytes} B); "
        f"search over {sizes.search_runs:,} runs (Relay also {sizes.search_big:,})"
    )


if __name__ == "__main__":
    sys.exit(main())
