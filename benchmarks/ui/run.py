"""The web UI benchmark: Relay's runs page vs MLflow's experiment page, in Chromium.

    .venv/bin/python benchmarks/ui/run.py              # full run, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/ui/run.py --quick      # 3,000 runs, 2 reps, prints only
    .venv/bin/python benchmarks/ui/run.py --no-mlflow  # Relay alone

With 100,000 runs (benchmarks/ui/data.py: 8 params, 6 metrics, 3 tags each) in one experiment:
1. the runs page's first useful paint: navigation start -> the table's first row painted
   (benchmarks/ui/browser.py says how), with an empty cache and again with a warm one;
2. a filter round trip (type the filter, submit -> the filtered table's first row painted) on a
   table sorted by a metric, then a sort round trip (reverse the sort -> the new first row);
3. each page's weight: bytes transferred by type, from the browser's resource timing.
Relay: a real `relay server` (relayml.testing.server: `python -m relayml.api`, the same `serve`
as `relay server`) on 127.0.0.1 and SQLite; MLflow: `mlflow server` (latest, its own venv
benchmarks/.venvs/mlflow, shared with the tracking benchmark) on SQLite, loaded as
benchmarks/ui/mlflow_side.py says. Median of --reps each; target: under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tracking"))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import browser  # noqa: E402
import data  # noqa: E402
import harness  # noqa: E402
from common import RESULT_PREFIX, quiet_env  # noqa: E402
from ui_results import render  # noqa: E402

ROOT = HERE.parent.parent
PROJECT = "bench"
TARGET_MS = 1000.0
RELAY = browser.Tool("Relay", "table.runs tbody tr")
MLFLOW = browser.Tool("MLflow", '.ag-pinned-left-cols-container .ag-row[row-index="0"]')


def say(msg: str) -> None:
    print(msg, flush=True)


# Relay ---------------------------------------------------------------------------------------
def populate_relay(home: Path, n: int) -> float:
    from relay_workload import insert_runs

    import relayml as relay

    t0 = time.perf_counter()
    relay.init(project=PROJECT, home=home)
    insert_runs(data.EXPERIMENT, data.rows(n), n)
    return time.perf_counter() - t0


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/p/*/")
    if not page.url.endswith(f"/p/{PROJECT}/"):  # an admin lands on the first project
        page.goto(f"{url}/p/{PROJECT}/")


def relay_side(pw: Any, home: Path, n: int, reps: int) -> dict[str, Any]:
    from relayml.client.http import HttpBackend
    from relayml.testing.server import running_server

    say(f"\n[relay] populating {n:,} runs")
    populate_s = populate_relay(home, n)
    with running_server(home) as info:
        admin = HttpBackend(info.url, info.admin_token)
        try:
            token = admin.identity.create_user("dana", ["data_scientist"], PROJECT).token
        finally:
            admin.close()
        b = browser.launch(pw)
        try:
            runs_url = f"{info.url}/p/{PROJECT}/runs"

            def enter(page: Any) -> None:
                sign_in(page, info.url, token)

            out = measure(b, RELAY, n, reps, enter, runs_url)
            out.update(round_trips(b, RELAY, n, reps, enter, RelayActions(info.url)))
            out["weights"] = relay_weights(b, info.url, info.admin_token)
            out["chromium"] = b.version
        finally:
            b.close()
    out["populate_s"] = populate_s
    return out


class RelayActions:
    def __init__(self, url: str) -> None:
        self.start = f"{url}/p/{PROJECT}/runs"

    def filter(self, page: Any, text: str, armed: Any) -> None:
        page.get_by_label("Filter").fill(text)
        armed()
        page.get_by_role("button", name="Apply").click()

    def sort(self, page: Any, armed: Any) -> None:
        """Click the acc column's header (a metric sorts highest first on the first click)."""
        armed()
        link = page.locator("table.runs thead").get_by_role("link", name=data.SORT_METRIC)
        link.click()


def relay_weights(b: Any, url: str, admin_token: str) -> dict[str, Any]:
    """Every page in the nav of a platform admin (who sees every area), a run and a compare."""
    context = browser.new_context(b, RELAY)
    page = context.new_page()
    try:
        page.goto(f"{url}/login")
        pages = {"sign-in": f"{url}/login"}
        sign_in(page, url, admin_token)
        pages["home"] = page.url
        for link in page.locator("nav[aria-label=Areas] a").all():
            name = link.inner_text().strip().lower()
            if name != "home":
                pages[name] = url + (link.get_attribute("href") or "")
        page.goto(f"{url}/p/{PROJECT}/runs?limit=25")
        ids = [
            (box.get_attribute("value") or "") for box in page.locator("input[name=run]").all()[:2]
        ]
        pages["a run"] = f"{url}/p/{PROJECT}/runs/{ids[0]}"
        pages["compare 2 runs"] = f"{url}/p/{PROJECT}/compare?run={ids[0]}&run={ids[1]}"
        out = {}
        for name, target in pages.items():
            if name == "sign-in":
                login = b.new_context(viewport=browser.VIEWPORT)
                lp = login.new_page()
                lp.goto(target)
                lp.wait_for_load_state("networkidle")
                out[name] = browser.weight(lp)
                login.close()
                continue
            browser.clear_cache(page)
            page.goto(target)
            browser.settle(page)
            out[name] = browser.weight(page)
        return out
    finally:
        context.close()


# MLflow --------------------------------------------------------------------------------------
class MlflowActions:
    def __init__(self, url: str, exp: str) -> None:
        self.start = (
            f"{url}/#/experiments/{exp}/runs?searchFilter=&orderByKey=attributes.start_time"
            "&orderByAsc=false"
        )

    def filter(self, page: Any, text: str, armed: Any) -> None:
        box = page.get_by_test_id("search-box")
        box.fill(text)
        armed()
        box.press("Enter")

    def sort(self, page: Any, armed: Any) -> None:
        """Its Sort menu, then acc (the direction stays: highest first)."""
        page.get_by_test_id("sort-select-dropdown").click()
        items = page.locator("[role=menuitemcheckbox], [role=menuitem], [role=option]")
        item = items.filter(has_text=re.compile(rf"^\s*{data.SORT_METRIC}\s*$")).first
        item.wait_for()
        armed()
        item.click()


def mlflow_side(pw: Any, home: Path, n: int, reps: int, budget: float) -> dict[str, Any]:
    python = harness.peer_python("mlflow", ["pip", "mlflow"], env=quiet_env())
    say(f"\n[mlflow] loading {n:,} runs (public API for up to {budget:.0f} s, then bulk)")
    cmd = [str(python), str(HERE / "mlflow_side.py"), "--home", str(home), "--runs", str(n)]
    cmd += ["--api-budget", str(budget)]
    proc = subprocess.Popen(
        cmd,
        cwd=home,
        env=quiet_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    noise: list[str] = []

    def forward() -> None:
        for line in proc.stderr or []:
            (say(line.rstrip()) if line.startswith("    ") else noise.append(line))

    threading.Thread(target=forward, daemon=True).start()
    try:
        loaded: dict[str, Any] | None = None
        for line in proc.stdout or []:
            if line.startswith(RESULT_PREFIX):
                loaded = json.loads(line[len(RESULT_PREFIX) :])
                break
        if loaded is None:
            proc.wait()
            tail = "".join(noise[-30:])
            raise RuntimeError(f"mlflow_side.py failed ({proc.returncode}):\n{tail}")
        say(f"    mlflow server up at {loaded['url']}")
        url, exp = loaded["url"], loaded["experiment_id"]
        runs_url = f"{url}/#/experiments/{exp}/runs"
        b = browser.launch(pw)
        try:

            def visit_origin(page: Any) -> None:
                page.goto(f"{url}/health")

            out = measure(b, MLFLOW, n, reps, visit_origin, runs_url)
            out.update(round_trips(b, MLFLOW, n, reps, visit_origin, MlflowActions(url, exp)))
            context = browser.new_context(b, MLFLOW)
            page = context.new_page()
            visit_origin(page)
            browser.clear_cache(page)
            browser.expect_next(page, f"run-{n - 1}", action=False)
            page.goto(runs_url)
            browser.painted(page)
            browser.settle(page)
            out["weights"] = {"experiment runs page": browser.weight(page)}
            context.close()
        finally:
            b.close()
        return {**out, "load": loaded}
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# shared --------------------------------------------------------------------------------------
def measure(
    b: Any, tool: browser.Tool, n: int, reps: int, enter: Any, runs_url: str
) -> dict[str, Any]:
    """First useful paint of the runs page, cold cache then warm, `reps` fresh contexts."""
    cold, warm = [], []
    newest = f"run-{n - 1}"  # both tools list the newest run first by default
    for i in range(reps):
        context = browser.new_context(b, tool)
        page = context.new_page()
        try:
            enter(page)
            browser.clear_cache(page)
            browser.expect_next(page, newest, action=False)
            page.goto(runs_url)
            cold.append(browser.painted_or_timeout(page))
            browser.settle(page)
            browser.expect_next(page, newest, action=False)
            page.reload()
            warm.append(browser.painted_or_timeout(page))
        finally:
            context.close()
        c, w = _shown(cold[-1]), _shown(warm[-1])
        say(f"    {tool.name} first paint {i + 1}/{reps}: cold {c}, warm {w}")
    return {"first_paint_cold": browser.summary(cold), "first_paint_warm": browser.summary(warm)}


def round_trips(
    b: Any, tool: browser.Tool, n: int, reps: int, enter: Any, actions: Any
) -> dict[str, Any]:
    """From the default view (newest first): sort every run by acc; then, from the default view
    again, filter (submit -> the filtered table's first row painted) and sort the filtered runs
    by acc. A measurement that paints nothing within the timeout is recorded as such (and not
    tried again: the server may still be working on it)."""
    found: dict[str, list[dict[str, Any]]] = {"sort_all": [], "filter": [], "sort": []}
    context = browser.new_context(b, tool)
    page = context.new_page()

    def start() -> None:
        browser.expect_next(page, data.newest(n), action=False)
        page.goto(actions.start)
        browser.painted(page)
        browser.settle(page)

    try:
        enter(page)
        for i in range(reps):
            if not any(s.get("timed_out") for s in found["sort_all"]):
                start()
                actions.sort(page, lambda: browser.expect_next(page, data.best(n), True))
                found["sort_all"].append(browser.painted_or_timeout(page))
            start()
            first = data.newest(n, filtered=True)
            actions.filter(page, data.FILTER, lambda f=first: browser.expect_next(page, f, True))
            found["filter"].append(browser.painted_or_timeout(page))
            browser.settle(page)
            best = data.best(n, filtered=True)
            actions.sort(page, lambda b_=best: browser.expect_next(page, b_, True))
            found["sort"].append(browser.painted_or_timeout(page))
            said = ", ".join(f"{k} {_shown(v[-1])}" for k, v in found.items() if v)
            say(f"    {tool.name} round trips {i + 1}/{reps}: {said}")
    finally:
        context.close()
    return {k: browser.summary(v) for k, v in found.items()}


def _shown(sample: dict[str, Any]) -> str:
    return "timed out" if sample.get("timed_out") else f"{sample['ms']:.0f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3,000 runs, 2 reps; prints, never writes")
    ap.add_argument("--runs", type=int, default=None, help="runs in each store (100,000)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions of each measurement (5)")
    ap.add_argument("--no-mlflow", action="store_true", help="measure Relay alone")
    ap.add_argument(
        "--mlflow-api-budget",
        type=float,
        default=300.0,
        help="seconds MLflow's public API may spend logging runs before the rest are inserted "
        "in bulk (default 300)",
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="print (and, for a full run's benchmarks/.work/ui-full.json, write) the section "
        "from saved results; measure nothing",
    )
    args = ap.parse_args()
    if args.render:
        saved = json.loads(args.render.read_text())
        section, missed = render(saved, TARGET_MS)
        say(section)
        if saved["meta"]["full"]:
            harness.write_section("ui", section)
        return 1 if missed and args.strict else 0
    n = args.runs or (3000 if args.quick else 100_000)
    reps = args.reps or (2 if args.quick else 5)
    from playwright.sync_api import sync_playwright

    started = datetime.now(UTC)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    results: dict[str, Any] = {}
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="relay-bench-ui-") as tmp:
        results["relay"] = relay_side(pw, Path(tmp) / "relay", n, reps)
        if not args.no_mlflow:
            home = Path(tmp) / "mlflow"
            home.mkdir()
            budget = 20.0 if args.quick else args.mlflow_api_budget
            results["mlflow"] = mlflow_side(pw, home, n, reps, budget)
    results["meta"] = {
        "started": started.isoformat(),
        "duration_s": time.perf_counter() - t0,
        "command": " ".join(["python", "benchmarks/ui/run.py", *sys.argv[1:]]),
        "runs": n,
        "reps": reps,
        "full": not (args.quick or args.runs or args.reps or args.no_mlflow),
        "load_start": list(load_start),
        "machine": harness.machine(),
        "versions": versions(),
    }
    raw = HERE.parent / ".work" / ("ui-full.json" if results["meta"]["full"] else "ui-partial.json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=1))
    section, missed = render(results, TARGET_MS)
    say("\n" + section)
    if results["meta"]["full"]:
        path = harness.write_section("ui", section)
        say(f"wrote the ui section of {path.relative_to(ROOT)}")
    else:
        say("(benchmarks/RESULTS.md left unchanged: only a full run writes it)")
    if missed:
        say("targets missed: " + "; ".join(missed))
    return 1 if missed and args.strict else 0


def versions() -> dict[str, str]:
    import importlib.metadata as md

    import relayml

    out = {"relay": relayml.__version__, "playwright": md.version("playwright")}
    mlflow_py = HERE.parent / ".venvs" / "mlflow" / "bin" / "python"
    if mlflow_py.exists():
        probe = "import importlib.metadata as m; print(m.version('mlflow'))"
        done = subprocess.run([str(mlflow_py), "-c", probe], capture_output=True, text=True)
        out["mlflow"] = done.stdout.strip()
    return out


if __name__ == "__main__":
    sys.exit(main())
