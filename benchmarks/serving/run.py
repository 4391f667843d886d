"""Model serving benchmark (issue 12): `relay serve` against `mlflow models serve` (latest, its
own venv) and a floor (a bare Starlette route calling the model on an already-parsed NumPy
row), on the same model, in one run, driven by wrk (a C load generator).

    python benchmarks/serving/run.py             # what `make bench` runs; writes RESULTS.md
    python benchmarks/serving/run.py --quick     # 3 s per measurement, no MLflow; prints only
    make bench-serving                           # this benchmark alone

Model: make_pipeline(StandardScaler(), LogisticRegression()) on scikit-learn's breast_cancer
(30 float columns). Each server runs as one process (one worker) on 127.0.0.1. Single-row
requests at 1, 8 and 32 connections, then 1,000-row batch requests at 4 connections. Relay is
measured with its prediction log on (every row written to Parquet segments, the default) and
with it off (--log-sample 0), to show what logging costs. wrk against the floor's /ping route
(no model) shows how many requests the load generator can drive here.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import signal
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
import harness  # noqa: E402

CONNECTIONS = (1, 8, 32)
BATCH_ROWS = 1000
BATCH_CONNECTIONS = 4
TARGET_RPS_8 = 1400.0  # issue 12: >= 10x MLflow at 8 connections (about 1,400/s there)
TARGET_P50_1 = 3.0  # ms
FLOOR_RATIO = 1.5  # Relay within 1.5x of the floor's throughput
LOG_COST = 0.10  # logging costs <= 10 % of throughput


def say(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAY_", "MLFLOW_"))}
    env.update(
        PYTHONWARNINGS="ignore",
        NO_PROXY="127.0.0.1,localhost",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
    )
    env.update(extra or {})
    return env


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, lua: Path | None, connections: int, seconds: float) -> dict[str, float]:
    threads = min(connections, 2)
    script = ["-s", str(lua)] if lua is not None else []
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{round(seconds)}s",
            "--latency",
            *script,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def lua(path: Path, body: bytes, ctype: str = "application/json") -> Path:
    path.with_suffix(".body").write_bytes(body)
    path.write_text(
        f'local f = io.open("{path.with_suffix(".body")}", "rb")\n'
        'wrk.method = "POST"\nwrk.body = f:read("*a")\nf:close()\n'
        f'wrk.headers["Content-Type"] = "{ctype}"\n'
    )
    return path


def bodies(work: Path) -> dict[str, Path]:
    from sklearn.datasets import load_breast_cancer

    x = load_breast_cancer(as_frame=True).data
    x.columns = [c.replace(" ", "_") for c in x.columns]
    row = {k: float(v) for k, v in x.iloc[0].items()}
    rows = x.iloc[[i % len(x) for i in range(BATCH_ROWS)]]
    split = {"columns": list(x.columns), "data": rows.to_numpy().tolist()}
    return {
        "row": lua(work / "row.lua", json.dumps(row).encode()),
        "batch": lua(work / "batch.lua", json.dumps(split).encode()),
        "mlflow_row": lua(
            work / "mlflow_row.lua", json.dumps({"dataframe_records": [row]}).encode()
        ),
        "mlflow_batch": lua(
            work / "mlflow_batch.lua", json.dumps({"dataframe_split": split}).encode()
        ),
    }


def relay_store(work: Path) -> Path:
    """An embedded store with the pipeline registered and deployed as bench-api."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from relayml.client.connect import open_backend
    from relayml.config import Settings
    from relayml.flavors import save_model

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    (work / "model.pkl").write_bytes(pickle.dumps(model))
    home = work / ".relay"
    backend = open_backend(Settings.from_env(home))
    try:
        saved = save_model(model, work / "model.skops", input_example=x[:5])
        assert saved.signature is not None
        backend.models.register(
            "default",
            "bench",
            work / "model.skops",
            flavor=saved.flavor.value,
            environment=saved.environment.to_dict(),
            signature=saved.signature.to_dict(),
        )
        backend.models.set_alias("default", "bench@1", "staging", "benchmark")
        backend.deployments.create("default", "bench-api", "bench@staging")
    finally:
        backend.close()
    return home


def measure(name: str, url: str, scripts: dict[str, Path], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wrk(url, scripts["row"], 8, min(2.0, seconds))  # warm-up, not counted
    for c in CONNECTIONS:
        out[f"c{c}"] = r = wrk(url, scripts["row"], c, seconds)
        say(
            f"    {name:12} {c:2} conn: {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:7.2f} ms  non-2xx {r['non_2xx']:.0f}"
        )
    out["batch"] = r = wrk(url, scripts["batch"], BATCH_CONNECTIONS, seconds)
    say(f"    {name:12} batches of {BATCH_ROWS}: {r['rps'] * BATCH_ROWS:10.0f} rows/s")
    return out


def run(quick: bool, with_mlflow: bool, keep: bool) -> dict[str, Any]:
    seconds = 3.0 if quick else 10.0
    work = Path(tempfile.mkdtemp(prefix="relay-bench-serving-"))
    results: dict[str, Any] = {"seconds": seconds}
    procs: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], ready: str, env: dict[str, str], name: str) -> None:
        log = work / f"{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_ready(ready, proc, log)

    try:
        home = relay_store(work)
        scripts = bodies(work)
        py = sys.executable
        relay_env = clean_env({"RELAY_HOME": str(home), "PYTHONPATH": str(ROOT / "src")})

        say("\n[floor] bare Starlette route, model on a parsed NumPy row")
        port = free_port()
        start(
            [py, str(HERE / "floor.py"), str(work / "model.pkl"), str(port)],
            f"http://127.0.0.1:{port}/ping",
            clean_env(),
            "floor",
        )
        results["wrk_ping"] = wrk(f"http://127.0.0.1:{port}/ping", None, 8, seconds)
        say(f"    wrk capacity (floor /ping, no model): {results['wrk_ping']['rps']:.0f} req/s")
        results["floor"] = measure(
            "floor",
            f"http://127.0.0.1:{port}/predict",
            {"row": scripts["row"], "batch": scripts["batch"]},
            seconds,
        )
        stop(procs.pop())

        for name, extra in (("relay", []), ("relay_nolog", ["--log-sample", "0"])):
            say(f"\n[{name}] relay serve bench-api {' '.join(extra)}")
            port = free_port()
            cmd = [py, "-m", "relayml.cli.app", "serve", "bench-api", "--port", str(port), *extra]
            start(cmd, f"http://127.0.0.1:{port}/readyz", relay_env, name)
            results[name] = measure(name, f"http://127.0.0.1:{port}/predict", scripts, seconds)
            stop(procs.pop())

        if with_mlflow:
            mlflow_py = harness.peer_python("mlflow", ["pip", "mlflow", "scikit-learn", "pandas"])
            subprocess.run(
                [str(mlflow_py), str(HERE / "mlflow_model.py"), str(work / "mlmodel")],
                check=True,
                env=clean_env(),
                cwd=work,
            )
            results["mlflow_version"] = subprocess.run(
                [str(mlflow_py), "-c", "import mlflow; print(mlflow.__version__)"],
                capture_output=True,
                text=True,
                check=True,
                env=clean_env(),
            ).stdout.strip()
            say(f"\n[mlflow] mlflow models serve ({results['mlflow_version']}, one worker)")
            port = free_port()
            mlflow_bin = mlflow_py.parent / "mlflow"
            # mlflow models serve runs `uvicorn` from PATH: its own venv's
            mlflow_env = clean_env({"PATH": f"{mlflow_py.parent}{os.pathsep}{os.environ['PATH']}"})
            start(
                [
                    str(mlflow_bin),
                    "models",
                    "serve",
                    "-m",
                    str(work / "mlmodel"),
                    "-p",
                    str(port),
                    "--host",
                    "127.0.0.1",
                    "--env-manager",
                    "local",
                    "--workers",
                    "1",
                ],
                f"http://127.0.0.1:{port}/ping",
                mlflow_env,
                "mlflow",
            )
            results["mlflow"] = measure(
                "mlflow",
                f"http://127.0.0.1:{port}/invocations",
                {"row": scripts["mlflow_row"], "batch": scripts["mlflow_batch"]},
                seconds,
            )
            stop(procs.pop())
    finally:
        for proc in procs:
            stop(proc)
        if keep:
            say(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _cell(r: dict[str, Any] | None, key: str) -> str:
    if r is None:
        return "-"
    c = r[key]
    return f"{c['rps']:,.0f}/s (p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.1f} ms)"


def section(results: dict[str, Any], elapsed: float, argv: list[str]) -> str:
    relay, nolog, floor = results["relay"], results["relay_nolog"], results["floor"]
    mlflow = results.get("mlflow")
    r8, f8 = relay["c8"]["rps"], floor["c8"]["rps"]
    checks = [
        ("Relay, 8 connections, >= 1,400 req/s", r8 >= TARGET_RPS_8),
        ("Relay, p50 at 1 connection <= 3 ms", relay["c1"]["p50_ms"] <= TARGET_P50_1),
        ("Relay within 1.5x of the floor at 8 connections", r8 * FLOOR_RATIO >= f8),
        (
            "prediction logging costs <= 10 % (8 connections)",
            r8 >= (1 - LOG_COST) * nolog["c8"]["rps"],
        ),
    ]
    if mlflow is not None:
        checks.insert(0, (">= 10x MLflow at 8 connections", r8 >= 10 * mlflow["c8"]["rps"]))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "<!-- serving:begin -->",
        "## Model serving: Relay vs MLflow and the floor",
        "",
        f"Measured {now} in {elapsed / 60:.1f} min with `python benchmarks/serving/run.py"
        f"{' ' + ' '.join(argv) if argv else ''}` (`make bench` runs it without flags; "
        "`make bench-serving` runs it alone).",
        "",
        "- Machine: " + harness.machine_line(),
        f"- Relay {version('relayml')}, MLflow {results.get('mlflow_version', '-')} (own venv), "
        f"scikit-learn {version('scikit-learn')}, uvicorn {version('uvicorn')}, "
        f"wrk with one thread per connection up to 2, {results['seconds']:.0f} s per cell",
        "",
        "| server | 1 connection | 8 connections | 32 connections | 1,000-row batches, 4 conn. |",
        "|---|---|---|---|---|",
    ]
    for label, r in (
        ("Relay (prediction log on)", relay),
        ("Relay (log off)", nolog),
        ("floor (bare Starlette, parsed NumPy row)", floor),
        (f"MLflow {results.get('mlflow_version', '')}", mlflow),
    ):
        if r is None:
            continue
        lines.append(
            f"| {label} | {_cell(r, 'c1')} | {_cell(r, 'c8')} | {_cell(r, 'c32')} | "
            f"{r['batch']['rps'] * BATCH_ROWS:,.0f} rows/s |"
        )
    lines += ["", "| target | result |", "|---|---|"]
    lines += [f"| {what} | {'PASS' if ok else 'FAIL'} |" for what, ok in checks]
    lines += [
        "",
        f"- The load generator: wrk drove {results['wrk_ping']['rps']:,.0f} req/s against the "
        "floor's /ping route (no model) at 8 connections, so it is not what limits the figures "
        "above.",
        "- Relay: `relay serve bench-api` (defaults: --max-batch 64, --max-wait-ms 2, access log "
        "on), an embedded store, the deployment following `bench@staging`; single rows as a "
        "one-row JSON object; batches as columns/data. Every answer carries its version, digest "
        "and prediction id; with the log on every row goes to Parquet segments.",
        "- MLflow: `mlflow models serve --env-manager local --workers 1`, bodies as "
        "`dataframe_records` / `dataframe_split`. Floor: `benchmarks/serving/floor.py`.",
        "- The machine is shared (2 CPUs, other agents' work, wrk on the same CPUs): figures move "
        "with its load.",
        "<!-- serving:end -->",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s per cell, no MLflow, print only")
    ap.add_argument("--no-mlflow", action="store_true", help="skip MLflow")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    started = time.monotonic()
    results = run(args.quick, not (args.quick or args.no_mlflow), args.keep)
    text = section(results, time.monotonic() - started, sys.argv[1:])
    print("\n" + text)
    if not args.quick:
        harness.write_section("serving", text)
        say(f"wrote {harness.RESULTS}")


if __name__ == "__main__":
    main()
