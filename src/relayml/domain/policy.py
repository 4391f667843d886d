"""A project's promotion policy, as code: one YAML document, versioned and audited.

```yaml
separation_of_duties: true         # neither the requester nor the run's author may approve
evaluation:                        # the dataset version every promotion is evaluated on
  dataset: holdout@2
  target: churned
  slices: [region]
model_card: [intended_use, limitations, owners]   # fields a card must fill
protected:                         # aliases that move only by an approved promotion request
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, data_checks, evaluation, requirements, improvement, model_card]
    min_improvement: {metric: auc, by: 0.0}
    allow_override: false          # may failed evidence be overridden, with a written reason
```

Approvers are role names, built-in or custom (`relay roles`); applying a policy checks that
each is a role of the project that may approve (`promotion.approve`).

A project without a policy has `DEFAULT`: `production` and `champion` protected, one approval
from `model_governance`, separation of duties, the load check, data checks, requirements and
(when an evaluation dataset is set) the evaluation required. Unknown keys are refused by name,
so a typo cannot silently weaken a policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.identity import Role, check_role_name
from relayml.domain.models import MODEL_CARD_FIELDS, Evidence
from relayml.domain.refs import _ALIAS, parse_ref
from relayml.domain.roles import Action, RoleTable
from relayml.domain.safe_yaml import load_yaml
from relayml.errors import InvalidInput

MAX_POLICY_BYTES = 64 * 1024
MAX_APPROVALS = 10


@dataclass(frozen=True)
class Improvement:
    metric: str
    by: float = 0.0


@dataclass(frozen=True)
class AliasRule:
    approvals: int = 1
    approvers: frozenset[str] = frozenset({Role.MODEL_GOVERNANCE.value})  # role names
    evidence: tuple[Evidence, ...] = (
        Evidence.LOAD_CHECK,
        Evidence.DATA_CHECKS,
        Evidence.EVALUATION,
        Evidence.REQUIREMENTS,
    )
    min_improvement: Improvement | None = None
    allow_override: bool = False


@dataclass(frozen=True)
class EvaluationSpec:
    dataset: str
    target: str
    slices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    protected: dict[str, AliasRule]
    separation_of_duties: bool = True
    evaluation: EvaluationSpec | None = None
    model_card: tuple[str, ...] = ()
    version: int = 0  # 0: the built-in default, never applied
    text: str = ""

    def rule(self, alias: str) -> AliasRule | None:
        return self.protected.get(alias)


DEFAULT = Policy(
    protected={"production": AliasRule(), "champion": AliasRule()},
    separation_of_duties=True,
)

_TOP = {"separation_of_duties", "evaluation", "model_card", "protected"}
_RULE = {"approvals", "approvers", "evidence", "min_improvement", "allow_override"}


def _keys(where: str, data: object, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"policy {where} must be a mapping, not {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise InvalidInput(f"policy {where} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    return data


def _bool(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"policy {where} must be true or false, not {value!r}")
    return value


def _rule(alias: str, data: object) -> AliasRule:
    d = _keys(f"protected.{alias}", data if data is not None else {}, _RULE)
    approvals = d.get("approvals", 1)
    if (
        isinstance(approvals, bool)
        or not isinstance(approvals, int)
        or not 1 <= approvals <= MAX_APPROVALS
    ):
        raise InvalidInput(
            f"policy protected.{alias}.approvals must be a whole number from 1 to "
            f"{MAX_APPROVALS}, not {approvals!r}"
        )
    raw_roles = d.get("approvers", [Role.MODEL_GOVERNANCE.value])
    if not isinstance(raw_roles, list) or not raw_roles:
        raise InvalidInput(f"policy protected.{alias}.approvers must be a non-empty list of roles")
    approvers = frozenset(check_role_name(r) for r in raw_roles)
    raw_ev = d.get("evidence", [e.value for e in AliasRule().evidence])
    if not isinstance(raw_ev, list):
        raise InvalidInput(f"policy protected.{alias}.evidence must be a list")
    evidence = tuple(parse_enum(Evidence, "evidence item", e) for e in raw_ev)
    improvement = None
    if d.get("min_improvement") is not None:
        mi = _keys(f"protected.{alias}.min_improvement", d["min_improvement"], {"metric", "by"})
        metric = mi.get("metric")
        by = mi.get("by", 0.0)
        if not isinstance(metric, str) or not metric:
            raise InvalidInput(f"policy protected.{alias}.min_improvement needs a metric name")
        if isinstance(by, bool) or not isinstance(by, int | float) or by != by:
            raise InvalidInput(f"policy protected.{alias}.min_improvement.by must be a number")
        improvement = Improvement(metric, float(by))
        if Evidence.IMPROVEMENT not in evidence:
            evidence = (*evidence, Evidence.IMPROVEMENT)
    if Evidence.IMPROVEMENT in evidence and improvement is None:
        raise InvalidInput(
            f"policy protected.{alias} requires improvement but sets no min_improvement "
            "(e.g. min_improvement: {metric: auc, by: 0.01})"
        )
    return AliasRule(
        approvals=approvals,
        approvers=approvers,
        evidence=evidence,
        min_improvement=improvement,
        allow_override=_bool(f"protected.{alias}.allow_override", d.get("allow_override", False)),
    )


def parse_policy(text: str, version: int = 0) -> Policy:
    """A policy from its YAML text; InvalidInput naming the key that is wrong."""
    if not isinstance(text, str):
        raise InvalidInput("a policy is YAML text")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise InvalidInput(f"a policy is at most {MAX_POLICY_BYTES // 1024} KiB of YAML")
    data, _ = load_yaml(text, "policy")
    d = _keys("document", data if data is not None else {}, _TOP)
    protected_raw = d.get("protected", {})
    if not isinstance(protected_raw, dict):
        raise InvalidInput("policy protected must map alias names to rules")
    protected: dict[str, AliasRule] = {}
    for alias, rule in protected_raw.items():
        if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == "latest":
            raise InvalidInput(
                f"policy protected alias {alias!r} is not an alias name (a letter, then letters, "
                "digits, - or _; not 'latest')"
            )
        protected[alias] = _rule(alias, rule)
    evaluation = None
    if d.get("evaluation") is not None:
        ev = _keys("evaluation", d["evaluation"], {"dataset", "target", "slices"})
        if not isinstance(ev.get("dataset"), str) or not isinstance(ev.get("target"), str):
            raise InvalidInput(
                "policy evaluation needs dataset (e.g. holdout@2) and target (the label column)"
            )
        parse_ref(ev["dataset"])
        slices = ev.get("slices", [])
        if not isinstance(slices, list) or not all(isinstance(s, str) and s for s in slices):
            raise InvalidInput("policy evaluation.slices must be a list of column names")
        evaluation = EvaluationSpec(ev["dataset"], ev["target"], tuple(slices))
    card = d.get("model_card", [])
    if not isinstance(card, list) or not all(f in MODEL_CARD_FIELDS for f in card):
        raise InvalidInput(
            f"policy model_card must list card fields among {list(MODEL_CARD_FIELDS)}, not {card!r}"
        )
    return Policy(
        protected=protected,
        separation_of_duties=_bool("separation_of_duties", d.get("separation_of_duties", True)),
        evaluation=evaluation,
        model_card=tuple(card),
        version=version,
        text=text,
    )


def approver_problems(policy: Policy, table: RoleTable) -> list[tuple[str, str, str]]:
    """(alias, role, what is wrong) for each approver `policy` names that could not approve
    under `table`: not a role there, or a role without promotion.approve."""
    problems = []
    for alias, rule in policy.protected.items():
        for role in sorted(rule.approvers):
            info = table.get(role)
            if info is None:
                problems.append((alias, role, "is not a role here"))
            elif Action.PROMOTION_APPROVE not in info.actions:
                problems.append((alias, role, "may not approve (no promotion.approve)"))
    return problems
