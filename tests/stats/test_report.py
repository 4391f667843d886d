"""HTML and JSON renderings of a report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import relayml.drift as drift


def test_html_is_self_contained(small_pair, tmp_path: Path) -> None:
    report = drift.compare(*small_pair)
    out = tmp_path / "drift.html"
    html = report.to_html(out)
    assert out.read_text(encoding="utf-8") == html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert html.count("<svg") == len(report.columns)
    for col in report:
        assert col.name in html
    assert "Benjamini-Hochberg" in html


def test_json_has_every_column_with_reason(small_pair, tmp_path: Path) -> None:
    report = drift.compare(*small_pair)
    data = json.loads(report.to_json(tmp_path / "drift.json"))
    assert json.loads((tmp_path / "drift.json").read_text()) == data
    assert data["drifted"] == report.drifted
    for name, col in data["columns"].items():
        assert col["reason"]
        assert col["histogram"]["reference"]
        assert col["signals"][0]["effects"][0]["threshold"] > 0, name
