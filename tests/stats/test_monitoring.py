"""Monitoring statistics: windows merge to the whole, the label-free estimate tracks the realised
performance, planted shifts are flagged and clean windows are not, alerts need persistence, and
bad input is refused with a clear message."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayml.errors import InvalidInput
from relayml.stats.assessment import FindingKind
from relayml.stats.calibration import CalibrationMap
from relayml.stats.evaluation import evaluate_classifier, evaluate_regressor
from relayml.stats.metrics import roc_auc
from relayml.stats.monitoring import (
    MonitorReference,
    PerformanceSummary,
    WindowSummary,
    assess,
    decide,
    measure,
    merge,
    persistent,
    summarise,
)
from relayml.stats.performance import binned_auc
from relayml.stats.sketch import NumericSketch, TableSketch
from relayml.stats.summarize import summarize_table
from relayml.stats.tables import resolve_kinds

CITIES = ["north", "south", "east", "west"]


def traffic(n: int, seed: int, *, shift: float = 0.0, concept: float = 1.0) -> dict[str, Any]:
    """Rows of a churn-like stream with a known truth: P(y=1 | x) = sigmoid(logit). The model's
    score is a deliberately miscalibrated monotone function of the logit (so calibration has
    work to do); ``shift`` moves x1 (covariate shift), ``concept`` scales the true relation
    (concept shift: the model's score stays, the outcomes change)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    city = rng.choice(CITIES, n, p=[0.4, 0.3, 0.2, 0.1])
    tenure = rng.integers(0, 60, n)
    logit = 1.4 * x1 - 0.8 * x2 + 0.6 * (city == "north") - 0.3
    truth = (rng.random(n) < 1.0 / (1.0 + np.exp(-concept * logit))).astype(np.int64)
    score = 1.0 / (1.0 + np.exp(-(1.3 * logit + 0.4)))
    table = pa.table(
        {
            "request_id": pa.array([f"r{seed}-{i}" for i in range(n)]),
            "x1": x1,
            "x2": x2,
            "city": city,
            "tenure": tenure,
        }
    )
    return {"table": table, "score": score, "truth": truth}


def reference_sketch(table: pa.Table) -> TableSketch:
    """What publish stores for a dataset version (its drift summary), ids marked id-like."""
    kinds, skipped = resolve_kinds(table, table.column_names)
    sketch = summarize_table(table, kinds, skipped=skipped)
    return sketch


@pytest.fixture(scope="module")
def reference() -> MonitorReference:
    ref = traffic(20_000, 1)
    return MonitorReference.build(
        reference_sketch(ref["table"]).to_dict(),
        task="binary",
        classes=[0, 1],
        probabilities=ref["score"],
        labels=ref["truth"],
    )


def _same(a: WindowSummary, b: WindowSummary) -> None:
    """Integer parts bit-exact, float moments to rounding."""
    da, db = a.to_dict(), b.to_dict()
    assert da["rows"] == db["rows"] and da["scores"] == db["scores"]
    for part in ("inputs", "outputs"):
        assert da[part]["n_rows"] == db[part]["n_rows"]
        for name, ca in da[part]["columns"].items():
            cb = db[part]["columns"][name]
            assert ca.keys() == cb.keys()
            for key, value in ca.items():
                if key in {"mean", "m2"}:
                    assert value == pytest.approx(cb[key], rel=1e-9, abs=1e-9), (name, key)
                else:
                    assert value == cb[key], (name, key)


# ---------------------------------------------------------------- merges


def test_hourly_windows_merged_into_a_day_equal_the_day_summarised_whole(reference) -> None:
    day = traffic(24_000, 2)
    whole = summarise(reference, day["table"], None, day["score"])
    hours = [
        summarise(reference, day["table"].slice(i, 1_000), None, day["score"][i : i + 1_000])
        for i in range(0, 24_000, 1_000)
    ]
    folded = hours[0]
    for h in hours[1:]:
        folded = merge(folded, h)
    _same(folded, whole)
    # any grouping: days of 6-hour blocks, in reverse order
    blocks = [hours[i : i + 6] for i in range(0, 24, 6)]
    quarter = [b[0].merge(b[1]).merge(b[2].merge(b[3].merge(b[4]))).merge(b[5]) for b in blocks]
    _same(quarter[3].merge(quarter[2]).merge(quarter[1].merge(quarter[0])), whole)
    # an empty window is the identity
    _same(merge(WindowSummary.empty(reference), whole), whole)


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 2_999), max_size=8, unique=True),
    order=st.randoms(use_true_random=False),
)
def test_any_split_and_grouping_merges_to_the_whole(reference, cuts, order) -> None:
    stream = traffic(3_000, 3, shift=0.3)
    bounds = [0, *sorted(cuts), 3_000]
    parts = [
        summarise(reference, stream["table"].slice(a, b - a), None, stream["score"][a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    while len(parts) > 1:  # merge random neighbours-or-not until one is left
        i, j = sorted(order.sample(range(len(parts)), 2))
        merged = merge(parts[i], parts[j])
        parts = [p for k, p in enumerate(parts) if k not in (i, j)] + [merged]
    _same(parts[0], summarise(reference, stream["table"], None, stream["score"]))


def test_performance_summaries_merge_exactly(reference) -> None:
    s = traffic(6_000, 4)
    whole = measure(reference, None, s["score"], s["truth"])
    parts = [
        measure(reference, None, s["score"][i : i + 1_500], s["truth"][i : i + 1_500])
        for i in range(0, 6_000, 1_500)
    ]
    merged = merge(merge(parts[0], parts[1]), merge(parts[3], parts[2]))
    assert merged.to_dict() == whole.to_dict()


def test_summaries_round_trip_through_json(reference) -> None:
    s = traffic(2_000, 5)
    window = summarise(reference, s["table"], None, s["score"])
    perf = measure(reference, None, s["score"], s["truth"])
    ref_again = MonitorReference.from_dict(json.loads(json.dumps(reference.to_dict())))
    assert ref_again.digest == reference.digest
    w_again = WindowSummary.from_dict(json.loads(json.dumps(window.to_dict())), ref_again)
    _same(w_again, window)
    p_again = PerformanceSummary.from_dict(json.loads(json.dumps(perf.to_dict())))
    assert p_again.to_dict() == perf.to_dict()
    a = assess(ref_again, w_again, p_again, min_rows=500).to_dict()
    b = assess(reference, window, perf, min_rows=500).to_dict()
    assert json.dumps(a, allow_nan=False) == json.dumps(b, allow_nan=False)


def test_the_reference_summary_is_coarsened_exactly(reference) -> None:
    """512 of the stored sketch's 2,048 edges: the counts there are the data's own counts."""
    table = traffic(20_000, 1)["table"]
    for name, coarse in reference.inputs.columns.items():
        if not isinstance(coarse, NumericSketch):
            continue
        assert coarse.edges.size <= 513
        again = summarize_table(table, {name: reference.inputs.kinds[name]}, like=reference.inputs)
        direct = again.columns[name]
        assert isinstance(direct, NumericSketch)
        assert np.array_equal(direct.cum_counts, coarse.cum_counts)
        assert np.array_equal(direct.at_edges, coarse.at_edges)
        assert (direct.below, direct.n) == (coarse.below, coarse.n)


def test_windows_store_no_raw_rows_and_stay_small(reference) -> None:
    s = traffic(50_000, 6)
    text = json.dumps(summarise(reference, s["table"], None, s["score"]).to_dict())
    assert "r6-" not in text  # no request id, no value of a row
    assert len(text) < 200_000


# ---------------------------------------------------------------- performance


def test_realised_metrics_equal_the_evaluation_within_the_stated_bound(reference) -> None:
    s = traffic(8_000, 7)
    perf = measure(reference, None, s["score"], s["truth"]).metrics()
    ev = evaluate_classifier(s["truth"], s["score"], classes=[0, 1]).metrics
    assert perf["accuracy"].value == pytest.approx(ev["accuracy"], abs=1e-12)
    assert perf["f1"].value == pytest.approx(ev["f1"], abs=1e-12)
    assert perf["log_loss"].value == pytest.approx(ev["log_loss"], abs=1e-6)
    assert abs(perf["auc"].value - ev["auc"]) <= perf["auc"].bound + 1e-12
    assert perf["auc"].bound < 0.002


def test_binned_auc_bound_holds_on_coarse_bins() -> None:
    rng = np.random.default_rng(8)
    score = rng.random(5_000)
    hit = rng.random(5_000) < score
    edges = np.linspace(0, 1, 11)
    ids = np.searchsorted(edges, score)
    pos = np.bincount(ids[hit], minlength=12).astype(float)
    neg = np.bincount(ids[~hit], minlength=12).astype(float)
    auc, bound = binned_auc(pos, neg)
    assert abs(auc - roc_auc(hit, score)) <= bound
    assert 0 < bound < 0.1


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 400),
    bins=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
)
def test_binned_auc_is_within_its_bound_of_the_exact_auc(n, bins, seed, ties) -> None:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    if ties:
        score = np.round(score, 1)
    hit = rng.random(n) < score
    edges = np.sort(rng.random(bins))
    ids = np.searchsorted(edges, score)
    pos = np.bincount(ids[hit], minlength=bins + 1).astype(float)
    neg = np.bincount(ids[~hit], minlength=bins + 1).astype(float)
    auc, bound = binned_auc(pos, neg)
    exact = roc_auc(hit, score)
    if np.isnan(exact):
        assert np.isnan(auc)
    else:
        assert abs(auc - exact) <= bound + 1e-12


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_calibration_maps_are_monotone_probabilities(n, seed) -> None:
    rng = np.random.default_rng(seed)
    score = np.round(rng.random(n), int(rng.integers(1, 4)))
    hit = rng.random(n) < score**2
    fitted = CalibrationMap.fit(score, hit)
    grid = np.linspace(-0.1, 1.1, 101)
    out = fitted(grid)
    assert np.all(np.diff(out) >= -1e-15) and out.min() >= 0 and out.max() <= 1
    # on the reference's own scores, the calibrated mean equals the observed rate (PAV's
    # blocks preserve their sums)
    assert fitted(score).mean() == pytest.approx(hit.mean(), abs=1e-9)


def test_estimate_is_close_to_realised_on_a_clean_stream(reference) -> None:
    for seed in range(10, 14):
        s = traffic(5_000, seed)
        w = summarise(reference, s["table"], None, s["score"])
        realised = measure(reference, None, s["score"], s["truth"]).metrics()
        est = w.scores.metrics() if w.scores else {}
        assert abs(est["auc"].value - realised["auc"].value) < 0.02
        assert abs(est["accuracy"].value - realised["accuracy"].value) < 0.025


def test_estimate_tracks_realised_under_covariate_shift(reference) -> None:
    """x1 moves: the true AUC and accuracy change, and the estimate follows them."""
    rows = []
    for shift in (0.0, 0.8, 1.6, -1.6):
        s = traffic(8_000, 20 + int(10 * shift), shift=shift)
        w = summarise(reference, s["table"], None, s["score"])
        realised = measure(reference, None, s["score"], s["truth"]).metrics()
        rows.append((w.scores.metrics() if w.scores else {}, realised))
    for est, real in rows:
        assert abs(est["auc"].value - real["auc"].value) < 0.02
        assert abs(est["accuracy"].value - real["accuracy"].value) < 0.02
    real_accuracy = [r["accuracy"].value for _, r in rows]
    assert max(real_accuracy) - min(real_accuracy) > 0.05  # the shift did change performance


def test_calibration_fitted_on_the_reference_fixes_a_miscalibrated_model(reference) -> None:
    s = traffic(10_000, 30)
    truth_rate = float(s["truth"].mean())
    uncalibrated = MonitorReference.build(
        reference.inputs, task="binary", classes=[0, 1], probabilities=traffic(20_000, 1)["score"]
    )
    assert not uncalibrated.calibrated and reference.calibrated
    fixed = summarise(reference, s["table"], None, s["score"]).scores
    raw = summarise(uncalibrated, s["table"], None, s["score"]).scores
    assert fixed is not None and raw is not None
    expected_rate = float(fixed.expected[0].sum()) / (1 << 24) / fixed.rows
    naive_rate = float(raw.expected[0].sum()) / (1 << 24) / raw.rows
    assert abs(expected_rate - truth_rate) < 0.015
    assert abs(naive_rate - truth_rate) > 2 * abs(expected_rate - truth_rate)


def test_multiclass_estimate_and_realised_metrics() -> None:
    rng = np.random.default_rng(40)

    def side(n: int, shift: float) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        x = rng.normal(shift, 1.0, (n, 2))
        logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]]) * 1.5
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = np.array([rng.choice(3, p=row) for row in p])
        return pa.table({"a": x[:, 0], "b": x[:, 1]}), p, np.array(["lo", "mid", "hi"])[y]

    classes = ["lo", "mid", "hi"]
    t, p, y = side(15_000, 0.0)
    ref = MonitorReference.build(
        reference_sketch(t), task="multiclass", classes=classes, probabilities=p, labels=y
    )
    t, p, y = side(6_000, 0.7)
    w = summarise(ref, t, None, p)
    perf = measure(ref, None, p, y)
    ev = evaluate_classifier(y, p, classes=classes).metrics
    real = perf.metrics()
    assert real["accuracy"].value == pytest.approx(ev["accuracy"], abs=1e-12)
    assert real["f1"].value == pytest.approx(ev["f1"], abs=1e-12)
    assert abs(real["auc"].value - ev["auc"]) <= real["auc"].bound + 1e-12
    est = w.scores.metrics() if w.scores else {}
    assert abs(est["auc"].value - ev["auc"]) < 0.02
    assert abs(est["accuracy"].value - ev["accuracy"]) < 0.02
    a = assess(ref, w, perf, min_rows=1_000)
    assert "a" in {f.subject for f in a.flagged}  # the planted input shift


def test_regressor_realised_metrics_and_a_flagged_rise_in_error() -> None:
    rng = np.random.default_rng(50)

    def side(n: int, noise: float) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        x = rng.normal(0, 1, n)
        y = 3 * x + rng.normal(0, noise, n)
        return pa.table({"x": x}), 3 * x, y

    t, pred, y = side(10_000, 1.0)
    ref = MonitorReference.build(reference_sketch(t), task="regression", predictions=pred, labels=y)
    t, pred, y = side(5_000, 1.0)
    perf = measure(ref, pred, None, y)
    ev = evaluate_regressor(y, pred).metrics
    for name in ("rmse", "mae", "r2"):
        assert perf.metrics()[name].value == pytest.approx(ev[name], rel=1e-9)
    clean = assess(ref, summarise(ref, t, pred), perf, min_rows=1_000)
    assert clean.flagged == []
    t, pred, y = side(5_000, 1.5)
    worse = assess(ref, summarise(ref, t, pred), measure(ref, pred, None, y), min_rows=1_000)
    assert [f.key for f in worse.flagged] == [
        "realised_performance:rmse",
        "realised_performance:mae",
    ]
    assert "rmse went from" in worse.flagged[0].reason


# ---------------------------------------------------------------- decisions


def test_assess_flags_a_planted_shift_and_not_a_clean_window(reference) -> None:
    clean = traffic(5_000, 60)
    a = assess(
        reference,
        summarise(reference, clean["table"], None, clean["score"]),
        measure(reference, None, clean["score"], clean["truth"]),
        min_rows=1_000,
    )
    assert a.enough_rows and a.flagged == [], [f.reason for f in a.flagged]
    assert "request_id" not in a.data.columns  # id-like, skipped as the drift engine does
    assert "request_id" in a.data.skipped
    shifted = traffic(5_000, 61, shift=1.0)
    b = assess(
        reference, summarise(reference, shifted["table"], None, shifted["score"]), min_rows=1_000
    )
    keys = {f.key for f in b.flagged}
    assert "data_drift:x1" in keys and "prediction_drift:score" in keys
    assert not keys & {"data_drift:x2", "data_drift:city", "data_drift:tenure"}
    x1 = next(f for f in b.flagged if f.subject == "x1")
    assert x1.measure == "wasserstein_norm" and x1.magnitude > 0.5 and x1.threshold == 0.05
    json.dumps(b.to_dict(), allow_nan=False)


def test_concept_shift_is_caught_by_realised_performance_only(reference) -> None:
    """The outcomes stop following the inputs as they did: the inputs and outputs look the
    same (no drift, no estimated drop), the labels show it."""
    s = traffic(6_000, 62, concept=0.2)
    a = assess(
        reference,
        summarise(reference, s["table"], None, s["score"]),
        measure(reference, None, s["score"], s["truth"]),
        min_rows=1_000,
    )
    keys = {f.key for f in a.flagged}
    assert "realised_performance:auc" in keys
    assert not any(k.startswith(("data_drift", "estimated")) for k in keys)
    auc = next(f for f in a.flagged if f.key == "realised_performance:auc")
    assert "realised auc went from" in auc.reason and auc.magnitude > 0.1
    assert a.estimation_error()["auc"] > 0.1  # the estimator's own error is visible


def test_too_few_rows_are_stated_and_decide_nothing(reference) -> None:
    s = traffic(300, 63, shift=2.0)
    a = assess(reference, summarise(reference, s["table"], None, s["score"]), min_rows=1_000)
    assert not a.enough_rows and a.flagged == []
    assert all(not f.tested for f in a.findings)
    assert "too few rows (300 < 1,000)" in a.summary()
    assert a.findings[0].reason.startswith("too few rows")


def test_persistence_gates_a_blip_and_fires_on_a_persistent_shift(reference) -> None:
    def window(seed: int, shift: float, n: int = 3_000) -> Any:
        s = traffic(n, seed, shift=shift)
        return assess(reference, summarise(reference, s["table"], None, s["score"]), min_rows=1_000)

    blip = [window(70, 0), window(71, 0), window(72, 1.0), window(73, 0), window(74, 0)]
    assert [d for d in decide(blip, k=3, n=5) if d.firing] == []
    assert not persistent([w.findings[1].flagged for w in blip], k=3, n=5)

    persistent_shift = [window(80, 0), window(81, 1.0), window(82, 1.0), window(83, 1.0)]
    firing = {d.key: d for d in decide(persistent_shift, k=3, n=5) if d.firing}
    assert "data_drift:x1" in firing
    x1 = firing["data_drift:x1"]
    assert (x1.flagged, x1.counted, x1.since) == (3, 4, 1)
    assert "x1 (data drift)" in x1.text and "3 of the last 4 windows" in x1.text
    # a quiet night (too few rows) neither counts nor clears
    quiet = [*persistent_shift, window(84, 1.0, n=200), window(85, 1.0, n=200)]
    assert "data_drift:x1" in {d.key for d in decide(quiet, k=3, n=5) if d.firing}
    # and it resolves itself once the shift is gone
    cleared = [*persistent_shift, window(86, 0), window(87, 0), window(88, 0)]
    assert "data_drift:x1" not in {d.key for d in decide(cleared, k=3, n=5) if d.firing}
    # decisions are JSON-able and work from stored findings alone
    stored = [[f.to_dict() for f in w.findings] for w in persistent_shift]
    again = decide([[type(w.findings[0]).from_dict(f) for f in fs] for w, fs in
                    zip(persistent_shift, stored, strict=True)], k=3, n=5)  # fmt: skip
    assert [d.to_dict() for d in again] == [d.to_dict() for d in decide(persistent_shift, k=3, n=5)]
    assert again[0].kind in set(FindingKind)


def test_persistent_rule() -> None:
    assert persistent([True, False, True, True], k=3, n=4)
    assert not persistent([True, False, True, True], k=3, n=3)
    assert persistent([False] * 10 + [True], k=1, n=1)
    assert not persistent([], k=1, n=3)
    for k, n in ((0, 3), (4, 3), (1, 0)):
        with pytest.raises(InvalidInput, match=r"k \(|n \(|must be a positive"):
            persistent([True], k=k, n=n)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_refused_clearly(reference) -> None:
    s = traffic(1_000, 90)
    t, p = s["table"], s["score"]
    with pytest.raises(InvalidInput, match="probabilities has 999 rows but the window has 1000"):
        summarise(reference, t, None, p[:-1])
    with pytest.raises(InvalidInput, match="predictions has 3 rows but probabilities has 1000"):
        summarise(reference, t, [0, 1, 1], p)
    bad = p.copy()
    bad[[3, 7]] = np.nan
    with pytest.raises(InvalidInput, match=r"2 row\(s\) with NaN .*rows \[3, 7\]"):
        summarise(reference, t, None, bad)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        summarise(reference, t, None, p * 3)
    with pytest.raises(InvalidInput, match="pyarrow Table or RecordBatch"):
        summarise(reference, t.to_pandas(), None, p)
    with pytest.raises(InvalidInput, match="must be numbers"):
        summarise(reference, t, None, ["high"] * 1_000)
    with pytest.raises(InvalidInput, match=r"predicted label\(s\) \[7\]"):
        summarise(reference, t, np.full(1_000, 7), p)
    with pytest.raises(InvalidInput, match=r"no column\(s\) \['x2'\]"):
        summarise(reference, t.drop_columns(["x2"]), None, p)
    as_text = t.set_column(1, "x1", pa.array([str(v) for v in t.column("x1").to_pylist()]))
    with pytest.raises(InvalidInput, match="'x1' is string in this window but numeric"):
        summarise(reference, as_text, None, p)
    with pytest.raises(InvalidInput, match=r"true label\(s\) \['yes'\]"):
        measure(reference, None, p, ["yes"] * 1_000)
    with pytest.raises(InvalidInput, match="shape"):
        summarise(reference, t, None, np.column_stack([p, p, p]))
    # a batch (RecordBatch) is as good as a table
    assert summarise(reference, t.to_batches()[0], None, p).rows == 1_000


def test_windows_of_another_reference_are_refused(reference) -> None:
    s = traffic(2_000, 91)
    other = MonitorReference.build(
        reference.inputs, task="binary", classes=[0, 1], probabilities=s["score"]
    )
    w = summarise(other, s["table"], None, s["score"])
    with pytest.raises(InvalidInput, match="different monitor references"):
        merge(w, summarise(reference, s["table"], None, s["score"]))
    with pytest.raises(InvalidInput, match="summarised on monitor reference"):
        assess(reference, w, min_rows=10)
    with pytest.raises(InvalidInput, match="made on monitor reference"):
        WindowSummary.from_dict(w.to_dict(), reference)
    with pytest.raises(InvalidInput, match="min_rows"):
        assess(other, w, min_rows=0)


def test_reference_inputs_are_checked() -> None:
    s = traffic(500, 92)
    sketch = reference_sketch(s["table"])
    with pytest.raises(InvalidInput, match="classes"):
        MonitorReference.build(sketch, task="binary", probabilities=s["score"])
    with pytest.raises(InvalidInput, match="task multiclass does not fit 2 classes"):
        MonitorReference.build(sketch, task="multiclass", classes=[0, 1], probabilities=s["score"])
    with pytest.raises(InvalidInput, match="unknown task"):
        MonitorReference.build(sketch, task="ranking", classes=[0, 1], probabilities=s["score"])
    with pytest.raises(InvalidInput, match="labels has 3 rows"):
        MonitorReference.build(
            sketch, task="binary", classes=[0, 1], probabilities=s["score"], labels=[0, 1, 1]
        )
    with pytest.raises(InvalidInput, match="drift summary"):
        MonitorReference.build({"columns": {}}, task="binary", classes=[0, 1],
                               probabilities=s["score"])  # fmt: skip
    with pytest.raises(InvalidInput, match="missing or infinite"):
        MonitorReference.build(sketch, task="regression", predictions=[1.0, np.inf])
