"""Objects that leave a mark when they are built or unpickled: proof that something ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_marker(path: str) -> None:
    Path(path).write_text("code ran")


class Boom:
    """Constructing it from saved state (as skops would) writes the marker file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __setstate__(self, state: dict[str, Any]) -> None:
        write_marker(state["path"])
        self.__dict__.update(state)


class EvilPickle:
    """Unpickling it calls write_marker."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (write_marker, (self.path,))


class MeanModel:
    """A model that is not scikit-learn: only pickle can save it."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, X: Any) -> Any:
        import numpy as np

        return np.full(len(X), self.value)


class FailingModel(MeanModel):
    def predict(self, X: Any) -> Any:
        raise RuntimeError("model broke")
