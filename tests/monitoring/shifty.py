"""A preprocessing step whose behaviour depends on where it runs: it multiplies its input by
``$SHIFTY_SCALE`` (1 when unset) when it transforms, as a step reading a unit, a lookup file or
a feature flag from its environment would. Saved as a pickle, the same bytes (the same sha256)
behave differently on a server where the variable is set: a model shift only a replay sees."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class EnvScaled(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    def fit(self, X: Any, y: Any = None) -> EnvScaled:
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X, dtype=np.float64) * float(os.environ.get("SHIFTY_SCALE", "1"))
