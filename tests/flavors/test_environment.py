"""The environment a model was saved in: read from installed metadata, compared on load."""

from __future__ import annotations

import json
import platform
from typing import Any

import sklearn

from relayml.flavors import Environment, Flavor, capture, compare, dump_model, load_model


def test_capture_reads_the_running_environment() -> None:
    env = capture(Flavor.SKLEARN)
    assert env.python == platform.python_version()
    assert env.packages["scikit-learn"] == sklearn.__version__
    assert {"skops", "numpy", "scipy"} <= set(env.packages)
    assert Environment.from_dict(json.loads(json.dumps(env.to_dict()))) == env


def test_compare_warns_on_what_matters() -> None:
    recorded = Environment("3.11.7", {"scikit-learn": "1.9.1", "numpy": "2.4.0", "gone": "1.0"})
    assert (
        compare(
            recorded,
            Environment("3.11.9", {"scikit-learn": "1.9.3", "numpy": "2.1.0", "gone": "1.2"}),
        )
        == []
    )
    warnings = compare(
        recorded, Environment("3.12.1", {"scikit-learn": "1.10.0", "numpy": "3.0.0"})
    )
    assert len(warnings) == 4
    assert "Python 3.11.7; this is Python 3.12.1" in warnings[0]
    assert any("gone 1.0, not installed here" in w for w in warnings)
    assert any("numpy 2.4.0; this environment has 3.0.0 (another major" in w for w in warnings)
    assert any(
        "scikit-learn 1.9.1; this environment has 1.10.0 (another minor" in w for w in warnings
    )


def test_load_reports_environment_differences(cancer_pipeline: Any) -> None:
    saved = dump_model(cancer_pipeline)
    same = load_model(
        saved.data, flavor="sklearn", digest=saved.digest, environment=saved.environment
    )
    assert same.environment_warnings == []
    old = Environment(
        saved.environment.python, {**saved.environment.packages, "scikit-learn": "0.24.2"}
    )
    moved = load_model(saved.data, flavor="sklearn", digest=saved.digest, environment=old)
    assert any("scikit-learn 0.24.2" in w for w in moved.environment_warnings)
