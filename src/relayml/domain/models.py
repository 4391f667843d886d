"""What a saved model is, as values every layer can hold: its flavor (the format its bytes are
in), its signature (the input columns it takes and the output it gives) and the environment it
was saved in. No I/O and no ML library here: ``relayml.flavors`` computes these, the store and
the wire keep them as the plain dicts ``to_dict`` gives (``from_dict`` reads them back, checked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.text import check_text as _check_text
from relayml.errors import InvalidInput

MAX_COLUMNS = 100_000
MAX_NAME = 256
MAX_CLASSES = 100_000

Label = int | float | str | bool


class Flavor(StrEnum):
    """The format a model's bytes are in, which says how Relay loads it."""

    SKLEARN = "sklearn"  # scikit-learn estimators and pipelines, saved with skops
    ONNX = "onnx"  # an ONNX graph, run by onnxruntime
    XGBOOST = "xgboost"  # XGBoost's own JSON format
    LIGHTGBM = "lightgbm"  # LightGBM's own text format
    PICKLE = "pickle"  # anything else; runs code on load, so only with unsafe_pickle=True

    @property
    def runs_code_on_load(self) -> bool:
        return self is Flavor.PICKLE


class ColumnType(StrEnum):
    """The closed vocabulary of input column types a signature declares."""

    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    STRING = "string"
    DATETIME = "datetime"


class OutputKind(StrEnum):
    LABEL = "label"  # one class per row (classifiers)
    PROBABILITIES = "probabilities"  # a probability per class per row
    VALUE = "value"  # a number (or numbers) per row (regressors, scores)


def _check_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidInput(
            f"{what} {name!r} is not a valid name: use a non-empty string of at most "
            f"{MAX_NAME} characters without NUL"
        )
    return name


def _check_bool(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, its type, and whether it may hold nulls (NaN counts)."""

    name: str
    type: ColumnType
    nullable: bool = False

    def __post_init__(self) -> None:
        _check_name("column name", self.name)
        object.__setattr__(self, "type", parse_enum(ColumnType, "column type", self.type))
        _check_bool(f"column {self.name!r} nullable", self.nullable)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "nullable": self.nullable}

    @classmethod
    def from_dict(cls, data: object) -> ColumnSpec:
        if not isinstance(data, dict) or set(data) != {"name", "type", "nullable"}:
            raise InvalidInput(
                f"a signature column must be an object with name, type and nullable, not {data!r}"
            )
        return cls(name=data["name"], type=data["type"], nullable=data["nullable"])


@dataclass(frozen=True)
class OutputSpec:
    """What ``predict`` gives per row: its kind, its element type, its shape per row (``()``
    for one value per row, ``(3,)`` for three) when known, and the classes of a classifier
    (in the order its probabilities come in) when known."""

    kind: OutputKind
    dtype: ColumnType
    shape: tuple[int, ...] | None = ()
    classes: tuple[Label, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_enum(OutputKind, "output kind", self.kind))
        object.__setattr__(self, "dtype", parse_enum(ColumnType, "output dtype", self.dtype))
        if self.shape is not None:
            shape = tuple(self.shape) if isinstance(self.shape, list | tuple) else None
            if shape is None or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
            ):
                raise InvalidInput(
                    f"output shape must be a list of non-negative integers, not {self.shape!r}"
                )
            object.__setattr__(self, "shape", shape)
        if self.classes is not None:
            classes = tuple(self.classes) if isinstance(self.classes, list | tuple) else None
            if classes is None or not all(isinstance(c, Label) for c in classes):
                raise InvalidInput(
                    f"output classes must be a list of numbers, strings or booleans, "
                    f"not {self.classes!r}"
                )
            if len(classes) > MAX_CLASSES or len(set(classes)) != len(classes):
                raise InvalidInput(
                    f"output classes must be distinct and at most {MAX_CLASSES}: {classes[:10]!r}"
                )
            object.__setattr__(self, "classes", classes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "dtype": self.dtype.value,
            "shape": None if self.shape is None else list(self.shape),
            "classes": None if self.classes is None else list(self.classes),
        }

    @classmethod
    def from_dict(cls, data: object) -> OutputSpec:
        if not isinstance(data, dict) or not {"kind", "dtype"} <= set(data) <= {
            "kind",
            "dtype",
            "shape",
            "classes",
        }:
            raise InvalidInput(
                f"a signature output must be an object with kind, dtype, shape and classes, "
                f"not {data!r}"
            )
        return cls(
            kind=data["kind"],
            dtype=data["dtype"],
            shape=data.get("shape"),
            classes=data.get("classes"),
        )


@dataclass(frozen=True)
class Signature:
    """The columns a model takes, in the order it takes them, and the output it gives.

    ``relayml.flavors.enforce`` checks input against it before every prediction.
    """

    inputs: tuple[ColumnSpec, ...]
    output: OutputSpec

    def __post_init__(self) -> None:
        inputs = tuple(self.inputs) if isinstance(self.inputs, list | tuple) else None
        if inputs is None or not all(isinstance(c, ColumnSpec) for c in inputs):
            raise InvalidInput("signature inputs must be a list of ColumnSpec")
        if not inputs or len(inputs) > MAX_COLUMNS:
            raise InvalidInput(f"a signature needs 1 to {MAX_COLUMNS} input columns")
        seen: set[str] = set()
        for col in inputs:
            if col.name in seen:
                raise InvalidInput(f"signature column {col.name!r} appears twice; rename one")
            seen.add(col.name)
        if not isinstance(self.output, OutputSpec):
            raise InvalidInput("signature output must be an OutputSpec")
        object.__setattr__(self, "inputs", inputs)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.inputs]

    def column(self, name: str) -> ColumnSpec:
        for col in self.inputs:
            if col.name == name:
                return col
        raise InvalidInput(f"the signature has no column {name!r}; it has {self.names}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists and primitives: JSON as it is."""
        return {"inputs": [c.to_dict() for c in self.inputs], "output": self.output.to_dict()}

    @classmethod
    def from_dict(cls, data: object) -> Signature:
        if not isinstance(data, dict) or set(data) != {"inputs", "output"}:
            raise InvalidInput(
                f"a signature must be an object with inputs and output, not {data!r}"
            )
        if not isinstance(data["inputs"], list):
            raise InvalidInput("signature inputs must be a list of columns")
        return cls(
            inputs=tuple(ColumnSpec.from_dict(c) for c in data["inputs"]),
            output=OutputSpec.from_dict(data["output"]),
        )


@dataclass(frozen=True)
class Environment:
    """The Python version and the versions of the packages a model's flavor needs, as they were
    in the process that saved it (read from installed metadata, never by a resolver)."""

    python: str
    packages: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.python, str) or not self.python or len(self.python) > 64:
            raise InvalidInput(f"environment python must be a version string, not {self.python!r}")
        if not isinstance(self.packages, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and len(k) <= MAX_NAME and len(v) <= 64
            for k, v in self.packages.items()
        ):
            raise InvalidInput(
                "environment packages must map package names to version strings, "
                f"not {self.packages!r}"
            )
        object.__setattr__(self, "packages", dict(sorted(self.packages.items())))

    def to_dict(self) -> dict[str, Any]:
        return {"python": self.python, "packages": dict(self.packages)}

    @classmethod
    def from_dict(cls, data: object) -> Environment:
        if not isinstance(data, dict) or set(data) != {"python", "packages"}:
            raise InvalidInput(
                f"an environment must be an object with python and packages, not {data!r}"
            )
        return cls(python=data["python"], packages=data["packages"])


# --- the registry: registered versions, aliases, promotion requests, policies ---------------

MODEL_CARD_FIELDS = (
    "intended_use",
    "out_of_scope",
    "limitations",
    "ethical_considerations",
    "risk_rating",
    "owners",
)
"""A model card's fields (Mitchell et al.): what a governance officer reads before approving."""

MAX_TEXT = 20_000
MAX_TAGS = 100


class VersionStatus(StrEnum):
    READY = "ready"
    ARCHIVED = "archived"


class RequestState(StrEnum):
    """A promotion request's life: open, then applied (approved and the alias moved, in one
    transaction), rejected or withdrawn. Only open requests are reviewed. A request a loop
    holds (`hold`) becomes `approved` when its approvals are in, and the loop then applies it
    (its canary won) or withdraws it (the canary lost, or the loop was stopped)."""

    OPEN = "open"
    APPROVED = "approved"
    APPLIED = "applied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ReviewKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    COMMENT = "comment"
    WITHDRAW = "withdraw"


class Evidence(StrEnum):
    """What a promotion request carries, computed when it opens."""

    LOAD_CHECK = "load_check"  # the artifact verifies and loads in the server's environment
    DATA_CHECKS = "data_checks"  # every dataset the run used was valid, or released with a reason
    EVALUATION = "evaluation"  # candidate and holder on the same evaluation dataset version
    REQUIREMENTS = "requirements"  # the stakeholders' metric floors (and ceilings)
    IMPROVEMENT = "improvement"  # the policy's minimum improvement over the current holder
    MODEL_CARD = "model_card"  # the card's required fields are filled


def check_text(what: str, value: object, limit: int = MAX_TEXT) -> str:
    return _check_text(what, value, limit)


def check_tags(tags: object) -> dict[str, str]:
    if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
        raise InvalidInput(f"tags must map at most {MAX_TAGS} names to text, not {tags!r:.80}")
    out: dict[str, str] = {}
    for k, v in tags.items():
        _check_name("tag name", k)
        out[k] = check_text(f"tag {k!r}", v if isinstance(v, str) else str(v), 5000)
    return out


MAX_GOLDEN_ROWS = 1_000
"""The most rows of a golden set given at registration (``golden=``); the input example adds
its own first rows, at most as many again."""
MAX_GOLDEN_BYTES = 16 * 1024 * 1024
"""The largest golden-set file the registry keeps."""


@dataclass(frozen=True)
class GoldenSet:
    """A version's golden set: input rows (its input example, and an evaluation sample when one
    was given) with the outputs the model gave on them at registration, kept as a Parquet blob
    (``relayml.flavors.golden`` writes and reads it). Replaying it through a live server shows
    whether what serves still behaves like what was registered."""

    digest: str  # sha256 of the Parquet file
    rows: int
    size: int  # bytes


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: the artifact's digest and how to load it, what it takes and
    gives, where it came from, its golden set, and the aliases that point at it now."""

    project: str
    name: str
    version: int
    digest: str
    size: int
    flavor: Flavor
    signature: Signature | None
    environment: Environment
    run_id: str | None
    unsafe_pickle: bool
    status: VersionStatus
    description: str
    tags: dict[str, str]
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = ()
    golden: GoldenSet | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ModelInfo:
    project: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    versions: int
    latest: int | None
    aliases: dict[str, int]


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias, as `relay models history` shows it: who put which version there,
    when, why, and through which promotion request (None: set directly, unprotected)."""

    project: str
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    by: str
    at: datetime
    reason: str
    request_id: str | None


@dataclass(frozen=True)
class Requirement:
    """A metric bound a stakeholder sets on a model: every promotion's evaluation must meet it."""

    project: str
    model: str
    metric: str
    min: float | None
    max: float | None
    set_by: str
    set_at: datetime

    def check(self, value: float | None) -> tuple[bool, str]:
        bound = " and ".join(
            b
            for b in (
                f">= {self.min:g}" if self.min is not None else "",
                f"<= {self.max:g}" if self.max is not None else "",
            )
            if b
        )
        if value is None or value != value:
            return False, f"{self.metric} was not measured (required {bound})"
        ok = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        return ok, f"{self.metric} = {value:.4g} (required {bound})"


@dataclass(frozen=True)
class EvidenceItem:
    name: Evidence
    ok: bool
    required: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    user: str
    kind: ReviewKind
    text: str
    at: datetime
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromotionRequest:
    id: str
    project: str
    model: str
    version: int
    alias: str
    state: RequestState
    requester: str
    note: str
    created_at: datetime
    holder_version: int | None
    policy_version: int
    evidence: tuple[EvidenceItem, ...]
    reviews: tuple[Review, ...] = ()
    decided_by: str | None = None
    decided_at: datetime | None = None
    override_reason: str | None = None
    hold: str | None = None  # "loop:RUN_ID": approval does not move the alias; the loop does

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def failed_evidence(self) -> list[EvidenceItem]:
        return [e for e in self.evidence if e.required and not e.ok]

    @property
    def approvals(self) -> list[Review]:
        return [r for r in self.reviews if r.kind is ReviewKind.APPROVE]


@dataclass(frozen=True)
class ModelCard:
    model: str
    fields: dict[str, str]
    revision: int
    updated_by: str | None
    updated_at: datetime | None

    def missing(self, required: tuple[str, ...]) -> list[str]:
        return [f for f in required if not (self.fields.get(f) or "").strip()]


@dataclass(frozen=True)
class InboxItem:
    """Something that waits for the caller's roles: a promotion request to review
    (`promotion_request`), a dataset version in quarantine (`quarantined_dataset`), a monitor's
    live alert (`alert`: its id, with its severity)."""

    kind: str
    project: str
    id: str
    title: str
    created_at: datetime
    by: str
    severity: str | None = None  # alerts: warning or critical
