"""Measuring pages in Chromium (Playwright driving Debian's /usr/bin/chromium), the same way for
Relay and MLflow.

**When a table is painted.** A script installed before any page script (`add_init_script`)
watches the document with a MutationObserver for the table's first row, and accepts it only when
that row names the run the view must start with (an element of the row whose whole text is the
run's name), so a loading placeholder or the previous table does not count. At that moment it
marks the row and its descendants with `elementtiming`, so Chromium's Element Timing API reports
when the row's text was first painted; where it does not (a table that updates rows it had
already painted, as MLflow's grid does), the time is the end of the first frame after the row
was in the document (requestAnimationFrame, then a task). Both are in epoch milliseconds
(`performance.timeOrigin + ...`), so a time in one document compares with one in the next.

**From when.** A first paint counts from the navigation's start (`performance.timeOrigin` of the
new document). A round trip counts from the user's action in the page: the first click, Enter
or form submit after the benchmark armed it (a capture-phase listener stores the time in
sessionStorage, which the next document of the tab still reads).
"""

from __future__ import annotations

import contextlib
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 120_000

WATCH = """
(() => {
  const ROW = %(row)s;
  const S = sessionStorage;
  const now = () => performance.timeOrigin + performance.now();
  const state = {done: false, elementTimes: []};
  window.__bench = state;
  const mark = () => {
    if (S.getItem('bench-armed') === '1' && !S.getItem('bench-t0')) {
      S.setItem('bench-t0', String(now()));
    }
  };
  addEventListener('click', mark, true);
  addEventListener('keydown', (e) => { if (e.key === 'Enter') mark(); }, true);
  addEventListener('submit', mark, true);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.identifier !== 'bench-row') continue;
        state.elementTimes.push(performance.timeOrigin + (e.renderTime || e.loadTime));
      }
    }).observe({type: 'element', buffered: true});
  } catch (e) {}
  const check = () => {
    if (state.done) return;
    const expect = S.getItem('bench-expect');
    if (!expect) return;
    const armed = S.getItem('bench-armed') === '1';
    if (armed && !S.getItem('bench-t0')) return;  // the action has not happened yet
    const row = document.querySelector(ROW);
    if (!row) return;
    const named = (el) => el.children.length === 0 && el.textContent.trim() === expect;
    if (!named(row) && !Array.from(row.querySelectorAll('*')).some(named)) return;
    state.done = true;
    state.t0 = armed ? Number(S.getItem('bench-t0')) : performance.timeOrigin;
    state.inDocument = now();
    for (const el of [row, ...row.querySelectorAll('*')]) {
      el.setAttribute('elementtiming', 'bench-row');
    }
    requestAnimationFrame(() => setTimeout(() => { state.frame = now(); }, 0));
  };
  new MutationObserver(check).observe(
    document, {childList: true, subtree: true, characterData: true});
})();
"""

RESULT = """() => {
  const s = window.__bench;
  if (!s || !s.done || s.frame === undefined) return null;
  // Element Timing entries arrive after the frame is presented: give them half a second
  const since = performance.timeOrigin + performance.now() - s.frame;
  if (!s.elementTimes.length && since < 500) return null;
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const painted = s.elementTimes.length ? Math.min(...s.elementTimes) : s.frame;
  return {
    ms: painted - s.t0,
    how: s.elementTimes.length ? 'element timing' : 'next frame',
    in_document_ms: s.inDocument - s.t0,
    response_start_ms: nav ? nav.responseStart : null,
    response_end_ms: nav ? nav.responseEnd : null,
    dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
    fcp_ms: fcp ? fcp.startTime : null,
  };
}"""

WEIGHT = """() => {
  const kinds = {};
  const add = (kind, e) => {
    const k = kinds[kind] || (kinds[kind] = {count: 0, transferred: 0, decoded: 0});
    k.count += 1; k.transferred += e.transferSize; k.decoded += e.decodedBodySize;
  };
  for (const e of performance.getEntriesByType('navigation')) add('html', e);
  for (const e of performance.getEntriesByType('resource')) {
    const path = new URL(e.name).pathname;
    let kind = 'other';
    if (/\\.m?js$/.test(path) || e.initiatorType === 'script') kind = 'script';
    else if (/\\.css$/.test(path) || e.initiatorType === 'link') kind = 'style';
    else if (/\\.(woff2?|ttf|otf)$/.test(path)) kind = 'font';
    else if (/\\.(png|svg|jpe?g|gif|ico|webp)$/.test(path)) kind = 'image';
    else if (e.initiatorType === 'img') kind = 'image';
    else if (['fetch', 'xmlhttprequest'].includes(e.initiatorType)) kind = 'data (XHR)';
    add(kind, e);
  }
  return kinds;
}"""


@dataclass
class Tool:
    """How to find the first row of one tool's runs table."""

    name: str
    row_selector: str
    context_args: dict[str, Any] = field(default_factory=dict)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM))


def new_context(browser: Any, tool: Tool) -> Any:
    context = browser.new_context(viewport=VIEWPORT, **tool.context_args)
    context.add_init_script(WATCH % {"row": json.dumps(tool.row_selector)})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def clear_cache(page: Any) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.clearBrowserCache")
    cdp.detach()


def expect_next(page: Any, run_name: str, action: bool) -> None:
    """What the next table must start with; `action`: timed from the next click/Enter/submit
    (else from the next navigation's start)."""
    page.evaluate(
        """([name, armed]) => {
            sessionStorage.setItem('bench-expect', name);
            sessionStorage.setItem('bench-armed', armed ? '1' : '0');
            sessionStorage.removeItem('bench-t0');
            if (window.__bench) window.__bench.done = false, window.__bench.elementTimes = [],
                delete window.__bench.frame;
        }""",
        [run_name, action],
    )


def painted(page: Any) -> dict[str, Any]:
    handle = page.wait_for_function(RESULT, timeout=TIMEOUT_MS, polling=50)
    result: dict[str, Any] = handle.json_value()
    page.evaluate("() => sessionStorage.removeItem('bench-expect')")
    return result


def painted_or_timeout(page: Any) -> dict[str, Any]:
    """`painted`, or `{"timed_out": True}` when no such table was painted in TIMEOUT_MS."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return painted(page)
    except PlaywrightTimeout:
        return {"timed_out": True, "timeout_ms": TIMEOUT_MS}


def weight(page: Any) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = page.evaluate(WEIGHT)
    return found


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the samples that painted; how many timed out."""
    done = [s for s in samples if not s.get("timed_out")]
    ms = [s["ms"] for s in done]
    return {
        "median_ms": statistics.median(ms) if ms else None,
        "all_ms": ms,
        "timed_out": len(samples) - len(done),
        "timeout_ms": TIMEOUT_MS,
        "how": sorted({s["how"] for s in done}),
        "median_in_document_ms": (
            statistics.median(s["in_document_ms"] for s in done) if done else None
        ),
        "samples": samples,
    }


def settle(page: Any, most_ms: int = 5000) -> None:
    """Let the page finish its requests (MLflow's page keeps polling, so at most `most_ms`)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=most_ms)
