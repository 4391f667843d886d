"""The browser harness every browser test shares (its fixtures are in conftest.py): one
Chromium per session (Playwright driving Debian's package), a signed-in tab per role that
screenshots each page it checks under pytest's base temp (`ui-screenshots/`), runs axe-core on it
(no serious or critical violation) and fails on any JavaScript console error or uncaught
exception (a Content-Security-Policy violation is one).

axe-core is vendored as one file (tests/ui/axe.min.js, axe-core 4.14.1 from the npm registry,
MPL-2.0, its licence header kept) and evaluated in the page through the DevTools protocol, so the
page's own policy (script-src 'self') stays in force for everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import PROJECT, UiWorld

CHROMIUM = Path("/usr/bin/chromium")
AXE = (Path(__file__).parent / "axe.min.js").read_text()
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium package (.ci/run installs it)"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api", reason="the ui extra (Playwright)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM))
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.getbasetemp() / "ui-screenshots"
    where.mkdir(exist_ok=True)
    return where


class Visit:
    """One signed-in browser tab that records console errors and checks every page it sees."""

    def __init__(self, page: Any, shots: Path, role: str) -> None:
        self.page, self.shots, self.role = page, shots, role
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.count = 0

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        self.count += 1
        page.screenshot(
            path=str(self.shots / f"{self.role}-{self.count:02d}-{name}.png"), full_page=True
        )
        page.evaluate(AXE + "\nundefined")
        result = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name} ({page.url}): accessibility violations {bad}"
        assert not self.errors, f"{name} ({page.url}): console errors {self.errors}"


@pytest.fixture
def visit(browser: Any, ui_world: UiWorld, shots: Path) -> Iterator[Any]:
    contexts = []

    def start(role: str, width: int = 1280) -> Visit:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        v = Visit(context.new_page(), shots, role)
        token = ui_world.admin_token if role == "admin" else ui_world.tokens[role]
        v.page.goto(f"{ui_world.url}/")
        v.page.wait_for_url("**/login**")
        v.check("sign-in")
        v.page.get_by_label("Token").fill(token)
        v.page.get_by_role("button", name="Sign in").click()
        v.page.wait_for_url(f"**/p/{PROJECT}/")
        assert v.page.get_by_role("heading", name="Inbox").is_visible()
        return v

    yield start
    for context in contexts:
        context.close()
