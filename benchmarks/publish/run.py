"""Publish at disk speed (issue 10 item 1): `relay.datasets.publish` of a 10M-row Parquet file
against the floor (read the Parquet, SHA-256 its bytes, write it back with pyarrow) and against
`dvc add` of the same file, measured in the same run, with peak memory and where the time goes.

    python benchmarks/publish/run.py            # 10M rows x 10 columns (what `make bench` runs)
    python benchmarks/publish/run.py --quick    # 1M rows
    python benchmarks/publish/run.py --no-dvc   # skip DVC (its venv takes minutes to create)

The table is the contracts benchmark's (benchmarks/contracts/data.py: ids, floats, ints, a
timestamp, low- and high-cardinality strings), published with its contract (validation on).
Each measurement is a fresh process; DVC runs in its own venv under benchmarks/.venvs/. Results
go between the publish markers of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT / "benchmarks" / ".data" / "contracts"
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402

TARGET_FLOOR = 3.0  # publish within 3x of the floor
TIMEOUT = 3600


def contracts_data() -> Any:
    spec = importlib.util.spec_from_file_location(
        "contracts_data", HERE.parent / "contracts/data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(mode: str, table: Path, contract: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="relay-bench-publish-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
        env.update(RELAY_HOME=str(Path(tmp) / ".relay"), RELAY_USER="bench", TMPDIR=tmp)
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, str(HERE / "measure.py"), mode, str(table), str(contract)]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=TIMEOUT
        )
    if proc.returncode != 0:
        return {"error": " | ".join(proc.stderr.strip().splitlines()[-3:])[:300]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


DVC = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run([sys.argv[1], "add", "-q", sys.argv[2]], check=True)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


def dvc_add(table: Path) -> dict[str, Any]:
    """`dvc add` of a copy of the table in a fresh DVC repository (no git), its own venv."""
    python = harness.peer_python("dvc", ["dvc"])
    dvc = python.parent / "dvc"
    with tempfile.TemporaryDirectory(prefix="relay-bench-dvc-") as tmp:
        subprocess.run([str(dvc), "init", "-q", "--no-scm"], cwd=tmp, check=True)
        copy = Path(tmp) / table.name
        os.link(table, copy) if _same_fs(table, Path(tmp)) else copy.write_bytes(table.read_bytes())
        proc = subprocess.run(
            [str(python), "-c", DVC, str(dvc), copy.name],
            capture_output=True, text=True, cwd=tmp, timeout=TIMEOUT,
        )  # fmt: skip
        version = subprocess.run([str(dvc), "--version"], capture_output=True, text=True).stdout
    if proc.returncode != 0:
        return {"error": " | ".join(proc.stderr.strip().splitlines()[-3:])[:300]}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "version": version.strip()}


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def report(
    n: int, table: Path, results: dict[str, dict[str, Any]], argv: str, started: float
) -> str:
    from importlib.metadata import version

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = table.stat().st_size / 2**20
    out = [
        "<!-- publish:begin -->",
        "## Publishing at disk speed (`relay.datasets.publish` vs the floor and `dvc add`)",
        "",
        f"Command: `python benchmarks/publish/run.py{argv}` · run {when} in "
        f"{(time.time() - started) / 60:.1f} min · machine: " + harness.machine_line(),
        "",
        f"Data: {n:,} rows x 10 columns, Parquet {size:,.0f} MB (the contracts benchmark's "
        "table: ids, floats, ints, a timestamp, strings of 4 to 50 categories and a nearly "
        "unique code). Floor: read the Parquet in 65,536-row batches, SHA-256 its bytes, write "
        "it back with pyarrow (zstd). Relay: `relay.datasets.publish(path, contract=...)` into "
        "an embedded SQLite store: normalized Parquet written, stored (SHA-256), validated, "
        "profiled and registered. Each is a fresh process; peak RSS of that process.",
        "",
        "| what | seconds | rows/s | vs floor | peak MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    floor = results["floor"].get("seconds")
    for label, key in (("floor (pyarrow + hashlib)", "floor"), ("relay publish", "relay"),
                       ("dvc add", "dvc")):  # fmt: skip
        r = results.get(key)
        if r is None:
            continue
        if "error" in r:
            out.append(f"| {label} | error: {r['error']} | | | |")
            continue
        ratio = f"{r['seconds'] / floor:.2f}x" if floor else "-"
        out.append(
            f"| {label} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | {ratio} | "
            f"{r['peak_mb']:,.0f} |"
        )
    out += ["", "Targets (printed as measured, pass or fail):", ""]
    relay = results["relay"]
    if "error" not in relay and floor:
        ratio = relay["seconds"] / floor
        verdict = "PASS" if ratio <= TARGET_FLOOR else "FAIL"
        out.append(f"- publish / floor = {ratio:.2f}x (target <= {TARGET_FLOOR:.0f}x): {verdict}")
    phases = results.get("phases", {})
    if "phases" in phases:
        out += [
            "",
            "Where the publish's time goes (`measure.py phases`, the same work timed piece by "
            "piece in one process):",
            "",
            "| phase | seconds |",
            "| --- | ---: |",
        ]
        for name, seconds in phases["phases"].items():
            out.append(f"| {name} | {seconds:.2f} |")
        slow = sorted(phases["profile_columns"].items(), key=lambda kv: -kv[1])[:3]
        out.append(
            "| of the profile counts, the slowest columns | "
            + ", ".join(f"{c} {s:.2f}" for c, s in slow)
            + " |"
        )
    versions = (
        f"relayml {version('relayml')}, pyarrow {version('pyarrow')}, numpy {version('numpy')}"
    )
    if "version" in results.get("dvc", {}):
        versions += f", dvc {results['dvc']['version']}"
    out += [
        "",
        f"Versions: Python {harness.machine()['python']}, {versions}.",
        "<!-- publish:end -->",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M rows instead of 10M")
    parser.add_argument("--no-dvc", action="store_true", help="skip dvc add")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    started = time.time()
    n = 1_000_000 if args.quick else 10_000_000
    data = contracts_data()
    # Generated in a process of its own: a child's peak RSS counts its parent's memory at
    # fork, so generating here would inflate every measurement's peak.
    make = "import sys; sys.path.insert(0, sys.argv[1]); from data import ensure; from pathlib "
    make += "import Path; ensure(int(sys.argv[2]), Path(sys.argv[3]))"
    subprocess.run([sys.executable, "-c", make, str(HERE.parent / "contracts"), str(n), str(DATA)],
                   check=True)  # fmt: skip
    table = DATA / f"table_{n}.parquet"
    contract = DATA / "contract.yaml"
    import yaml

    contract.write_text(yaml.safe_dump(data.contract_dict()))
    results: dict[str, dict[str, Any]] = {}
    for mode in ("floor", "relay", "phases"):
        print(f"{mode} ...", flush=True)
        results[mode] = measure(mode, table, contract)
    if not args.no_dvc:
        print("dvc add ...", flush=True)
        results["dvc"] = dvc_add(table)
    flags = "".join(f" --{f}" for f in ("quick", "no-dvc") if getattr(args, f.replace("-", "_")))
    section = report(n, table, results, flags, started)
    print(section)
    if not args.no_write:
        harness.write_section("publish", section)


if __name__ == "__main__":
    main()
