"""Roles on the wire: a role as it stands in a project or the installation, and the versions of
a roles document."""

from __future__ import annotations

from collections.abc import Iterable

from relayml.domain.roles import Action, RoleInfo, RolesDocument
from relayml.wire.common import Time, WireModel, time_in, time_out


def _names(actions: Iterable[Action]) -> list[str]:
    """Actions in the order they are declared (`Action`), as their names."""
    given = set(actions)
    return [a.value for a in Action if a in given]


class RoleOut(WireModel):
    """A role where it is used: its actions there, where it is defined (`built-in`,
    `installation` or `project`) and changed, and how it differs from its default (a built-in's)
    or its definition (`added`, `removed`)."""

    name: str
    description: str
    builtin: bool
    actions: list[str]
    defined_in: str
    changed_in: list[str]
    source: str
    default_actions: list[str]
    added: list[str]
    removed: list[str]

    @classmethod
    def from_domain(cls, obj: RoleInfo) -> RoleOut:
        return cls(
            name=obj.name,
            description=obj.description,
            builtin=obj.builtin,
            actions=_names(obj.actions),
            defined_in=obj.defined_in,
            changed_in=list(obj.changed_in),
            source=obj.source,
            default_actions=_names(obj.base),
            added=_names(obj.added),
            removed=_names(obj.removed),
        )

    def to_domain(self) -> RoleInfo:
        return RoleInfo(
            name=self.name,
            actions=frozenset(Action(a) for a in self.actions),
            description=self.description,
            builtin=self.builtin,
            defined_in=self.defined_in,
            base=frozenset(Action(a) for a in self.default_actions),
            changed_in=tuple(self.changed_in),
        )


class RolesDocumentOut(WireModel):
    """One version of the roles document of the installation (scope `*`) or of a project, as it
    was applied; `digest` is the sha256 of its text, which the apply's audit event carries."""

    scope: str
    version: int
    text: str
    digest: str
    created_by: str
    created_at: Time

    @classmethod
    def from_domain(cls, obj: RolesDocument) -> RolesDocumentOut:
        return cls(
            scope=obj.scope,
            version=obj.version,
            text=obj.text,
            digest=obj.digest,
            created_by=obj.created_by,
            created_at=time_out(obj.created_at),
        )

    def to_domain(self) -> RolesDocument:
        return RolesDocument(
            scope=self.scope,
            version=self.version,
            text=self.text,
            digest=self.digest,
            created_by=self.created_by,
            created_at=time_in(self.created_at),
        )
