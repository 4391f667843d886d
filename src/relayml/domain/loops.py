"""The closed loop: an alert (or a person) starts a retraining pipeline, its candidate is
evaluated against the alias's holder and handed to governance as a promotion request, and, once
approved, it serves a canary share of the deployment's traffic; the canary's comparison with
the primary decides whether the approved request moves the alias (promoted) or is closed
unapplied (rolled back).

A **loop** is what a project attaches: which pipeline to run, which of its steps returns the
candidate (a model ref such as ``churn@7``), the deployment whose protected alias the candidate
competes for, what it is evaluated on, and the canary's size and decision rule. A **loop run**
is one pass through it, a small state machine whose every transition is a `LoopStep` kept on
the run (and an audit event):

    triggered ─▶ training ─▶ evaluating ─▶ awaiting_approval ─▶ canary ─▶ promoted
        │            │            │                 │              └────▶ rolled_back
        └────────────┴────────────┴─────────────────┴─────▶ failed | refused | stopped

No I/O here: the states, what may follow what (`advance_to`), the checks of a loop's settings,
and `canary_verdict`, the rule that decides a canary from its comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.durations import parse_duration
from relayml.domain.identity import check_name
from relayml.domain.monitors import AlertFamily, alert_families
from relayml.domain.text import check_text
from relayml.errors import Conflict, InvalidInput

MAX_REASON = 2000
MAX_PARAMS_BYTES = 16 * 1024
MAX_STEPS = 200  # steps kept on one run; a run never takes this many (each state is left once)
HELD_PREFIX = "loop:"
"""A promotion request a loop opens is held by it (`PromotionRequest.hold` = "loop:RUN_ID"): its
approval does not move the alias; the loop applies it when the canary wins."""


class LoopState(StrEnum):
    """Where a loop run is; the last five end it."""

    TRIGGERED = "triggered"  # waits for a runner to start the pipeline
    TRAINING = "training"  # the pipeline run is under way
    EVALUATING = "evaluating"  # the candidate is known; its request is being opened
    AWAITING_APPROVAL = "awaiting_approval"  # the promotion request waits for governance
    CANARY = "canary"  # approved: the candidate answers a share of live traffic
    PROMOTED = "promoted"  # the canary won: the approved request moved the alias
    ROLLED_BACK = "rolled_back"  # the canary lost: its traffic removed, the request closed
    REFUSED = "refused"  # governance rejected the request (or it was withdrawn)
    FAILED = "failed"  # the pipeline failed, gave no candidate, or a step could not be done
    STOPPED = "stopped"  # a person stopped it; whatever it had started is undone

    @property
    def ended(self) -> bool:
        return self in _ENDED


_ENDED = frozenset(
    {
        LoopState.PROMOTED,
        LoopState.ROLLED_BACK,
        LoopState.REFUSED,
        LoopState.FAILED,
        LoopState.STOPPED,
    }
)
_END_ANYWHERE = frozenset({LoopState.FAILED, LoopState.STOPPED})
NEXT: dict[LoopState, frozenset[LoopState]] = {
    LoopState.TRIGGERED: frozenset({LoopState.TRAINING}),
    # a pipeline run whose runner died is abandoned: the run goes back to be started again
    LoopState.TRAINING: frozenset({LoopState.EVALUATING, LoopState.TRIGGERED}),
    LoopState.EVALUATING: frozenset({LoopState.AWAITING_APPROVAL}),
    LoopState.AWAITING_APPROVAL: frozenset({LoopState.CANARY, LoopState.REFUSED}),
    LoopState.CANARY: frozenset({LoopState.PROMOTED, LoopState.ROLLED_BACK}),
}


class StepKind(StrEnum):
    """What one entry of a loop run's record says happened."""

    TRIGGERED = "triggered"  # by an alert, or by a person with a reason
    PIPELINE_STARTED = "pipeline_started"
    PIPELINE_ABANDONED = "pipeline_abandoned"  # its runner died or stopped it; started again
    PIPELINE_FINISHED = "pipeline_finished"
    CANDIDATE = "candidate"  # the version the pipeline registered
    EVALUATED = "evaluated"  # candidate and holder on the evaluation data
    REQUEST_OPENED = "request_opened"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANARY_STARTED = "canary_started"
    COMPARED = "compared"  # a comparison of the canary with the primary that decided it
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    STOPPED = "stopped"
    FAILED = "failed"


class Verdict(StrEnum):
    WAIT = "wait"  # not enough feedback yet, and time left
    WIN = "win"  # significantly better than the primary
    LOSE = "lose"  # not significantly better (or worse), or no evidence by the deadline


@dataclass(frozen=True)
class LoopSpec:
    """What a loop does. `evaluate_on` is a dataset name (its newest usable version when the
    candidate arrives: fresh labelled data) or a version (``holdout@4``); None uses the
    promotion policy's evaluation dataset."""

    pipeline: str
    deployment: str
    on: tuple[AlertFamily, ...] = ()  # alert families that start it; () = by hand only
    candidate_step: str = "register"
    params: dict[str, Any] = field(default_factory=dict)
    evaluate_on: str | None = None
    target: str | None = None
    canary_percent: float = 10.0
    min_feedback: int = 100  # rows with feedback per arm before the canary is decided
    canary_timeout: float | str = 7 * 86_400.0  # seconds or "7d": no decision by then = lost
    pipeline_timeout: float | str = 6 * 3600.0  # a pipeline run not ended by then is abandoned
    alpha: float = 0.05

    @property
    def canary_seconds(self) -> float:
        return parse_duration(self.canary_timeout)

    @property
    def pipeline_seconds(self) -> float:
        return parse_duration(self.pipeline_timeout)


@dataclass(frozen=True)
class Loop:
    project: str
    name: str
    spec: LoopSpec
    model: str  # the deployment's model
    alias: str  # the protected alias the deployment follows
    created_by: str
    created_at: datetime
    detached_by: str | None = None
    detached_at: datetime | None = None
    detach_reason: str | None = None

    @property
    def attached(self) -> bool:
        return self.detached_at is None


@dataclass(frozen=True)
class LoopStep:
    """One entry of a loop run's record: what happened, when, done by whom, in one line, with
    the ids and numbers behind it in `detail`."""

    kind: StepKind
    at: datetime
    actor: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoopRun:
    id: str
    project: str
    loop: str
    state: LoopState
    trigger: str  # "alert" or "manual"
    reason: str  # the alert's summary, or the person's reason
    started_by: str
    started_at: datetime
    revision: int = 1  # bumped by every transition; a write at a stale revision is refused
    alert: str | None = None  # the alert that started it (one run per alert)
    pipeline_run: str | None = None
    candidate: str | None = None  # "churn@7"
    request: str | None = None  # the promotion request's id
    canary_since: datetime | None = None
    ended_at: datetime | None = None
    attempts: int = 0  # pipeline runs started for it
    steps: tuple[LoopStep, ...] = ()

    @property
    def ended(self) -> bool:
        return self.state.ended


@dataclass(frozen=True)
class CanaryEvidence:
    """The canary's realised performance against the primary's over the canary's time, from
    the prediction log and the feedback joined to it (`relay deployments compare`)."""

    metric: str  # "accuracy" (higher is better) or "mae" (lower is better)
    canary_n: int
    canary_value: float
    primary_n: int
    primary_value: float
    test: str
    pvalue: float


def advance_to(run: LoopRun, state: LoopState, step: LoopStep, **changes: Any) -> LoopRun:
    """`run` moved to `state`, `step` appended and `changes` applied; a Conflict naming both
    states if `state` may not follow the run's (an ended run takes no step)."""
    if run.ended:
        raise Conflict(f"loop run {run.id} has ended ({run.state.value}); it takes no more steps")
    if state not in NEXT.get(run.state, frozenset()) and state not in _END_ANYWHERE:
        raise Conflict(f"loop run {run.id} is {run.state.value}; it cannot become {state.value}")
    return note(
        replace(run, state=state, ended_at=step.at if state.ended else None, **changes), step
    )


def note(run: LoopRun, step: LoopStep) -> LoopRun:
    """`run` with `step` appended to its record (no change of state)."""
    if len(run.steps) >= MAX_STEPS:
        raise Conflict(f"loop run {run.id} has {MAX_STEPS} steps; it takes no more")
    return replace(run, revision=run.revision + 1, steps=(*run.steps, step))


def canary_verdict(
    evidence: CanaryEvidence | None,
    spec: LoopSpec,
    elapsed: float,
) -> tuple[Verdict, str]:
    """Decide a canary, once, on a fixed sample: when both arms have `min_feedback` rows with
    feedback, it wins if it is better and the difference is significant (p < alpha), and loses
    otherwise; until then it waits, and loses if `canary_timeout` passes first. Deciding once
    (not at every look) keeps the test's error rate at alpha."""
    enough = (
        evidence is not None
        and evidence.canary_n >= spec.min_feedback
        and evidence.primary_n >= spec.min_feedback
    )
    if not enough or evidence is None:
        have = (
            f"{evidence.canary_n} canary and {evidence.primary_n} primary rows with feedback"
            if evidence is not None
            else "no feedback on either arm"
        )
        if elapsed >= spec.canary_seconds:
            return Verdict.LOSE, (
                f"no decision after {elapsed / 3600:.3g} h: {have}, {spec.min_feedback} "
                "needed on each"
            )
        return Verdict.WAIT, f"{have}; deciding at {spec.min_feedback} each"
    higher = evidence.metric != "mae"
    better = (
        evidence.canary_value > evidence.primary_value
        if higher
        else evidence.canary_value < evidence.primary_value
    )
    significant = evidence.pvalue < spec.alpha
    line = (
        f"{evidence.metric} {evidence.canary_value:.4g} (n={evidence.canary_n}) vs "
        f"{evidence.primary_value:.4g} (n={evidence.primary_n}) for the primary, "
        f"{evidence.test} p={evidence.pvalue:.3g}"
    )
    if better and significant:
        return Verdict.WIN, f"{line}: significantly better"
    if significant:
        return Verdict.LOSE, f"{line}: significantly worse"
    return Verdict.LOSE, f"{line}: not significantly better (alpha {spec.alpha:g})"


# checks ----------------------------------------------------------------------------------
def check_loop_name(name: object) -> str:
    return check_name("loop", name)  # type: ignore[arg-type]


def check_reason(reason: object, required: bool = False) -> str:
    text = "" if reason is None else check_text("reason", reason, MAX_REASON).strip()
    if required and not text:
        raise InvalidInput("give a reason: it is kept on the loop run and in the audit trail")
    return text


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id.isalnum() or not 1 <= len(run_id) <= 32:
        raise InvalidInput(f"invalid loop run id {run_id!r:.40}; list them with: relay loops runs")
    return run_id


def check_spec(spec: LoopSpec) -> LoopSpec:
    """The spec with its values checked (InvalidInput naming the first one wrong)."""
    import json

    if not isinstance(spec, LoopSpec):
        raise InvalidInput("a loop's settings are a LoopSpec")
    check_name("pipeline", spec.pipeline)
    check_name("deployment", spec.deployment)
    check_name("step", spec.candidate_step)
    on = alert_families(spec.on)
    if AlertFamily.TRAFFIC in on:
        raise InvalidInput(
            "a loop retrains, and traffic that stopped is not something a retraining answers; "
            "the traffic alert waits in the inbox for whoever is on call"
        )
    if not isinstance(spec.params, dict) or not all(isinstance(k, str) for k in spec.params):
        raise InvalidInput("params map the pipeline's parameter names to JSON values")
    try:
        size = len(json.dumps(spec.params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"params must be JSON values: {exc}") from None
    if size > MAX_PARAMS_BYTES:
        raise InvalidInput(f"params are at most {MAX_PARAMS_BYTES // 1024} KiB of JSON")
    if (spec.evaluate_on is None) != (spec.target is None):
        raise InvalidInput(
            "give both evaluate_on (a dataset, e.g. holdout) and target (its label column), or "
            "neither (the promotion policy's evaluation dataset)"
        )
    if spec.evaluate_on is not None:
        from relayml.domain.refs import parse_ref

        ref = parse_ref(spec.evaluate_on)
        if ref.alias is not None:
            raise InvalidInput(f"evaluate_on names a dataset or a version, not {ref}")
        check_text("target", spec.target, 256)
    pct = spec.canary_percent
    if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 < pct < 100:
        raise InvalidInput(f"canary_percent must be above 0 and below 100, not {pct!r}")
    n = spec.min_feedback
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000_000:
        raise InvalidInput(f"min_feedback must be a whole number from 1 to 10,000,000, not {n!r}")
    alpha = spec.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
        raise InvalidInput(f"alpha must be above 0 and below 0.5, not {alpha!r}")
    return replace(
        spec,
        on=on,
        canary_percent=float(pct),
        alpha=float(alpha),
        canary_timeout=parse_duration(spec.canary_timeout),
        pipeline_timeout=parse_duration(spec.pipeline_timeout),
    )


def check_evidence(evidence: CanaryEvidence) -> CanaryEvidence:
    if not isinstance(evidence, CanaryEvidence):
        raise InvalidInput("a canary's comparison is CanaryEvidence")
    if evidence.metric not in ("accuracy", "mae"):
        raise InvalidInput(f"metric is accuracy or mae, not {evidence.metric!r}")
    for what, n in (("canary_n", evidence.canary_n), ("primary_n", evidence.primary_n)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput(f"{what} must be a count, not {n!r}")
    for what, x in (
        ("canary_value", evidence.canary_value),
        ("primary_value", evidence.primary_value),
        ("pvalue", evidence.pvalue),
    ):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise InvalidInput(f"{what} must be a finite number, not {x!r}")
    if not 0 <= evidence.pvalue <= 1:
        raise InvalidInput(f"pvalue must be from 0 to 1, not {evidence.pvalue!r}")
    check_text("test", evidence.test, 64)
    return evidence
