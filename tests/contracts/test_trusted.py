"""The server's allow-list of custom checks: entry points of installed packages and the
operator's RELAY_TRUSTED_CHECKS; reading it imports nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from relayml.contracts import trusted
from relayml.errors import InvalidInput


def test_installed_checks_come_from_entry_points_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "riskchecks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: riskchecks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[relayml_checks]\nfits = riskchecks.loans:payment_fits\nbad = not a reference\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(trusted.ENV, " ops.checks:luhn , ,nonsense ")
    trusted._installed.cache_clear()
    found = trusted.installed_checks()
    assert found["riskchecks.loans:payment_fits"] == "entry point fits of riskchecks"
    assert found["ops.checks:luhn"] == "RELAY_TRUSTED_CHECKS"
    assert "not a reference" not in found and "nonsense" not in found
    assert "riskchecks.loans" not in sys.modules  # listed, never imported


@pytest.mark.parametrize(
    "ref", ["os.system", "os:", ":system", "a b:c", "x" * 300 + ":f", "os:system()", "\ud800:f"]
)
def test_a_check_reference_is_module_colon_function(ref: str) -> None:
    with pytest.raises(InvalidInput, match=r"package\.module:function"):
        trusted.check_ref(ref)
