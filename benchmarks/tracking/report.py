"""The tracking benchmark's results table and its section of benchmarks/RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

BEGIN = "<!-- tracking:begin -->"
END = "<!-- tracking:end -->"


@dataclass(frozen=True)
class Row:
    label: str
    relay: str
    mlflow: str
    ratio: float | None  # MLflow time / Relay time
    target_ratio: float | None
    limit_s: float | None = None  # an absolute target on Relay's time instead
    value_s: float | None = None

    @property
    def passed(self) -> bool | None:
        if self.target_ratio is not None:
            return self.ratio is not None and self.ratio >= self.target_ratio
        if self.limit_s is not None:
            return self.value_s is not None and self.value_s <= self.limit_s
        return None

    def cells(self) -> list[str]:
        ratio = f"{self.ratio:,.1f}x" if self.ratio is not None else "-"
        if self.target_ratio is not None:
            target = f">= {self.target_ratio:g}x"
        elif self.limit_s is not None:
            target = f"<= {self.limit_s:g} s"
        else:
            target = "reported"
        verdict = {True: "PASS", False: "FAIL", None: "-"}[self.passed]
        return [self.label, self.relay, self.mlflow, ratio, target, verdict]


HEADER = ["Workload", "Relay", "MLflow", "MLflow/Relay", "Target", "Result"]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def notes(results: dict[str, Any], sizes_note: str) -> list[str]:
    out = [f"Sizes: {sizes_note}."]
    if not results.get("meta", {}).get("full", True):
        out.append(
            "**Partial or --quick run:** smoke-test sizes or a subset of the workloads; fixed "
            "per-run costs dominate at these sizes, so its ratios are not the benchmark's."
        )
    for key, mode in (("log_embedded", "embedded"), ("log_http", "over HTTP")):
        if key not in results:
            continue
        relay, mlf = results[key]
        for name, r in (("Relay", relay), ("MLflow", mlf)):
            if r["runs"] < r["requested_runs"]:
                out.append(
                    f"**Scaled down:** {name} {mode} stopped after {r['runs']} of "
                    f"{r['requested_runs']} runs because finishing would have taken longer than "
                    f"the {r['budget_s']:.0f} s budget; its figure is seconds per run over the "
                    "runs it did, and the ratio compares seconds per run."
                )
        if "server_startup_s" in relay:
            out.append(
                f"Server start-up, not timed: Relay {relay['server_startup_s']:.1f} s, "
                f"`mlflow server` {mlf['server_startup_s']:.1f} s (MLflow's defaults: "
                "4 uvicorn workers, proxied artifacts under `--artifacts-destination`)."
            )
    if "log_embedded" in results or "log_http" in results:
        out.append(
            "Logging time runs from just before the first `start_run` to the end of the last "
            "run's `with` block, when Relay has flushed every buffered point and ended the run "
            "(both committed to SQLite); MLflow logs synchronously. Creating the database / "
            "starting the server and one warm-up run (not counted) come before. The first and "
            "last runs are read back afterwards (params, every metric's full history, artifacts) "
            "on both sides. Throughput ratio = MLflow seconds per run / Relay seconds per run."
        )
        out.append(
            "Durability: MLflow commits every call before it returns; Relay commits params, "
            "tags and artifacts per call and buffers metric points, committing them in batches "
            "and at the latest when the run's `with` block ends, which is where the clock stops. "
            "Relay's SQLite runs in WAL mode with synchronous=NORMAL (a commit survives a process "
            "crash; a power cut can lose the last few); MLflow keeps SQLite's defaults (rollback "
            "journal, synchronous=FULL, fsyncs on every commit, one commit per logged value)."
        )
    if "search" in results:
        s = results["search"]
        out.append(
            f"Search: `relay.search_runs` vs `MlflowClient.search_runs`, both with page size "
            f"1000, filter `metrics.acc > 0.5 and params.model = 'lr'`, order "
            f"`metrics.acc DESC`; both returned the same {s['relay']['matches']} runs at "
            f"{s['relay']['runs']:,} runs (checked, and the order verified). The two took turns, "
            f"{s['relay'].get('rounds', 1)} rounds each on the same populated stores (each round a "
            f"fresh process), so a slow phase of the machine falls on both; the medians are over "
            f"every round's repetitions. Population is not "
            f"timed in the table: MLflow via `create_run` + `log_batch` + `set_terminated` per run "
            f"({s['mlflow']['populate_s']:.0f} s), Relay by bulk insert through its store "
            f"({s['relay']['populate_s']:.1f} s; {s['relay_big']['populate_s']:.1f} s for "
            f"{s['relay_big']['runs']:,} runs, where the page returned holds "
            f"{s['relay_big']['matches']} runs). For scale: the issue quotes MLflow at about 0.3 s "
            f"to filter and 1.7 s to order 1,000 runs; MLflow {s['mlflow'].get('mlflow', '')} "
            f"took {s['mlflow']['filter_s'] * 1000:.0f} ms and {s['mlflow']['order_s'] * 1000:.0f} "
            f"ms at {s['mlflow']['runs']:,} runs here."
        )
    load = results.get("meta", {}).get("loadavg")
    out.append(
        "The machine is shared with other work, so every figure carries some noise"
        + (
            f" (load average when the run started: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f})."
            if load
            else "."
        )
    )
    if "cold" in results:
        out.append(
            "Cold start: wall time of a fresh process, one warm-up then the median of the "
            "repetitions, from a temp dir with MLflow telemetry disabled."
        )
    return out


def render_section(
    *,
    rows: list[Row],
    results: dict[str, Any],
    sizes_note: str,
    started: datetime,
    duration_s: float,
    machine: dict[str, str],
    versions: dict[str, str],
    command: str,
) -> str:
    lines = [
        BEGIN,
        "## Experiment tracking: Relay vs MLflow",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {duration_s / 60:.1f} min with "
        f"`{command}` (`make bench` runs it without flags).",
        "",
        f"- Machine: {machine['nproc']} CPUs, {machine['cpu']}, {machine['memory']} RAM, "
        f"{machine['os']}",
        f"- Python {versions['python']}; Relay {versions['relay']}; "
        f"MLflow {versions['mlflow']}; SQLite {versions['sqlite']}",
        "",
        table(rows),
        "",
        "Notes:",
        "",
    ]
    lines += [f"- {n}" for n in notes(results, sizes_note)]
    lines.append(END)
    return "\n".join(lines) + "\n"
