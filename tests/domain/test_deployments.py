"""Deployments' pure rules: targets, traffic rules, feedback values, segments, the split."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from relayml.domain.deployments import (
    ArmRole,
    DeploymentAction,
    DeploymentChange,
    DeploymentState,
    TrafficRules,
    arm_weights,
    check_deployment_name,
    check_feedback,
    check_prediction_id,
    check_segment,
    check_traffic,
    choose_arm,
    rollback_version,
    sticky_bucket,
    target_ref,
)
from relayml.domain.models import AliasMove
from relayml.errors import InvalidInput


def test_target_is_a_version_or_an_alias_never_latest() -> None:
    assert target_ref("churn@3").version == 3
    assert target_ref("churn@production").alias == "production"
    for bad in ("churn", "churn@latest"):
        with pytest.raises(InvalidInput, match="pinned version or follows an alias"):
            target_ref(bad)
    with pytest.raises(InvalidInput, match="versions go up to"):
        target_ref(f"churn@{2**63}")


def test_deployment_name_must_be_a_name() -> None:
    assert check_deployment_name("churn-api") == "churn-api"
    for bad in ("", "churn api", "../x", "x" * 129, 3):
        with pytest.raises(InvalidInput, match="invalid deployment name"):
            check_deployment_name(bad)


def test_traffic_rules_are_checked_and_normalised() -> None:
    rules = check_traffic(
        "churn@production", canary="churn@4", canary_percent=10, sticky_key="customer_id"
    )
    assert rules == TrafficRules("churn@4", 10.0, "customer_id", None)
    assert check_traffic("churn@3", shadow="churn@staging") == TrafficRules(shadow="churn@staging")
    assert check_traffic("churn@3") == TrafficRules()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"canary": "churn@4"}, "needs the share of traffic"),
        ({"canary": "churn@4", "canary_percent": 0}, "needs the share of traffic"),
        ({"canary": "churn@4", "canary_percent": 100}, "out of range"),
        ({"canary": "churn@4", "canary_percent": -1}, "out of range"),
        ({"canary": "churn@4", "canary_percent": math.nan}, "out of range"),
        ({"canary": "churn@4", "canary_percent": True}, "must be a number"),
        ({"canary": "churn@4", "canary_percent": "10"}, "must be a number"),
        ({"canary_percent": 10}, "without a canary"),
        ({"sticky_key": "customer_id"}, "no canary"),
        ({"canary": "churn@4", "canary_percent": 5, "sticky_key": "a b"}, "invalid sticky key"),
        ({"canary": "churn@3", "canary_percent": 5}, "own target"),
        ({"shadow": "churn@3"}, "own target"),
        ({"canary": "fraud@4", "canary_percent": 5}, "names model 'fraud'"),
        ({"shadow": "churn@latest"}, "pinned version or follows an alias"),
        ({"canary": "churn@4", "canary_percent": 5, "shadow": "churn@4"}, "both canary and"),
    ],
)
def test_bad_traffic_rules_say_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_traffic("churn@3", **kwargs)


def test_feedback_needs_a_label_or_an_outcome_and_real_values() -> None:
    assert check_feedback("churned", None, None) == ("churned", None, None)
    assert check_feedback(None, 12, "late") == (None, 12.0, "late")
    assert check_feedback(False, None, None) == (False, None, None)
    with pytest.raises(InvalidInput, match="needs a label"):
        check_feedback(None, None, "only a comment")
    for label in (math.nan, math.inf, 2**63, "x" * 1001, "\ud800", "a\x00", [1], {"a": 1}):
        with pytest.raises(InvalidInput):
            check_feedback(label, None, None)
    for outcome in (math.nan, -math.inf, "1", True):
        with pytest.raises(InvalidInput):
            check_feedback(None, outcome, None)
    with pytest.raises(InvalidInput, match="lone surrogate"):
        check_feedback(1, None, "bad \udc80 text")
    with pytest.raises(InvalidInput, match="limit is 5000"):
        check_feedback(1, None, "x" * 5001)


def test_prediction_ids() -> None:
    assert check_prediction_id("0190c0ffee") == "0190c0ffee"
    for bad in ("", "a b", "x" * 129, "-x", None, 5):
        with pytest.raises(InvalidInput, match="invalid prediction id"):
            check_prediction_id(bad)


def test_segments_live_under_the_deployment_prefix() -> None:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    ok = {
        "uri": "serving/default/churn-api/2025-01-01/s1-000001.parquet",
        "digest": "a" * 64,
        "records": 10,
        "first_at": t,
        "last_at": t,
        "server_id": "s1",
    }
    check_segment("default", "churn-api", **ok)  # type: ignore[arg-type]
    for change in (
        {"uri": "serving/other/churn-api/x.parquet"},
        {"uri": "serving/default/churn-api/../x.parquet"},
        {"uri": "serving/default/churn-api/x.csv"},
        {"digest": "zz"},
        {"records": 0},
        {"records": 2**63},
        {"first_at": datetime(2025, 1, 2, tzinfo=UTC)},
        {"server_id": "a b"},
    ):
        with pytest.raises(InvalidInput):
            check_segment("default", "churn-api", **{**ok, **change})  # type: ignore[arg-type]


def test_a_sticky_key_always_gets_the_same_arm_and_ramping_keeps_the_canary() -> None:
    assert sticky_bucket("c-1", "churn-api") == sticky_bucket(b"c-1", "churn-api")
    ten = [(ArmRole.PRIMARY, 90.0), (ArmRole.CANARY, 10.0)]
    twenty = [(ArmRole.PRIMARY, 80.0), (ArmRole.CANARY, 20.0)]
    keys = [f"customer-{i}" for i in range(2000)]
    first = [choose_arm(ten, k, salt="churn-api") for k in keys]
    assert first == [choose_arm(ten, k, salt="churn-api") for k in keys]
    canary_at_ten = {k for k, arm in zip(keys, first, strict=True) if arm is ArmRole.CANARY}
    canary_at_twenty = {k for k in keys if choose_arm(twenty, k, salt="churn-api") == "canary"}
    assert canary_at_ten <= canary_at_twenty
    # 2000 keys at 10 %: 200 expected, sd ~13.4; 5 sd either side
    assert 133 <= len(canary_at_ten) <= 267
    # another deployment (salt) splits the same keys independently
    other = {k for k in keys if choose_arm(ten, k, salt="fraud-api") is ArmRole.CANARY}
    assert other != canary_at_ten


def test_random_draws_split_by_weight() -> None:
    arms = [(ArmRole.PRIMARY, 90.0), (ArmRole.CANARY, 10.0)]
    assert choose_arm(arms, draw=0.0) is ArmRole.PRIMARY
    assert choose_arm(arms, draw=0.899) is ArmRole.PRIMARY
    assert choose_arm(arms, draw=0.9) is ArmRole.CANARY
    assert choose_arm(arms, draw=0.99999) is ArmRole.CANARY
    assert choose_arm([(ArmRole.PRIMARY, 100.0)], "k") is ArmRole.PRIMARY
    with pytest.raises(InvalidInput):
        choose_arm([], "k")


def test_arm_weights() -> None:
    rules = check_traffic("churn@3", canary="churn@4", canary_percent=12.5, shadow="churn@5")
    assert arm_weights(rules) == {
        ArmRole.PRIMARY: 87.5,
        ArmRole.CANARY: 12.5,
        ArmRole.SHADOW: 0.0,
    }


T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _change(
    minute: int, action: DeploymentAction, target: str, served: int | None
) -> DeploymentChange:
    at = T0 + timedelta(minutes=minute)
    after = DeploymentState(target, TrafficRules(), served)
    return DeploymentChange("api", minute, action, "u", at, "", None, after)


def _move(minute: int, to: int, alias: str = "production") -> AliasMove:
    at = T0 + timedelta(minutes=minute)
    return AliasMove("p", "churn", alias, None, to, "u", at, "", None)


def test_rollback_walks_back_the_versions_served_never_forth() -> None:
    A = DeploymentAction
    changes = [_change(0, A.CREATE, "churn@production", 1)]
    moves = [_move(5, 2), _move(10, 3), _move(-5, 1)]  # a move before the deployment: not served
    assert rollback_version(changes, moves) == (3, 2)
    changes.append(_change(11, A.ROLLBACK, "churn@2", 2))
    assert rollback_version(changes, moves) == (2, 1)
    changes.append(_change(12, A.ROLLBACK, "churn@1", 1))
    assert rollback_version(changes, moves) == (1, None)
    # moves of the alias while the deployment was pinned were not served
    moves.append(_move(13, 4))
    assert rollback_version(changes, moves) == (1, None)
    # following the alias again serves what it holds now; another alias's moves do not count
    changes.append(_change(14, A.SET_TARGET, "churn@production", 4))
    moves.append(_move(15, 9, alias="staging"))
    assert rollback_version(changes, moves) == (4, 1)
