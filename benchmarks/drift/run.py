"""Drift benchmark: Relay vs a plain NumPy/SciPy pass vs Evidently vs NannyML.

    python benchmarks/drift/run.py            # 10k, 100k, 1M rows per side (what `make bench` runs)
    python benchmarks/drift/run.py --quick    # 10k only, a smoke test

Evidently and NannyML run in their own virtual environments under benchmarks/.venvs/, created
on first use (Evidently 0.7.x needs pandas < 3; NannyML needs statsmodels and
NML_DISABLE_USAGE_LOGGING=1 so that it sends nothing). Every measurement is its own process, so
peak memory (ru_maxrss) belongs to one tool. Results go between the drift markers of
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT / "benchmarks" / ".data" / "drift"
BEGIN, END = "<!-- drift:begin -->", "<!-- drift:end -->"

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402
from data import SHIFTED, ensure  # noqa: E402

PEERS = {
    "evidently": ["evidently>=0.7,<0.8", "pandas<3", "pyarrow"],
    "nannyml": ["nannyml", "statsmodels", "pyarrow"],
}
ENV = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
TIMEOUT = 3600


def measure(python: Path, tool: str, ref: Path, cur: Path, repeats: int) -> dict[str, Any]:
    env = dict(ENV)
    if tool in {"relay", "plain"}:
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [str(python), str(HERE / "measure.py"), tool, str(ref), str(cur), str(repeats)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "error": f"timeout after {TIMEOUT} s"}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"tool": tool, "error": " | ".join(tail)[:300]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = time.perf_counter() - t0
    return dict(out)


def score(flagged: list[str]) -> tuple[int, int]:
    caught = len(set(flagged) & set(SHIFTED))
    false = len(set(flagged) - set(SHIFTED))
    return caught, false


def render(results: list[dict[str, Any]], sizes: list[int], command: str) -> str:
    lines = [
        BEGIN,
        "## Data drift (`relay.drift.compare`)",
        "",
        f"Command: `{command}` · machine: {harness.machine_line()} · "
        f"run {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "Data: 20 columns per side, 5 with planted shifts (mean +0.1 sd, spread +20 %, one "
        "category +5 points, 3 % of rows in 10 never-seen rare categories, 5 % missing values) and "
        "15 without; see `benchmarks/drift/data.py`. Time is the compute on two in-memory pandas "
        "frames (best of 3 at 10k and 100k, one run at 1M), excluding reading Parquet; memory is "
        "the process's peak RSS, with the RSS after loading the data in brackets.",
        "",
        "| rows/side | tool | seconds | peak MB (loaded) | shifts caught (of 5) | unshifted "
        "flagged (of 15) |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    versions: dict[str, str] = {}
    for r in results:
        if "error" in r:
            lines.append(f"| {r['n']:,} | {r['tool']} | error: {r['error']} | | | |")
            continue
        versions[r["tool"]] = r["version"]
        caught, false = score(r["flagged"])
        lines.append(
            f"| {r['n']:,} | {r['tool']} | {r['seconds']:.3f} | {r['peak_rss_mb']:.0f} "
            f"({r['rss_loaded_mb']:.0f}) | {caught} | {false} |"
        )
    lines += ["", "Targets (printed as measured, pass or fail):", ""]
    lines += [f"- {t}" for t in targets(results, sizes)]
    lines += ["", "Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()), ""]
    flagged = [
        f"{r['tool']}@{r['n']:,}: {', '.join(r['flagged']) or '-'}"
        for r in results
        if "flagged" in r
    ]
    lines += ["<details><summary>columns flagged per run</summary>", ""]
    lines += [f"- {f}" for f in flagged] + ["", "</details>", END]
    return "\n".join(lines)


def targets(results: list[dict[str, Any]], sizes: list[int]) -> list[str]:
    by = {(r["tool"], r["n"]): r for r in results if "error" not in r}
    out = []
    for n in sizes:
        relay, plain, ev = by.get(("relay", n)), by.get(("plain", n)), by.get(("evidently", n))
        if relay and plain:
            ratio = relay["seconds"] / plain["seconds"]
            out.append(
                f"{n:,} rows: Relay / plain pass = {ratio:.2f}x (target <= 2x): "
                + ("PASS" if ratio <= 2 else "FAIL")
            )
        if relay and ev:
            speedup = ev["seconds"] / relay["seconds"]
            goal = 50 if n <= 10_000 else 14 if n >= 1_000_000 else None
            verdict = (
                ""
                if goal is None
                else f" (target >= {goal}x): " + ("PASS" if speedup >= goal else "FAIL")
            )
            out.append(f"{n:,} rows: Evidently / Relay = {speedup:.1f}x{verdict}")
        if relay:
            caught, false = score(relay["flagged"])
            ok = caught == len(SHIFTED) and false == 0
            out.append(
                f"{n:,} rows: Relay caught {caught}/5 planted shifts, flagged {false}/15 unshifted "
                "(target 5 and 0): " + ("PASS" if ok else "FAIL")
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows per side only")
    parser.add_argument("--no-peers", action="store_true", help="Relay and the plain pass only")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    tools: dict[str, Path] = {"relay": Path(sys.executable), "plain": Path(sys.executable)}
    if not args.no_peers:
        for name in PEERS:
            tools[name] = harness.peer_python(name, PEERS[name], ENV)
    results = []
    for n in sizes:
        ref, cur = ensure(n, DATA)
        for tool, python in tools.items():
            repeats = 1 if n >= 1_000_000 else 3
            r = measure(python, tool, ref, cur, repeats)
            r["n"] = n
            results.append(r)
            shown = r.get("error") or f"{r['seconds']:.3f} s, flagged {score(r['flagged'])}"
            print(f"{n:>9,} {tool:<10} {shown}", flush=True)
    command = "python benchmarks/drift/run.py" + (" --quick" if args.quick else "")
    section = render(results, sizes, command)
    print()
    print(section)
    if not args.no_write:
        harness.write_section("drift", section)
        print(f"\nwritten to {harness.RESULTS}")


if __name__ == "__main__":
    main()
