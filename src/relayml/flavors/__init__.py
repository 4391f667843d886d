"""Models as safe artifacts: flavors, signatures, environments.

``dump_model``/``save_model`` turn a model into bytes in a format that cannot run code on load
(skops for scikit-learn, ONNX; pickle only with ``unsafe_pickle=True``), with its sha256, its
signature and its environment; ``load_model`` verifies the digest and the types before it
builds anything, and returns a ``LoadedModel`` whose ``predict`` checks input against the
signature. Heavy libraries (pandas, scikit-learn, skops, onnxruntime) load on first use.
"""

from relayml.domain.models import (
    ColumnSpec,
    ColumnType,
    Environment,
    Flavor,
    OutputKind,
    OutputSpec,
    Signature,
)
from relayml.flavors.adapters import detect_flavor
from relayml.flavors.environment import capture, compare
from relayml.flavors.formats import LoadedModel, SavedModel, dump_model, load_model, save_model
from relayml.flavors.signature import enforce, infer_signature
from relayml.flavors.trust import TRUSTED_PACKAGES

__all__ = [
    "TRUSTED_PACKAGES",
    "ColumnSpec",
    "ColumnType",
    "Environment",
    "Flavor",
    "LoadedModel",
    "OutputKind",
    "OutputSpec",
    "SavedModel",
    "Signature",
    "capture",
    "compare",
    "detect_flavor",
    "dump_model",
    "enforce",
    "infer_signature",
    "load_model",
    "save_model",
]
