"""Drift as an ML engineer expects it: unknown columns name the reference's columns, ids are
not features, and CSV works like everywhere else in the CLI (issue 10, items 6-8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

import relayml.drift as drift
from relayml.cli.commands.drift import register
from relayml.errors import InvalidInput
from relayml.stats.profile import Profiler
from relayml.stats.sketch import TableSketch

N = 3_000
ID_LIKE_NOTE = "id-like (unique on every row)"


def frame(seed: int, offset: int, n: int = N) -> pd.DataFrame:
    """Stable features; ids (integer and string) that never repeat across the two sides."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": np.arange(offset, offset + n, dtype=np.int64),
            "order_key": [f"ord-{offset + i:08d}" for i in range(n)],
            "income": rng.normal(50.0, 10.0, n),  # unique floats: a measurement, not an id
            "city": rng.choice([f"c{i}" for i in range(40)], n),
            "age": rng.integers(18, 80, n),
        }
    )


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # keeps Typer from collapsing to a single command
        pass

    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ml")
    ref, cur = frame(1, 0), frame(2, 10 * N)
    out = {}
    for name, df in (("ref", ref), ("cur", cur)):
        out[name] = d / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), out[name])
        out[f"{name}_csv"] = d / f"{name}.csv"
        df.to_csv(out[f"{name}_csv"], index=False)
    return out


# item 6: an unknown --column names the reference's columns and the closest one


@pytest.mark.parametrize("kind", ["parquet", "table", "pandas", "summary"])
def test_unknown_column_lists_the_reference_columns(files, kind) -> None:
    ref_df = frame(1, 0)
    ref = {
        "parquet": str(files["ref"]),
        "table": pa.Table.from_pandas(ref_df, preserve_index=False),
        "pandas": ref_df,
        "summary": drift.summarize(ref_df),
    }[kind]
    with pytest.raises(InvalidInput) as err:
        drift.compare(ref, frame(2, 0), columns=["incme"])
    assert "[]" not in err.value.message
    assert "'income'" in err.value.message and "'city'" in err.value.message
    assert "did you mean 'income'" in err.value.message


def test_cli_unknown_column_lists_the_reference_columns(app, files) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["cur"]), "--column", "incme"]
    )
    assert isinstance(result.exception, InvalidInput)  # the real app maps it to exit code 2
    assert "it has []" not in str(result.exception)
    assert "did you mean 'income'" in str(result.exception)


# item 7: id-like columns are skipped by default, can be forced, and more can be excluded


def test_id_like_columns_are_skipped_with_a_note() -> None:
    report = drift.compare(frame(1, 0), frame(2, 10 * N))
    assert report.drifted == []
    assert set(report.columns) == {"income", "city", "age"}
    assert report.skipped == {"user_id": ID_LIKE_NOTE, "order_key": ID_LIKE_NOTE}
    assert json.loads(report.to_json())["skipped"]["user_id"] == ID_LIKE_NOTE
    assert "user_id: " + ID_LIKE_NOTE in report.to_html()
    few = drift.compare(frame(1, 0, 20), frame(2, 100, 20))
    assert "user_id" in few.columns  # 20 rows are too few to call a column an id
    ref, cur = frame(1, 0), frame(2, 10 * N)
    ref.loc[5, "user_id"] = 6  # row 6's id (offset 0) once more: not unique on every row
    assert "user_id" in drift.compare(ref, cur).columns


def test_naming_an_id_column_forces_it_and_exclude_drops_columns() -> None:
    forced = drift.compare(frame(1, 0), frame(2, 10 * N), columns=["user_id", "income"])
    assert forced.drifted == ["user_id"]
    excluded = drift.compare(frame(1, 0), frame(2, 10 * N), exclude=["city", "age"])
    assert set(excluded.columns) == {"income"}
    assert excluded.skipped["city"] == "excluded"
    with pytest.raises(InvalidInput, match="did you mean 'city'"):
        drift.compare(frame(1, 0), frame(2, 0), exclude=["cty"])


def test_ids_are_recognised_from_a_stored_profile_sketch() -> None:
    """The stored summary of a dataset version records ids from its distinct-count estimate
    (KMV beyond 4,096 values), and the recorded summary survives JSON."""
    n = 12_000
    table = pa.Table.from_pandas(frame(1, 0, n), preserve_index=False)
    profiler = Profiler(table.schema)
    for batch in table.to_batches(2_000):
        profiler.update(batch)
    profiler.start_bins()
    for batch in table.to_batches(2_000):
        profiler.update_bins(batch)
    stored = json.loads(json.dumps(profiler.sketch().to_dict()))
    assert sorted(TableSketch.from_dict(stored).id_like) == ["order_key", "user_id"]
    report = drift.compare(stored, frame(2, 10 * n, n))
    assert report.skipped == {"user_id": ID_LIKE_NOTE, "order_key": ID_LIKE_NOTE}
    assert set(report.columns) == {"income", "city", "age"}


def test_cli_skips_ids_shows_why_and_excludes(app, files, tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "drift",
            str(files["ref"]),
            str(files["cur"]),
            "--exclude",
            "age",
            "--fail-on-drift",
            "--json",
            str(js),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "id-like" in result.output
    skipped = json.loads(js.read_text())["skipped"]
    assert skipped == {"user_id": ID_LIKE_NOTE, "order_key": ID_LIKE_NOTE, "age": "excluded"}
    forced = CliRunner().invoke(
        app, ["drift", str(files["ref"]), str(files["cur"]), "--column", "user_id"]
    )
    assert forced.exit_code == 0 and "DRIFTED" in forced.output


# item 8: CSV on both sides, read as the rest of the CLI reads CSV


def test_cli_accepts_csv_on_both_sides(app, files) -> None:
    for ref, cur in (("ref_csv", "cur_csv"), ("ref", "cur_csv"), ("ref_csv", "cur")):
        result = CliRunner().invoke(
            app, ["drift", str(files[ref]), str(files[cur]), "--fail-on-drift"]
        )
        assert result.exit_code == 0, (ref, cur, result.output, result.exception)
        assert "income" in result.output


def test_csv_and_parquet_give_the_same_report(files) -> None:
    a = drift.compare(files["ref_csv"], str(files["cur_csv"]))
    b = drift.compare(str(files["ref"]), files["cur"])
    assert a.columns.keys() == b.columns.keys()
    for name in a.columns:
        assert a[name].statistics == pytest.approx(b[name].statistics)


def test_help_says_ref_can_be_a_dataset_version(app) -> None:
    result = CliRunner().invoke(app, ["drift", "--help"], terminal_width=200)
    assert "loans@3" in result.output and "CSV" in result.output


# item 3 for drift: explicit CSV types, and a type change named by column and row


@pytest.fixture
def late_text_csv(tmp_path: Path, monkeypatch) -> Path:
    """A CSV whose `zip` looks numeric for the first blocks, then holds text at data row 15000."""
    from relayml.tables import csv

    monkeypatch.setattr(csv, "CSV_BLOCK", 1 << 16)  # several blocks in a small file
    n = 20_000
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"zip": rng.integers(10_000, 10_050, n).astype(str), "x": rng.normal(0, 1, n)}
    )
    df.loc[14_999, "zip"] = "A1B"
    path = tmp_path / "late.csv"
    df.to_csv(path, index=False)
    return path


def test_csv_type_change_names_column_and_row(late_text_csv: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        drift.compare(late_text_csv, late_text_csv)
    assert "column 'zip' changed type at data row 15000" in err.value.message
    assert err.value.details["row"] == 15000


def test_explicit_dtypes_read_the_column_as_given(app, late_text_csv: Path) -> None:
    report = drift.compare(late_text_csv, late_text_csv, dtypes={"zip": "string"})
    assert report["zip"].kind.value == "categorical" and report.drifted == []
    result = CliRunner().invoke(
        app, ["drift", str(late_text_csv), str(late_text_csv), "--dtype", "zip=string"]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    with pytest.raises(InvalidInput, match="unknown type 'strng'"):
        drift.compare(late_text_csv, late_text_csv, dtypes={"zip": "strng"})
    with pytest.raises(InvalidInput, match="does not have"):
        drift.compare(late_text_csv, late_text_csv, dtypes={"zp": "string"})
