"""The backend contract for audit: the audit trail, its filters and checkpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from relayml.domain.audit import EntityKind, Event
from relayml.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relayml.testing.contract import ContractEnv, _pts


class AuditContract:
    def test_audit_filters_by_time_and_pages(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        for i in range(3):
            b.tracking.create_run(project=p, experiment="e", name=f"r{i}")
        newest = b.audit.log(project=p, action="run.create", limit=3)
        assert len(newest) == 3
        first, last = newest[-1], newest[0]
        page = b.audit.log(project=p, action="run.create", limit=2)
        rest = b.audit.log(project=p, action="run.create", limit=2, before=page[-1].seq)
        assert [e.seq for e in page + rest] == [e.seq for e in newest]
        assert b.audit.log(project=p, action="run.create", since=last.ts) == [last]
        assert first not in b.audit.log(project=p, action="run.create", until=first.ts)
        naive = last.ts.replace(tzinfo=None)  # a time without a zone is UTC
        assert b.audit.log(project=p, action="run.create", since=naive) == [last]
        later = last.ts + timedelta(days=1)
        assert b.audit.log(project=p, since=later) == []

    def test_audit_is_read_by_governance_only(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        gov = contract.as_role(p, "model_governance")
        ds = contract.as_role(p, "data_scientist")
        assert gov.audit.log(project=p, limit=5)
        with pytest.raises(PermissionDenied):
            ds.audit.log(project=p)
        with pytest.raises(PermissionDenied):
            ds.audit.verify()

    def test_a_projects_governance_verifies_the_whole_chain_for_its_project(
        self, contract: ContractEnv
    ) -> None:
        """The chain runs through every project, so it is checked whole; asked for a project
        where the caller reads the audit, the answer (ok, or where it breaks) shows no event."""
        p, q = contract.new_project(), contract.new_project()
        gov = contract.as_role(p, "model_governance")
        with pytest.raises(PermissionDenied, match=r"in every project; audit\.read needs"):
            gov.audit.verify()  # asked platform-wide: a project grant is not enough
        result = gov.audit.verify(p)
        assert result.ok and result.checked >= 1
        with pytest.raises(PermissionDenied, match=r"audit\.read"):
            gov.audit.verify(q)  # not their project
        with pytest.raises(PermissionDenied):
            contract.as_role(p, "data_scientist").audit.verify(p)
        with pytest.raises(NotFound):
            gov.audit.verify("no-such-project")

    def test_every_mutation_is_audited(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.tracking.create_run(project=p, experiment="e", params={"a": 1})
        b.tracking.log_batch(run.id, metrics=_pts("m", [1.0, 2.0]))
        b.tracking.end_run(run.id)
        events = b.audit.log(entity_kind="run", entity_id=run.id)
        assert [e.action for e in events] == ["run.end", "run.log", "run.create"]
        assert all(e.actor == b.user and e.outcome == "ok" and e.project == p for e in events)
        assert all("admin" in e.roles for e in events)
        result = b.audit.verify()
        assert result.ok and result.checked >= 3

    def test_audit_filters_are_closed_vocabularies(self, contract: ContractEnv) -> None:
        """An unknown action or entity kind is an error listing the valid ones: a typo
        must not read as "nothing happened"."""
        b = contract.admin
        with pytest.raises(InvalidInput, match=r"unknown audit action 'run\.created'; use one "):
            b.audit.log(action="run.created")
        with pytest.raises(InvalidInput, match=r"use one of: .*pipeline\.finish.*run\.create"):
            b.audit.log(action="run.created")
        with pytest.raises(InvalidInput, match=r"unknown entity kind 'runs'; use one of: project"):
            b.audit.log(entity_kind="runs")
        assert b.audit.log(action=Event.RUN_END, entity_kind=EntityKind.RUN, limit=1) == (
            b.audit.log(action="run.end", entity_kind="run", limit=1)
        )

    def test_checkpoints_are_taken_by_admins_and_verified(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        cp = b.audit.checkpoint()
        assert cp.seq >= 1 and len(cp.hash) == 64 and cp.mac
        recorded = b.audit.log(action="audit.checkpoint", limit=50)
        assert str(cp.seq) in {e.entity_id for e in recorded}
        result = b.audit.verify()
        assert result.ok and result.checkpoints >= 1, result
        gov = contract.as_role(p, "model_governance")
        with pytest.raises(PermissionDenied, match=r"audit\.checkpoint"):
            gov.audit.checkpoint()
