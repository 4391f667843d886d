"""Golden sets as users make and read them: `relay.models.register(..., golden=...)` keeps the
input example's rows and the evaluation sample with the outputs the saved model gave on them;
`relay models register --golden`, `relay models show` and `relay models golden`; the refusals
(too many rows, rows that do not fit the signature); and `differences`, the comparison the
model-shift check uses, naming rows and outputs and honouring the tolerance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import relayml as relay
from relayml.domain.models import MAX_GOLDEN_ROWS
from relayml.errors import InvalidInput
from relayml.flavors.golden import (
    PREDICTION,
    PROBABILITIES,
    ROW,
    SOURCE,
    differences,
    read_golden,
)
from relayml.sdk import session
from tests.cli.conftest import Relay


def _frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = np.where(rng.random(n) < 0.3, "north", "south")
    y = np.where((x1 - x2 + rng.normal(scale=0.5, size=n)) > 0, "churn", "stay")
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "label": y})


def _fit(df: pd.DataFrame) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(), ["region"]))
    X = df[["x1", "x2", "region"]]
    return make_pipeline(prep, LogisticRegression()).fit(X, df["label"])


def test_register_keeps_the_example_and_the_sample_with_their_outputs(tmp_path: Path) -> None:
    relay.init("churn", home=tmp_path / ".relay")
    df = _frame()
    X = df[["x1", "x2", "region"]]
    model = _fit(df)
    mv = relay.models.register("churn", model, input_example=X[:5], golden=X[100:300])
    assert mv.golden is not None and mv.golden.rows == 205
    table = relay.models.golden("churn@1")
    assert list(table.columns) == ["x1", "x2", "region", SOURCE, ROW, PREDICTION, PROBABILITIES]
    assert table[SOURCE].tolist() == ["input_example"] * 5 + ["golden"] * 200
    assert table[ROW].tolist() == list(range(5)) + list(range(200))
    assert table[PREDICTION].tolist() == model.predict(pd.concat([X[:5], X[100:300]])).tolist()
    proba = np.stack(table[PROBABILITIES].to_numpy())
    np.testing.assert_allclose(proba[5:], model.predict_proba(X[100:300]), rtol=0, atol=1e-12)
    # the default: the input example alone (its first 1,000 rows); golden=False: none at all
    assert relay.models.register("churn", _fit(_frame(1)), input_example=X).golden.rows == 400  # type: ignore[union-attr]
    big = pd.concat([X] * 3, ignore_index=True)
    assert relay.models.register("churn", _fit(_frame(2)), input_example=big).golden.rows == 1000  # type: ignore[union-attr]
    assert relay.models.register("churn", _fit(_frame(3)), input_example=X[:5],
                                 golden=False).golden is None  # fmt: skip
    # a sample alone is the golden set and also gives the signature
    only = relay.models.register("churn", _fit(_frame(4)), golden=X[:50])
    assert only.golden is not None and only.golden.rows == 50 and only.signature is not None


def test_a_sample_too_large_or_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    relay.init("churn", home=tmp_path / ".relay")
    df = _frame(n=1200)
    X = df[["x1", "x2", "region"]]
    model = _fit(df)
    with pytest.raises(InvalidInput, match=rf"at most {MAX_GOLDEN_ROWS}.*sample"):
        relay.models.register("churn", model, input_example=X[:5], golden=X)
    with pytest.raises(InvalidInput, match=r"golden sample does not fit.*'region'"):
        relay.models.register("churn", model, input_example=X[:5], golden=X[["x1", "x2"]][:9])
    assert relay.models.list() == []  # nothing was registered


def test_differences_name_rows_and_outputs_within_the_tolerance(tmp_path: Path) -> None:
    relay.init("churn", home=tmp_path / ".relay")
    df = _frame()
    X = df[["x1", "x2", "region"]]
    mv = relay.models.register("churn", _fit(df), input_example=X[:3], golden=X[:10])
    path = tmp_path / "g.parquet"
    session.current().backend.models.download_golden("churn", "churn@1", path)
    golden = read_golden(path.read_bytes(), mv.signature)
    labels = list(golden.predictions)
    proba = golden.probabilities
    assert proba is not None and golden.classes == ["churn", "stay"]
    assert differences(golden, labels, proba, ["churn", "stay"]) == []
    nudged = proba.copy()
    nudged[4, 0] += 5e-7  # within the default 1e-6
    assert differences(golden, labels, nudged, ["churn", "stay"]) == []
    nudged[4, 0] += 1e-5
    (d,) = differences(golden, labels, nudged, ["churn", "stay"])
    assert (d.row, d.where, d.output) == (4, "row 1 of the golden sample", "probability[churn]")
    assert differences(golden, labels, nudged, ["churn", "stay"], atol=1e-3) == []
    flipped = labels.copy()
    flipped[0] = "stay" if flipped[0] == "churn" else "churn"
    (d,) = differences(golden, flipped, proba, ["churn", "stay"])
    assert (d.row, d.where, d.output, d.recorded) == (0, "row 0 of the input example",
                                                      "prediction", labels[0])  # fmt: skip
    # the classes in another order are matched by name, not position
    assert differences(golden, labels, proba[:, ::-1], ["stay", "churn"]) == []
    lost = differences(golden, labels, proba[:, :1], ["churn"])
    assert [d.output for d in lost] == ["probability[stay]"]
    with pytest.raises(InvalidInput, match="tolerance"):
        differences(golden, labels, proba, ["churn", "stay"], atol=-1)


def test_the_cli_registers_shows_and_writes_a_golden_set(tmp_path: Path) -> None:
    from relayml.flavors.formats import save_model

    home = tmp_path / ".relay"
    relay.init("default", home=home)
    cli = Relay(home)
    df = _frame()
    save_model(_fit(df), tmp_path / "m.skops")
    df[["x1", "x2", "region"]][:30].to_parquet(tmp_path / "sample.parquet")
    df[["x1", "x2", "region"]][:30].to_csv(tmp_path / "sample.csv", index=False)
    reg = cli("models", "register", "churn", str(tmp_path / "m.skops"), "--golden",
              str(tmp_path / "sample.parquet"))  # fmt: skip
    assert reg.code == 0 and "golden set of 30 rows" in reg.out, reg
    shown = cli("models", "show", "churn@1")
    assert "golden set  30 rows" in shown.out and "x1:float" in shown.out, shown
    as_json = json.loads(cli("models", "show", "churn@1", "--json").out)
    assert as_json["golden"]["rows"] == 30
    out = tmp_path / "g.parquet"
    wrote = cli("models", "golden", "churn@1", "-o", str(out))
    assert wrote.code == 0 and pq.read_table(out).num_rows == 30, wrote
    assert as_json["golden"]["digest"] == relay.models.get("churn@1").golden.digest  # type: ignore[union-attr]
    peek = cli("models", "golden", "churn@1")
    assert peek.code == 0 and "golden set of 30 rows, 3 input columns" in peek.out, peek
    assert "and 20 more" in peek.out
    csv = cli("models", "register", "churn", str(tmp_path / "m.skops"), "--golden",
              str(tmp_path / "sample.csv"))  # fmt: skip
    assert csv.code == 0, csv  # the same bytes: the same version, as before
    none = cli("models", "register", "other", str(tmp_path / "m.skops"))
    assert none.code == 0
    missing = cli("models", "golden", "other@1")
    assert missing.code != 0 and "no golden set" in missing.err, missing
    assert "Traceback" not in missing.err
