"""Identity on the wire: the caller, projects, users and issued tokens."""

from __future__ import annotations

from typing import Any

from relayml import wire
from relayml.domain.identity import IssuedToken, Project, TokenInfo, User
from relayml.wire.common import Time, WireModel


class WhoamiOut(WireModel):
    user: str
    grants: dict[str, list[str]]

    @classmethod
    def from_domain(cls, obj: dict[str, Any]) -> WhoamiOut:
        return cls.model_validate(obj)


class ProjectOut(WireModel):
    name: str
    created_at: Time
    created_by: str
    description: str = ""

    @classmethod
    def from_domain(cls, obj: Project) -> ProjectOut:
        return cls.model_validate(wire.project_out(obj))

    def to_domain(self) -> Project:
        return wire.project_in(self.model_dump())


class UserOut(WireModel):
    name: str
    created_at: Time
    grants: dict[str, list[str]]
    active: bool = True

    @classmethod
    def from_domain(cls, obj: User) -> UserOut:
        return cls.model_validate(wire.user_out(obj))

    def to_domain(self) -> User:
        return wire.user_in(self.model_dump())


class IssuedTokenOut(WireModel):
    user: str
    token: str
    token_id: str
    expires_at: Time | None = None

    @classmethod
    def from_domain(cls, obj: IssuedToken) -> IssuedTokenOut:
        return cls.model_validate(wire.token_out(obj))

    def to_domain(self) -> IssuedToken:
        return wire.token_in(self.model_dump())


class TokenInfoOut(WireModel):
    """A token as listed: never its secret."""

    id: str
    user: str
    created_at: Time
    expires_at: Time | None = None
    revoked_at: Time | None = None

    @classmethod
    def from_domain(cls, obj: TokenInfo) -> TokenInfoOut:
        return cls.model_validate(wire.token_info_out(obj))

    def to_domain(self) -> TokenInfo:
        return wire.token_info_in(self.model_dump())
