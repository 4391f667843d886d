"""Identity on the wire: the caller, projects, users and issued tokens."""

from __future__ import annotations

from typing import Any

from relayml.domain.identity import IssuedToken, Project, TokenInfo, User
from relayml.wire.common import Time, WireModel, maybe_time_in, maybe_time_out, time_in, time_out


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
        return cls(
            name=obj.name,
            created_at=time_out(obj.created_at),
            created_by=obj.created_by,
            description=obj.description,
        )

    def to_domain(self) -> Project:
        return Project(
            name=self.name,
            created_at=time_in(self.created_at),
            created_by=self.created_by,
            description=self.description,
        )


class UserOut(WireModel):
    name: str
    created_at: Time
    grants: dict[str, list[str]]
    active: bool = True

    @classmethod
    def from_domain(cls, obj: User) -> UserOut:
        return cls(
            name=obj.name,
            created_at=time_out(obj.created_at),
            grants={p: [str(r) for r in roles] for p, roles in obj.grants.items()},
            active=obj.active,
        )

    def to_domain(self) -> User:
        return User(
            name=self.name,
            created_at=time_in(self.created_at),
            grants={p: list(roles) for p, roles in self.grants.items()},
            active=self.active,
        )


class IssuedTokenOut(WireModel):
    user: str
    token: str
    token_id: str
    expires_at: Time | None = None

    @classmethod
    def from_domain(cls, obj: IssuedToken) -> IssuedTokenOut:
        return cls(
            user=obj.user,
            token=obj.token,
            token_id=obj.token_id,
            expires_at=maybe_time_out(obj.expires_at),
        )

    def to_domain(self) -> IssuedToken:
        return IssuedToken(
            user=self.user,
            token=self.token,
            token_id=self.token_id,
            expires_at=maybe_time_in(self.expires_at),
        )


class TokenInfoOut(WireModel):
    """A token as listed: never its secret."""

    id: str
    user: str
    created_at: Time
    expires_at: Time | None = None
    revoked_at: Time | None = None

    @classmethod
    def from_domain(cls, obj: TokenInfo) -> TokenInfoOut:
        return cls(
            id=obj.id,
            user=obj.user,
            created_at=time_out(obj.created_at),
            expires_at=maybe_time_out(obj.expires_at),
            revoked_at=maybe_time_out(obj.revoked_at),
        )

    def to_domain(self) -> TokenInfo:
        return TokenInfo(
            id=self.id,
            user=self.user,
            created_at=time_in(self.created_at),
            expires_at=maybe_time_in(self.expires_at),
            revoked_at=maybe_time_in(self.revoked_at),
        )
