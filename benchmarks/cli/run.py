"""CLI cold paths: `relay --help`, `relay runs ls`, `relay datasets ls` and the publish of a
178-row CSV, each a fresh process, end to end (issue 10 item 2).

    python benchmarks/cli/run.py                        # what `make bench` runs
    python benchmarks/cli/run.py --baseline-rev c31bd89 # also measure an older commit's src/

Each command runs once to warm the OS cache and write bytecode, then `--repeats` times; the
table shows the median wall time, the median CPU time (user + system of the child: what a
loaded machine does not inflate as much) and the ratio to `relay --help` in the same run.
Target: each command under 1 s wall. With --baseline-rev the older source (`git archive` of its
src/ into benchmarks/.work/) is measured the same way, turn about with the current one, so a
slow phase of the machine falls on both. Results go between the cli markers of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / "benchmarks" / ".work"
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402

TARGET_SECONDS = 1.0
COMMANDS: list[tuple[str, list[str]]] = [
    ("relay --help", ["--help"]),
    ("relay runs ls", ["runs", "ls"]),
    ("relay datasets ls", ["datasets", "ls"]),
    ("relay datasets publish (178-row CSV)", ["datasets", "publish", "wine{n}", "{csv}"]),
]


def write_csv(path: Path) -> Path:
    """178 rows like the wine data set: 13 measurements and a class, deterministic."""
    lines = ["alcohol,malic_acid,ash,alcalinity,magnesium,phenols,flavanoids,nonflavanoid,"
             "proanthocyanins,color,hue,od280,proline,target"]  # fmt: skip
    for i in range(178):
        values = [f"{11 + (i * 37 % 100) / 25:.2f}"]
        values += [f"{(i * (k + 3) % 97) / 10 + k:.2f}" for k in range(11)]
        values += [str(278 + i * 53 % 1400), str(i % 3)]
        lines.append(",".join(values))
    path.write_text("\n".join(lines) + "\n")
    return path


def source_of(rev: str) -> Path:
    """src/ of commit `rev`, extracted once under benchmarks/.work/."""
    target = WORK / f"src-{rev}"
    if not (target / "src" / "relayml").exists():
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
        ).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target / "src"


def run_once(src: Path, argv: list[str], home: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `relay ARGV` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached after a first run
    env.update(PYTHONPATH=str(src), RELAY_HOME=str(home / ".relay"), RELAY_USER="bench")
    code = "import sys; from relayml.cli.app import main; main(sys.argv[1:])"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=home, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"relay {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(sources: dict[str, Path], repeats: int) -> dict[str, dict[str, tuple[float, float]]]:
    """label -> command -> (median wall, median CPU); the sources take turns per repetition."""
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        label: {name: [] for name, _ in COMMANDS} for label in sources
    }
    with tempfile.TemporaryDirectory(prefix="relay-cli-bench-") as tmp:
        homes = {label: Path(tmp) / label for label in sources}
        counter = 0
        for label, home in homes.items():
            home.mkdir()
            csv = write_csv(home / "wine.csv")
            run_once(sources[label], ["init"], home)
            for _, argv in COMMANDS:  # warm-up: bytecode, OS cache, a store to list
                counter += 1
                run_once(sources[label], _fill(argv, counter, csv), home)
        for _ in range(repeats):
            for label, home in homes.items():
                for name, argv in COMMANDS:
                    counter += 1
                    argv_n = _fill(argv, counter, home / "wine.csv")
                    samples[label][name].append(run_once(sources[label], argv_n, home))
    return {
        label: {
            name: (
                statistics.median(w for w, _ in runs),
                statistics.median(c for _, c in runs),
            )
            for name, runs in by_name.items()
        }
        for label, by_name in samples.items()
    }


def _fill(argv: list[str], n: int, csv: Path) -> list[str]:
    return [a.replace("{n}", str(n)).replace("{csv}", str(csv)) for a in argv]


def versions() -> str:
    from importlib.metadata import version

    names = ("typer", "sqlalchemy", "pydantic", "pyarrow", "numpy", "rich")
    return ", ".join(f"{n} {version(n)}" for n in names)


def report(results: dict[str, dict[str, tuple[float, float]]], repeats: int, argv: str) -> str:
    m = harness.machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "<!-- cli:begin -->",
        "## CLI cold start (`relay` commands end to end)",
        "",
        f"Command: `python benchmarks/cli/run.py{argv}` · run {when} · machine: "
        + harness.machine_line(),
        "",
        f"Versions: Python {m['python']}, {versions()}. Each command is a fresh process "
        f"(`python -c 'from relayml.cli.app import main; main(argv)'`), run once to warm up, "
        f"then {repeats} times; median wall and CPU (user + system) seconds, and the ratio of "
        "wall times to `relay --help` in the same run. The store is a fresh embedded one "
        "(SQLite, `relay init`); `publish` writes a new dataset each time from a 178-row, "
        "14-column CSV.",
        "",
    ]
    labels = list(results)
    head = "| command |" + "".join(f" {label} wall s | {label} CPU s | {label} / --help |"
                                   for label in labels)  # fmt: skip
    out += [head, "| --- |" + " ---: | ---: | ---: |" * len(labels)]
    for name, _ in COMMANDS:
        row = f"| `{name}` |" if not name.startswith("relay datasets publish") else f"| {name} |"
        for label in labels:
            wall, cpu = results[label][name]
            ratio = wall / results[label]["relay --help"][0]
            row += f" {wall:.3f} | {cpu:.3f} | {ratio:.1f}x |"
        out.append(row)
    out += ["", "Targets (printed as measured, pass or fail):", ""]
    current = results[labels[0]]
    for name, _ in COMMANDS[1:]:
        wall = current[name][0]
        verdict = "PASS" if wall < TARGET_SECONDS else "FAIL"
        out.append(f"- {name}: {wall:.2f} s wall (target < {TARGET_SECONDS:.0f} s): {verdict}")
    out.append(
        "- What each loads is asserted by tests/cli/test_lazy.py (no SciPy, pandas, "
        "scikit-learn, FastAPI, uvicorn or Ray in these commands), not by this timing."
    )
    out.append("<!-- cli:end -->")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline-rev", help="also measure this commit's src/ (git archive)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    sources = {"now": ROOT / "src"}
    if args.baseline_rev:
        sources[args.baseline_rev] = source_of(args.baseline_rev)
    results = measure(sources, args.repeats)
    flags = f" --baseline-rev {args.baseline_rev}" if args.baseline_rev else ""
    section = report(results, args.repeats, flags)
    print(section)
    if not args.no_write:
        harness.write_section("cli", section)


if __name__ == "__main__":
    main()
