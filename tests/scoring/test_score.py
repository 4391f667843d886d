"""Batch scoring as users run it: the scored file equals the model's own predictions on the whole
table, names the version that scored it, refuses bad input naming the column, and appears whole
or not at all (an error, SIGTERM or kill -9 part-way leave no output)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import relayml as relay
from relayml.errors import InvalidInput
from relayml.scoring import METADATA_KEY
from tests.cli.conftest import Relay, one_error_line
from tests.scoring.conftest import Workspace, features, write_parquet


def stamp(path: Path) -> dict[str, object]:
    metadata = pq.read_schema(path).metadata
    assert metadata is not None
    stamped: dict[str, object] = json.loads(metadata[METADATA_KEY.encode()])
    return stamped


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_table_larger_than_a_batch_scores_as_predict_on_the_whole_frame(
    workspace: Workspace,
) -> None:
    frame = features(5_500)
    source = write_parquet(frame, workspace.root / "input.parquet", row_group=700)
    result = relay.models.score(
        "churn@staging", source, workspace.root / "scored.parquet", batch_rows=1_000
    )
    assert (result.rows, result.version.ref, result.executor) == (5_500, "churn@1", "local")
    scored = pq.read_table(result.output)
    assert scored.column_names == [
        "customer", "x1", "x2", "region", "prediction", "probability_0", "probability_1",
    ]  # fmt: skip
    X = frame[["x1", "x2"]]
    assert np.array_equal(scored["prediction"].to_numpy(), workspace.model.predict(X))
    proba = workspace.model.predict_proba(X)
    assert np.allclose(scored["probability_0"].to_numpy(), proba[:, 0], rtol=0, atol=1e-12)
    assert np.allclose(scored["probability_1"].to_numpy(), proba[:, 1], rtol=0, atol=1e-12)
    assert scored["customer"].to_pylist() == frame["customer"].tolist()  # input order kept
    # read and written a batch at a time: no row group holds more than one batch
    meta = pq.ParquetFile(result.output).metadata
    assert meta.num_row_groups == 6
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) == 1_000
    # the file says which version scored it
    assert stamp(result.output) | {"scored_at": None} == {
        "ref": "churn@staging",
        "project": "churn",
        "model": "churn",
        "version": 1,
        "digest": workspace.version.digest,
        "flavor": "sklearn",
        "prediction": "prediction",
        "classes": [0, 1],
        "scored_at": None,
        "relay_version": relay.__version__,
    }
    assert leftovers(workspace.root) == []


def test_csv_a_folder_of_parquet_and_the_columns_kept(workspace: Workspace) -> None:
    frame = features(2_300)
    expected = workspace.model.predict(frame[["x1", "x2"]])
    csv = workspace.root / "input.csv"
    frame.to_csv(csv, index=False)
    out = relay.models.score(
        "churn@1", csv, workspace.root / "from_csv.parquet", batch_rows=500,
        columns_out=["customer"],
    )  # fmt: skip
    from_csv = pq.read_table(out.output)
    assert from_csv.column_names == ["customer", "prediction", "probability_0", "probability_1"]
    assert np.array_equal(from_csv["prediction"].to_numpy(), expected)

    folder = workspace.root / "parts"
    folder.mkdir()
    write_parquet(frame.iloc[:1_000], folder / "part-0.parquet")
    write_parquet(frame.iloc[1_000:], folder / "part-1.parquet")
    out = relay.models.score(
        "churn", folder, workspace.root / "from_folder.parquet", batch_rows=600, columns_out=[]
    )
    from_folder = pq.read_table(out.output)
    assert from_folder.column_names == ["prediction", "probability_0", "probability_1"]
    assert np.array_equal(from_folder["prediction"].to_numpy(), expected)


def test_an_empty_table_gives_an_empty_scored_file(workspace: Workspace) -> None:
    source = write_parquet(features(0), workspace.root / "empty.parquet")
    result = relay.models.score("churn@1", source, workspace.root / "scored.parquet")
    scored = pq.read_table(result.output)
    assert result.rows == scored.num_rows == 0
    assert scored.schema.field("prediction").type == pa.int64()
    assert stamp(result.output)["digest"] == workspace.version.digest


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.drop(columns=["x2"]), "lacks the column(s) the model takes: 'x2' (float)"),
        (
            lambda f: f.assign(x1=f.x1.astype(str)),
            "column 'x1' of {input} holds string values (Arrow ",  # string or large_string
        ),
        (
            lambda f: f.assign(x2=np.where(np.arange(len(f)) == 2_345, np.nan, f.x2)),
            "rows 2,001-3,000 of {input}: column 'x2' has 1 null value(s) but the model's "
            "signature declares it non-nullable",
        ),
        (
            lambda f: f.assign(prediction=1),
            "{input} has column(s) 'prediction', which scoring writes; keep the other columns "
            "with --columns-out",
        ),
    ],
    ids=["missing", "mistyped", "null-in-a-later-batch", "output-name-taken"],
)
def test_bad_input_is_refused_naming_the_column_and_writes_nothing(
    workspace: Workspace, change: object, expected: str
) -> None:
    source = workspace.root / "input.parquet"
    write_parquet(change(features(4_000)), source)  # type: ignore[operator]
    dest = workspace.root / "scored.parquet"
    with pytest.raises(InvalidInput) as err:
        relay.models.score("churn@staging", source, dest, batch_rows=1_000)
    assert expected.format(input=source) in err.value.message
    assert not dest.exists()
    assert leftovers(workspace.root) == []


def test_bad_arguments_are_refused_before_any_work(workspace: Workspace) -> None:
    source = write_parquet(features(10), workspace.root / "input.parquet")
    cases = [
        ({"batch_rows": 0}, "batch_rows must be a whole number from 1"),
        ({"executor": "spark"}, "executor"),
        ({"columns_out": ["nope"]}, "--columns-out names column(s) 'nope'"),
    ]
    for options, message in cases:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            relay.models.score("churn@1", source, workspace.root / "o.parquet", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="no folder"):
        relay.models.score("churn@1", source, workspace.root / "missing" / "o.parquet")
    with pytest.raises(InvalidInput, match="is the input"):
        relay.models.score("churn@1", source, source)
    with pytest.raises(InvalidInput, match="no such file or folder"):
        relay.models.score("churn@1", workspace.root / "nope.parquet", "o.parquet")
    assert sorted(p.name for p in workspace.root.iterdir()) == [".relay", "input.parquet"]


def test_the_cli_scores_and_says_what_went_wrong(workspace: Workspace) -> None:
    frame = features(3_000)
    write_parquet(frame, workspace.root / "input.parquet")
    cli = Relay(workspace.home)
    done = cli(
        "score", "churn@staging", "input.parquet", "-o", "scored.parquet", "-p", "churn",
        "--batch-rows", "1000", "--columns-out", "customer,region", "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert done.json() | {"seconds": None} == {
        "output": "scored.parquet",
        "rows": 3_000,
        "ref": "churn@staging",
        "model": "churn",
        "version": 1,
        "digest": workspace.version.digest,
        "executor": "local",
        "seconds": None,
        "columns": ["customer", "region", "prediction", "probability_0", "probability_1"],
    }
    scored = pq.read_table(workspace.root / "scored.parquet")
    assert np.array_equal(
        scored["prediction"].to_numpy(), workspace.model.predict(frame[["x1", "x2"]])
    )
    said = cli("score", "churn@1", "input.parquet", "-o", "again.parquet", "-p", "churn")
    assert said.code == 0 and "scored 3,000 rows with churn@1" in said.out

    write_parquet(frame.drop(columns=["x1"]), workspace.root / "bad.parquet")
    bad = cli("score", "churn@1", "bad.parquet", "-o", "bad-scores.parquet", "-p", "churn")
    assert bad.code == 2
    assert "lacks the column(s) the model takes: 'x1' (float)" in one_error_line(bad)
    assert not (workspace.root / "bad-scores.parquet").exists()


def _start(workspace: Workspace, dest: str) -> subprocess.Popen[str]:
    cli = Relay(workspace.home)
    return subprocess.Popen(
        [sys.executable, "-m", "relayml.cli.app", "score", "churn@1", "big.parquet", "-o", dest,
         "-p", "churn", "--batch-rows", "200"],
        cwd=workspace.root, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _wait_for_temp(proc: subprocess.Popen[str], folder: Path) -> Path:
    """The scoring's temporary file, once it holds some batches."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        if found and found[0].stat().st_size > 0:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the scoring never started writing")


def test_sigterm_or_kill_part_way_leaves_no_output(workspace: Workspace) -> None:
    # 400,000 rows 200 at a time: 2,000 batches, seconds of work to interrupt
    write_parquet(features(400_000), workspace.root / "big.parquet", row_group=50_000)

    proc = _start(workspace, "scored.parquet")
    _wait_for_temp(proc, workspace.root)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not (workspace.root / "scored.parquet").exists()
    assert leftovers(workspace.root) == []  # removed on the way out

    proc = _start(workspace, "scored.parquet")
    temp = _wait_for_temp(proc, workspace.root)
    proc.kill()
    proc.communicate(timeout=60)
    assert not (workspace.root / "scored.parquet").exists()
    assert temp.exists()  # kill -9 runs no Python: the temporary file stays, not an output
    assert str(proc.pid) in temp.name

    # the next scoring to that output removes what the killed one left, and succeeds
    small = write_parquet(features(100), workspace.root / "small.parquet")
    relay.models.score("churn@1", small, workspace.root / "scored.parquet")
    assert pq.read_table(workspace.root / "scored.parquet").num_rows == 100
    assert leftovers(workspace.root) == []
    assert os.listdir(workspace.root)  # (the workspace itself is intact)
