"""`relay drift` through Typer's test runner, on a tiny app holding only this command."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from relayml.cli.commands.drift import register

from .conftest import planted


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps Typer from collapsing to a single command
        pass

    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("drift")
    paths = {}
    for name, (seed, shifted) in {"ref": (1, False), "same": (2, False), "cur": (3, True)}.items():
        paths[name] = d / f"{name}.parquet"
        pq.write_table(
            pa.Table.from_pandas(planted(5_000, seed, shifted), preserve_index=False), paths[name]
        )
    return paths


def test_exit_zero_without_fail_on_drift(app, files, tmp_path: Path) -> None:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    result = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["cur"]), "--html", str(html), "--json", str(js)]
    )
    assert result.exit_code == 0, result.output
    assert "DRIFTED" in result.output
    assert html.exists() and js.exists()


def test_fail_on_drift_exits_one(app, files) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["cur"]), "--fail-on-drift"]
    )
    assert result.exit_code == 1, result.output


def test_fail_on_drift_exits_zero_when_stable(app, files) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["same"]), "--fail-on-drift"]
    )
    assert result.exit_code == 0, result.output


def test_categorical_option(app, files) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["same"]), "-c", "counts", "--column", "counts"]
    )
    assert result.exit_code == 0, result.output
    assert "categorical" in result.output


def test_missing_file_is_a_relay_error(app, files, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))  # a ref is looked up in a store
    monkeypatch.delenv("RELAY_SERVER_URL", raising=False)
    from relayml.errors import InvalidInput

    result = CliRunner().invoke(app, ["drift", "loans@3", str(files["cur"])])
    assert isinstance(result.exception, InvalidInput)
