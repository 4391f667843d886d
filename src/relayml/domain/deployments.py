"""Deployments: what a model server serves, by name, and the rules that split its traffic.

A deployment follows an alias (``churn@production``: whatever version the alias points to now)
or pins a version (``churn@3``). Its traffic rules may send a share of live requests to a
canary (``churn@4``, sticky by a request key) and mirror every request to a shadow whose answers
are recorded, never returned. Both name versions of the deployment's own model. What a server
must serve at a moment is a `Resolution`: each arm with its exact version and digest.

No I/O here: the checks every layer shares, and `choose_arm`, which the model server calls per
request (so it is cheap and the same in every process: a sticky key hashes with sha256, never
with Python's salted ``hash``).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from relayml.domain.artifacts import check_digest, check_logical_path
from relayml.domain.identity import check_name
from relayml.domain.models import AliasMove
from relayml.domain.refs import Ref, parse_ref
from relayml.domain.text import check_text
from relayml.errors import InvalidInput

MAX_REASON = 2000
MAX_COMMENT = 5000
MAX_LABEL = 1000
MAX_SEGMENT_URI = 1024
MAX_FEEDBACK_IDS = 10_000
GOLDEN_REQUEST_PREFIX = "relay-golden-"
"""The request id of a golden-set replay (a model-shift check): its rows are in the prediction
log like any request's, and monitors leave them out of their windows (they are not traffic)."""
INT64_MAX = 2**63 - 1

_STICKY_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_PREDICTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_SERVER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_SEGMENT_URI = re.compile(r"^[A-Za-z0-9._/-]+\Z")


class ArmRole(StrEnum):
    """What an arm of a deployment does with the requests it sees."""

    PRIMARY = "primary"  # answers the traffic the canary does not take
    CANARY = "canary"  # answers its share of live traffic
    SHADOW = "shadow"  # sees every request; its answers are recorded, never returned


class DeploymentStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"  # kept with its history; refuses every change and resolves to nothing


class DeploymentAction(StrEnum):
    """What a change in a deployment's history did."""

    CREATE = "create"
    SET_TARGET = "set_target"
    SET_TRAFFIC = "set_traffic"
    PROMOTE_CANARY = "promote_canary"
    ROLLBACK = "rollback"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class TrafficRules:
    """How live traffic splits: ``canary_percent`` % to ``canary`` (the rest to the primary),
    sticky by ``sticky_key`` when given; every request mirrored to ``shadow`` when given.
    Refs are kept as written (``churn@4``, ``churn@staging``); aliases resolve when served."""

    canary: str | None = None
    canary_percent: float = 0.0
    sticky_key: str | None = None
    shadow: str | None = None

    @property
    def empty(self) -> bool:
        return self.canary is None and self.shadow is None


@dataclass(frozen=True)
class Deployment:
    id: str
    project: str
    name: str
    target: str  # "churn@production" follows the alias; "churn@3" is pinned
    model: str
    traffic: TrafficRules
    revision: int  # 1 on create, +1 on every change
    status: DeploymentStatus
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    unsafe_pickle: bool = False  # the creator's consent to serve versions saved as pickle

    @property
    def pinned(self) -> bool:
        return target_ref(self.target).version is not None

    @property
    def active(self) -> bool:
        return self.status is DeploymentStatus.ACTIVE


@dataclass(frozen=True)
class ServedArm:
    """One arm as a server must serve it now: the exact version and digest behind its ref."""

    role: ArmRole
    ref: str  # as written in the target or the rules
    model: str
    version: int
    digest: str
    flavor: str
    weight: float  # percent of live traffic this arm answers; a shadow's is 0


@dataclass(frozen=True)
class Resolution:
    """What a model server polls: the versions each arm of a deployment serves now."""

    deployment: str
    project: str
    revision: int
    arms: tuple[ServedArm, ...]
    resolved_at: datetime
    sticky_key: str | None = None
    unsafe_pickle: bool = False  # the deployment allows loading pickle versions

    def arm(self, role: ArmRole) -> ServedArm | None:
        for a in self.arms:
            if a.role is role:
                return a
        return None

    @property
    def weights(self) -> list[tuple[ArmRole, float]]:
        """The live arms' shares, in the order `choose_arm` takes them."""
        return [(a.role, a.weight) for a in self.arms if a.weight > 0]


@dataclass(frozen=True)
class DeploymentState:
    """A deployment's target and rules at one moment, with the primary version it served then
    (None: the alias pointed nowhere, or the deployment was archived)."""

    target: str
    traffic: TrafficRules
    primary_version: int | None
    status: DeploymentStatus = DeploymentStatus.ACTIVE


@dataclass(frozen=True)
class DeploymentChange:
    deployment: str
    revision: int
    action: DeploymentAction
    who: str
    at: datetime
    reason: str
    before: DeploymentState | None  # None on create
    after: DeploymentState


@dataclass(frozen=True)
class LogSegment:
    """One Parquet file of a deployment's prediction log, as a server registered it."""

    id: str
    deployment: str
    project: str
    uri: str  # relative to the artifact store: serving/<project>/<deployment>/...
    digest: str
    records: int
    first_at: datetime
    last_at: datetime
    server_id: str
    registered_at: datetime


FeedbackLabel = str | int | float | bool | None


@dataclass(frozen=True)
class Feedback:
    prediction_id: str
    deployment: str
    project: str
    label: FeedbackLabel
    outcome: float | None
    comment: str | None
    who: str
    at: datetime


@dataclass(frozen=True)
class FeedbackItem:
    """One prediction's feedback in a batch (labels that arrive late come in thousands)."""

    prediction_id: str
    label: FeedbackLabel = None
    outcome: float | None = None
    comment: str | None = None


@dataclass(frozen=True)
class FeedbackBatch:
    """What a batch of feedback did: how many predictions got their first feedback, how many
    had theirs replaced, and the sha256 of the batch as recorded (the audit event carries it)."""

    deployment: str
    project: str
    added: int
    replaced: int
    sha256: str


# --- checks -----------------------------------------------------------------------------------


def check_deployment_name(name: object) -> str:
    return check_name("deployment", name)  # type: ignore[arg-type]


def check_bool(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false, not {value!r:.40}")
    return value


def check_reason(reason: object) -> str:
    if reason is None:
        return ""
    return check_text("reason", reason, MAX_REASON)


def target_ref(text: object) -> Ref:
    """A deployment's target or an arm's ref: a version (``churn@3``) or an alias
    (``churn@production``). ``churn`` and ``churn@latest`` are refused: they would serve
    whatever is registered next, with no review."""
    ref = parse_ref(text, kind="model", aliases=True)
    if ref.latest:
        raise InvalidInput(
            f"a deployment serves a pinned version or follows an alias, not {text!r}: write "
            f"{ref.name}@3 to pin version 3 or {ref.name}@production to follow the alias "
            "(latest would serve whatever is registered next, unreviewed)"
        )
    return ref


def _arm_ref(what: str, model: str, text: object) -> str:
    ref = target_ref(text)
    if ref.name != model:
        raise InvalidInput(
            f"the {what} {text!r} names model {ref.name!r}, but the deployment serves "
            f"{model!r}: a {what} must be a version or alias of {model!r} (e.g. {model}@4)"
        )
    return str(ref)


def check_percent(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"canary percent must be a number, not {value!r:.40}")
    p = float(value)
    if not math.isfinite(p) or not 0 < p < 100:
        raise InvalidInput(
            f"canary percent {value!r:.40} is out of range: give a number above 0 and below "
            "100 (to send everything to the canary, promote it: relay deployments promote-canary)"
        )
    return p


def check_traffic(
    target: str,
    *,
    canary: object = None,
    canary_percent: object = 0.0,
    sticky_key: object = None,
    shadow: object = None,
) -> TrafficRules:
    """Traffic rules for a deployment of ``target``, checked: refs normalised and of the same
    model, a canary with its percent (and a percent only with a canary), a sticky key only
    with a canary, no arm equal to another."""
    primary = target_ref(target)
    model = primary.name
    canary_ref = None if canary is None else _arm_ref("canary", model, canary)
    shadow_ref = None if shadow is None else _arm_ref("shadow", model, shadow)
    if canary_ref is None:
        if canary_percent not in (None, 0, 0.0) or isinstance(canary_percent, bool):
            raise InvalidInput(
                f"canary percent {canary_percent!r:.40} given without a canary: name the "
                f"candidate too (--canary {model}@4) or leave the percent out"
            )
        if sticky_key is not None:
            raise InvalidInput(
                "a sticky key splits traffic between the primary and a canary, and there is "
                f"no canary: name one (--canary {model}@4 --canary-percent 10) or leave it out"
            )
        percent = 0.0
    else:
        if canary_percent is None or (
            not isinstance(canary_percent, bool)
            and isinstance(canary_percent, int | float)
            and canary_percent == 0
        ):
            raise InvalidInput(
                f"the canary {canary_ref} needs the share of traffic it answers: give a canary "
                "percent above 0 and below 100 (--canary-percent 10)"
            )
        percent = check_percent(canary_percent)
    if sticky_key is not None and (
        not isinstance(sticky_key, str) or not _STICKY_KEY.match(sticky_key)
    ):
        raise InvalidInput(
            f"invalid sticky key {sticky_key!r:.80}: name a request header or record field "
            "with 1-128 letters, digits, '_', '.' or '-' (e.g. customer_id)"
        )
    primary_text = str(primary)
    if canary_ref == primary_text:
        raise InvalidInput(
            f"the canary {canary_ref} is the deployment's own target: name another version "
            "or alias as the canary"
        )
    if shadow_ref == primary_text:
        raise InvalidInput(
            f"the shadow {shadow_ref} is the deployment's own target: a shadow mirrors "
            "traffic to another version; name one"
        )
    if shadow_ref is not None and shadow_ref == canary_ref:
        raise InvalidInput(
            f"{shadow_ref} is named as both canary and shadow: an arm is one or the other"
        )
    return TrafficRules(
        canary=canary_ref,
        canary_percent=percent,
        sticky_key=sticky_key if canary_ref is not None else None,
        shadow=shadow_ref,
    )


def check_time(what: str, value: object) -> datetime:
    """A moment with its time zone (a naive time could be any zone's)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{what} must be a time with a time zone (e.g. 2025-01-31T12:00:00Z)")
    return value


def check_prediction_id(value: object) -> str:
    if not isinstance(value, str) or not _PREDICTION_ID.match(value):
        raise InvalidInput(
            f"invalid prediction id {value!r:.80}: use the prediction_id a model server "
            "returned (1-128 letters, digits, '.', '_', ':' or '-')"
        )
    return value


def check_label(value: object) -> FeedbackLabel:
    """A feedback label: a JSON scalar (text of at most MAX_LABEL characters, a 64-bit
    integer, a finite number, true or false) or None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise InvalidInput(f"label {value} does not fit in 64 bits (-2**63 .. 2**63-1)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"label {value!r} is not a finite number; send a real value")
        return value
    if isinstance(value, str):
        return check_text("label", value, MAX_LABEL)
    raise InvalidInput(
        f"label must be text, a number or true/false, not {type(value).__name__} ({value!r:.80})"
    )


def check_outcome(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"outcome must be a number, not {value!r:.80}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidInput(f"outcome {value!r} is not a finite number; send a real value")
    return out


def check_feedback(
    label: object, outcome: object, comment: object
) -> tuple[FeedbackLabel, float | None, str | None]:
    lab = check_label(label)
    out = check_outcome(outcome)
    if lab is None and out is None:
        raise InvalidInput(
            "feedback needs a label (the right answer, e.g. --label churned) or an outcome "
            "(a number observed later, e.g. --outcome 129.5); a comment alone is not feedback"
        )
    com = None if comment is None else check_text("comment", comment, MAX_COMMENT)
    return lab, out, com


def check_feedback_items(items: object) -> list[FeedbackItem]:
    """A batch of feedback: 1 to MAX_FEEDBACK_IDS items, each valid, no prediction twice."""
    if isinstance(items, str | bytes) or not isinstance(items, list | tuple):
        raise InvalidInput("feedback items must be a list of FeedbackItem")
    if not 1 <= len(items) <= MAX_FEEDBACK_IDS:
        raise InvalidInput(
            f"a feedback batch holds 1 to {MAX_FEEDBACK_IDS} items, not {len(items)}: "
            "send larger sets in batches"
        )
    out: list[FeedbackItem] = []
    seen: set[str] = set()
    for n, item in enumerate(items):
        if not isinstance(item, FeedbackItem):
            raise InvalidInput(f"feedback item {n} is a {type(item).__name__}, not a FeedbackItem")
        pid = check_prediction_id(item.prediction_id)
        if pid in seen:
            raise InvalidInput(
                f"prediction {pid} appears twice in the batch (item {n}); send one feedback "
                "per prediction"
            )
        seen.add(pid)
        try:
            lab, outc, com = check_feedback(item.label, item.outcome, item.comment)
        except InvalidInput as e:
            raise InvalidInput(f"feedback item {n} ({pid}): {e}") from None
        out.append(FeedbackItem(pid, lab, outc, com))
    return out


def check_prediction_ids(ids: object) -> list[str] | None:
    if ids is None:
        return None
    if isinstance(ids, str) or not isinstance(ids, list | tuple):
        raise InvalidInput("prediction ids must be a list of ids")
    if len(ids) > MAX_FEEDBACK_IDS:
        raise InvalidInput(
            f"{len(ids)} prediction ids asked for at once; the limit is {MAX_FEEDBACK_IDS}: "
            "ask in batches"
        )
    return list(dict.fromkeys(check_prediction_id(i) for i in ids))


def segment_prefix(project: str, deployment: str) -> str:
    """Where a deployment's prediction-log segments live in the artifact store."""
    return f"serving/{project}/{deployment}/"


def check_segment(
    project: str,
    deployment: str,
    *,
    uri: object,
    digest: object,
    records: object,
    first_at: datetime,
    last_at: datetime,
    server_id: object,
) -> None:
    prefix = segment_prefix(project, deployment)
    if not isinstance(uri, str) or len(uri) > MAX_SEGMENT_URI:
        raise InvalidInput(f"segment uri must be a path of at most {MAX_SEGMENT_URI} characters")
    if (
        not _SEGMENT_URI.match(uri)
        or check_logical_path(uri) != uri
        or not uri.startswith(prefix)
        or not uri.endswith(".parquet")
    ):
        raise InvalidInput(
            f"segment uri {uri!r} must be a Parquet file under {prefix} in the artifact store "
            f"(e.g. {prefix}2025-01-31/server-1-000001.parquet), in letters, digits, '.', "
            "'_', '-' and '/'"
        )
    check_digest(digest)  # type: ignore[arg-type]
    if isinstance(records, bool) or not isinstance(records, int) or not 0 < records <= INT64_MAX:
        raise InvalidInput(f"segment records must be a positive count, not {records!r:.40}")
    check_time("first_at", first_at)
    check_time("last_at", last_at)
    if first_at > last_at:
        raise InvalidInput(
            f"segment first_at {first_at.isoformat()} is after its last_at {last_at.isoformat()}"
        )
    if not isinstance(server_id, str) or not _SERVER_ID.match(server_id):
        raise InvalidInput(
            f"invalid server id {server_id!r:.80}: 1-128 letters, digits, '.', '_' or '-'"
        )


# --- the split ----------------------------------------------------------------------------------


def sticky_bucket(key: str | bytes, salt: str = "") -> float:
    """Where a sticky key falls in [0, 100): the first 8 bytes of sha256(salt NUL key) as a
    fraction of 2^64. The same key always lands in the same place, in every process."""
    raw = key if isinstance(key, bytes) else key.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(salt.encode("utf-8", "surrogatepass") + b"\x00" + raw).digest()
    return int.from_bytes(digest[:8], "big") * 100.0 / 2.0**64


def choose_arm(
    rules_weights: Sequence[tuple[ArmRole, float]],
    key: str | bytes | None = None,
    *,
    salt: str = "",
    draw: float | None = None,
) -> ArmRole:
    """The arm that answers one request, given the live arms' shares in percent (in order:
    ``Resolution.weights``, primary then canary) and the request's sticky key (None: a random
    draw). Each arm owns a contiguous range of [0, 100) in that order, so the canary owns the
    top ``p`` %: raising its percent keeps every key it already had. ``salt`` is the
    deployment's name, so one customer is not the canary of every deployment at once."""
    if not rules_weights:
        raise InvalidInput("no live arm to answer the request")
    if key is not None:
        point = sticky_bucket(key, salt)
    else:
        point = (random.random() if draw is None else draw) * 100.0  # noqa: S311 (not crypto)
    total = 0.0
    for role, weight in rules_weights:
        total += weight
        if point < total:
            return role
    return rules_weights[-1][0]


def arm_weights(traffic: TrafficRules) -> dict[ArmRole, float]:
    """Each arm's share of live traffic under ``traffic``: the shadow's is 0."""
    weights = {ArmRole.PRIMARY: 100.0 - traffic.canary_percent}
    if traffic.canary is not None:
        weights[ArmRole.CANARY] = traffic.canary_percent
    if traffic.shadow is not None:
        weights[ArmRole.SHADOW] = 0.0
    return weights


# --- rollback ------------------------------------------------------------------------------


def rollback_version(
    changes: Sequence[DeploymentChange], moves: Sequence[AliasMove]
) -> tuple[int | None, int | None]:
    """(the primary version served now, the one a rollback returns to) from the deployment's
    changes (oldest first) and its model's alias moves (any order).

    The versions served form a stack: a change or a move of the followed alias that serves a
    new version pushes it; a rollback pops back to the version it returned to. So rolling
    back twice goes back two versions, never forth again to the one just rolled back from.
    """
    stack: list[int] = []

    def push(version: int | None) -> None:
        if version is not None and (not stack or stack[-1] != version):
            stack.append(version)

    ordered = sorted(moves, key=lambda m: m.at)
    for i, change in enumerate(changes):
        served = change.after.primary_version
        if change.action is DeploymentAction.ROLLBACK and served in stack:
            del stack[len(stack) - stack[::-1].index(served) :]
        else:
            push(served)
        alias = target_ref(change.after.target).alias
        if alias is None or change.after.status is not DeploymentStatus.ACTIVE:
            continue
        end = changes[i + 1].at if i + 1 < len(changes) else None
        for move in ordered:
            if move.alias == alias and move.at > change.at and (end is None or move.at < end):
                push(move.to_version)
    current = stack[-1] if stack else None
    previous = stack[-2] if len(stack) > 1 else None
    return current, previous
