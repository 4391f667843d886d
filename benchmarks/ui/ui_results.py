"""The UI benchmark's section of benchmarks/RESULTS.md (between `<!-- ui:begin -->` and
`<!-- ui:end -->`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MEASURES = (
    (
        "first_paint_cold",
        "Runs page, first useful paint, empty cache (navigation start -> first row painted)",
    ),
    ("first_paint_warm", "Runs page, first useful paint, warm cache (reload)"),
    ("sort_all", "Sort all runs by acc (click -> new first row painted)"),
    ("filter", "Filter round trip (submit -> filtered table's first row painted)"),
    ("sort", "Sort the filtered runs by acc (click -> new first row painted)"),
)


def _ms(found: dict[str, Any] | None, key: str) -> str:
    if not found or key not in found:
        return "-"
    m = found[key]
    if m["median_ms"] is None:
        return f"no table in {m['timeout_ms'] / 1000:.0f} s ({m['timed_out']} tried)"
    spread = f"{min(m['all_ms']):.0f}-{max(m['all_ms']):.0f}"
    late = f"; {m['timed_out']} timed out" if m["timed_out"] else ""
    return f"{m['median_ms']:.0f} ms ({spread}{late})"


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def weights_table(results: dict[str, Any]) -> list[str]:
    kinds = ["html", "script", "style", "font", "image", "data (XHR)", "other"]
    rows: list[tuple[str, dict[str, Any]]] = []
    for side in ("relay", "mlflow"):
        for page, w in results.get(side, {}).get("weights", {}).items():
            rows.append((f"{side.capitalize() if side == 'relay' else 'MLflow'}: {page}", w))
    used = [k for k in kinds if any(k in w for _, w in rows)]
    head = ["Page", *used, "total transferred", "total decoded", "requests"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, w in rows:
        cells = [_kb(w[k]["transferred"]) if k in w else "-" for k in used]
        total = sum(v["transferred"] for v in w.values())
        decoded = sum(v["decoded"] for v in w.values())
        count = sum(v["count"] for v in w.values())
        tail = f" | {_kb(total)} | {_kb(decoded)} | {count} |"
        lines.append(f"| {name} | " + " | ".join(cells) + tail)
    return lines


def render(results: dict[str, Any], target_ms: float) -> tuple[str, list[str]]:
    meta = results["meta"]
    relay, mlflow = results["relay"], results.get("mlflow")
    n, reps = meta["runs"], meta["reps"]
    started = datetime.fromisoformat(meta["started"])
    m = meta["machine"]
    v = meta["versions"]
    missed: list[str] = []
    lines = [
        "<!-- ui:begin -->",
        "## Web UI: Relay's runs page vs MLflow's experiment page, in Chromium",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {meta['duration_s'] / 60:.1f} min with "
        f"`{meta['command']}` (`make bench` and `make bench-ui` run it without flags).",
        "",
        f"- Machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory']} RAM, {m['os']}; load average "
        f"{', '.join(f'{x:.2f}' for x in meta['load_start'])} at the start, {m['load']} at the end "
        "(the machine is shared: other work slows every figure).",
        f"- Relay {v['relay']} (Python {m['python']}), MLflow {v.get('mlflow', '-')}, "
        f"Chromium {relay.get('chromium', '?')} (Debian's /usr/bin/chromium), Playwright "
        f"{v['playwright']}; both servers on 127.0.0.1 with SQLite.",
        "",
        f"{n:,} runs in one experiment, each with 8 params, 6 metrics and 3 tags "
        f"(`benchmarks/ui/data.py`). Median of {reps} (range in brackets); target under "
        f"{target_ms / 1000:g} s for Relay.",
        "",
        "| Measure | Relay | MLflow | Target | Result |",
        "|---|---|---|---|---|",
    ]
    for key, label in MEASURES:
        med = relay[key]["median_ms"]
        ok = med is not None and med < target_ms and not relay[key]["timed_out"]
        if not ok:
            missed.append(label)
        lines.append(
            f"| {label} | {_ms(relay, key)} | {_ms(mlflow, key)} | < {target_ms:.0f} ms | "
            f"{'PASS' if ok else 'FAIL'} |"
        )
    lines += [
        "",
        "Page weight (empty cache, bytes transferred as the browser's resource timing "
        "reports them, headers included; decoded = after decompression):",
        "",
    ]
    lines += weights_table(results)
    lines += ["", "Notes:", ""]
    lines.append(
        f"- Loading: Relay's {n:,} runs were inserted through its store in bulk "
        f"({relay['populate_s']:.1f} s), as the tracking benchmark populates its search."
    )
    if mlflow:
        load = mlflow["load"]
        rate = load["api_runs"] / load["api_s"] if load["api_s"] else 0.0
        whole = n / rate / 60 if rate else float("inf")
        lines.append(
            f"- MLflow's {n:,} runs: its public API (per run `create_run` + one `log_batch` + "
            f"`set_terminated`, the fastest a client has) logged {load['api_runs']:,} runs in "
            f"{load['api_s']:.0f} s ({rate:.1f} runs/s, so all {n:,} would take about "
            f"{whole:.0f} min on this machine); the other {load['bulk_runs']:,} were inserted "
            f"straight into MLflow's tables through its own SQLAlchemy table definitions, row "
            f"for row what the API wrote ({load['bulk_s']:.1f} s). So both UIs show the same "
            f"{n:,} runs. `mlflow server` (its defaults) took {load['server_startup_s']:.0f} s "
            "to answer /health."
        )
    lines += [
        "- First useful paint: from the navigation's start to the moment Chromium paints the "
        "runs table's first row, and only when that row is the run the view must start with "
        "(the newest run; for round trips the first run of the filtered, sorted result, "
        "computed from the data), so a loading placeholder or the previous table never counts. "
        "The paint time is Chromium's Element Timing of that row where it reports one (a newly "
        "inserted row), else the end of the first frame after the row entered the document "
        "(MLflow's grid rewrites rows it has painted); `benchmarks/ui/browser.py` has the script.",
        "- Empty cache: each repetition is a fresh browser context, signed in (Relay) or on "
        "MLflow's /health first, then the cache cleared through the DevTools protocol; warm "
        "cache: the same page reloaded.",
        "- Round trips, from the user's action (a capture-phase listener notes the click, Enter "
        "or submit), each starting from the default view (newest first): Relay's form is a GET "
        "that renders the page on the server (the filter typed in the Filter field, Apply; the "
        "sort a click on the acc column's header), MLflow updates its page in place (the filter "
        "typed in its search box, Enter; the sort its Sort menu, then acc). Filter: `"
        + "metrics.acc > 0.5 and params.model = 'lr'"
        + "`. A measurement that paints no table within the timeout (120 s) is counted as "
        "timed out; sorting every run is then not tried again. A request MLflow's server was "
        "still working on when the browser gave up may slow the measurements after it.",
        "- Relay gzips its static files for a browser that accepts it (its pages are not "
        "compressed); MLflow's sizes are as its server sends them.",
        "<!-- ui:end -->",
    ]
    return "\n".join(lines) + "\n", missed
