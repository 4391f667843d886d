"""What `relay monitors show` and `history` print in their estimated/realised columns: a
classifier's headline metric, and a regressor's MAE beside its RMSE (both are estimated
without labels and both realised once labels arrive)."""

from __future__ import annotations

from relayml.cli.commands.monitors import _metric


def test_a_classifier_shows_its_auc_and_a_regressor_both_errors() -> None:
    classifier = {"estimated": {"auc": {"value": 0.91}, "accuracy": {"value": 0.8}}}
    assert _metric(classifier, "estimated") == "auc 0.9100"
    regressor = {
        "estimated": {"rmse": {"value": 1.5}, "mae": {"value": 1.25}},
        "realised": {"mae": {"value": "NaN"}},
    }
    assert _metric(regressor, "estimated") == "mae 1.2500, rmse 1.5000"
    assert _metric(regressor, "realised") == "mae -"
    assert _metric(None, "estimated") == "-" and _metric({}, "realised") == "-"
