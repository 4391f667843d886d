"""The environment a model was saved in, and what differs in the one loading it.

Versions come from the running interpreter and the installed distributions' metadata
(``importlib.metadata``): a few microseconds, where a pip resolver takes seconds and guesses.
"""

from __future__ import annotations

import functools
import platform
from importlib import metadata
from typing import Any

from relayml.domain.models import Environment, Flavor

FLAVOR_PACKAGES: dict[Flavor, tuple[str, ...]] = {
    Flavor.SKLEARN: ("scikit-learn", "skops", "numpy", "scipy"),
    Flavor.ONNX: ("onnxruntime", "numpy"),
    Flavor.XGBOOST: ("xgboost", "numpy"),
    Flavor.LIGHTGBM: ("lightgbm", "numpy"),
    Flavor.PICKLE: ("numpy",),
}
"""The distributions each flavor needs to load and run; the first is the flavor's library."""


# Other distributions that install the same library (recorded under the library's name).
ALIASES: dict[str, tuple[str, ...]] = {
    "xgboost": ("xgboost-cpu",),
    "onnxruntime": ("onnxruntime-gpu",),
}


@functools.lru_cache(maxsize=256)
def _version(distribution: str) -> str | None:
    """The installed version, read once per process (a scan of the installed metadata takes
    milliseconds, and what a running process has imported does not change under it)."""
    for name in (distribution, *ALIASES.get(distribution, ())):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _distribution_of(model: Any) -> str | None:
    """The installed distribution that provides ``model``'s class (for pickles)."""
    top = type(model).__module__.split(".")[0]
    names = metadata.packages_distributions().get(top, [])
    return names[0] if names else None


def capture(flavor: Flavor, model: Any = None) -> Environment:
    """The Python version and the versions of what ``flavor`` needs, as installed now. For a
    pickle, also the distribution ``model``'s class comes from (e.g. scikit-learn)."""
    wanted = list(FLAVOR_PACKAGES[flavor])
    if flavor is Flavor.PICKLE and model is not None:
        found = _distribution_of(model)
        if found and found not in wanted:
            wanted.insert(0, found)
    versions = {name: v for name in wanted if (v := _version(name)) is not None}
    return Environment(python=platform.python_version(), packages=versions)


def current(recorded: Environment) -> Environment:
    """The running environment, for the packages ``recorded`` names."""
    versions = {name: v for name in recorded.packages if (v := _version(name)) is not None}
    return Environment(python=platform.python_version(), packages=versions)


# Libraries that promise nothing across minor versions either: scikit-learn warns itself when a
# model saved by another version is loaded.
MINOR_SENSITIVE = frozenset({"scikit-learn"})


def _major(version: str) -> str:
    return version.split(".")[0]


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def compare(recorded: Environment, now: Environment) -> list[str]:
    """Warnings, one sentence each, for differences that can change what a model does: a
    package the model needs that is missing or at another major version, or another Python
    minor version (for scikit-learn, another minor version too). An empty list means nothing
    that matters differs."""
    warnings = []
    if _minor(recorded.python) != _minor(now.python):
        warnings.append(
            f"the model was saved with Python {recorded.python}; this is Python {now.python}"
        )
    for name, version in recorded.packages.items():
        here = now.packages.get(name)
        if here is None:
            warnings.append(f"the model was saved with {name} {version}, not installed here")
        elif _major(here) != _major(version) or (
            name in MINOR_SENSITIVE and _minor(here) != _minor(version)
        ):
            step = "major" if _major(here) != _major(version) else "minor"
            warnings.append(
                f"the model was saved with {name} {version}; this environment has {here} "
                f"(another {step} version: predictions may differ or fail)"
            )
    return warnings
