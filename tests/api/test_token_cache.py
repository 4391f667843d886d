"""Authentication is answered from a short-lived cache: a request need not read the database to
know who is calling. Statements are counted, not timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from relayml.api.app import create_app
from relayml.domain.identity import Principal
from relayml.errors import Unauthenticated
from relayml.services import Services, open_services
from relayml.services.token_cache import TokenCache


class Statements:
    """Every SQL statement the store's engine sends, counted."""

    def __init__(self, services: Services) -> None:
        self.sql: list[str] = []
        engine = services.store.engine  # type: ignore[attr-defined]
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sql.append(statement)

    def during(self, call: Any) -> list[str]:
        start = len(self.sql)
        call()
        return self.sql[start:]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = open_services(f"sqlite:///{tmp_path / 'relay.db'}", str(tmp_path / "artifacts"))
    yield svc
    svc.close()


def _user(services: Services, name: str = "ana") -> str:
    admin = services.identity.provision_local("admin")
    services.identity.ensure_project(admin, "churn")
    return services.identity.create_user(admin, name, ["data_scientist"], "churn").token


def _queries(sql: list[str]) -> list[str]:
    """The statements that read or write data (not BEGIN/COMMIT/ROLLBACK)."""
    return [s for s in sql if s.split()[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}]


def test_a_cached_token_reads_no_database(services: Services) -> None:
    token = _user(services)
    count = Statements(services)
    first = count.during(lambda: services.identity.authenticate(token))
    again = count.during(lambda: services.identity.authenticate(token))
    assert len(_queries(first)) == 2  # the token (with its user), then the user's grants
    assert again == []


def test_a_request_with_a_cached_token_reads_only_what_its_service_needs(
    services: Services,
) -> None:
    """GET /whoami: the first request authenticates from the database (2 queries) and reads the
    caller's grants (1); the next ones only read the grants."""
    token = _user(services)
    count = Statements(services)
    app = create_app(services)

    async def whoami_twice() -> list[list[str]]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        seen = []
        async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
            for _ in range(2):
                start = len(count.sql)
                r = await client.get("/api/v1/whoami", headers=headers)
                assert r.status_code == 200 and r.json()["user"] == "ana", r.text
                seen.append(count.sql[start:])
        return seen

    first, later = asyncio.run(whoami_twice())
    assert len(_queries(first)) == 3
    assert len(_queries(later)) == 1


def test_changes_made_in_this_process_are_honoured_at_once(services: Services) -> None:
    token = _user(services)
    admin = services.identity.provision_local("admin")
    who = services.identity.authenticate(token)
    assert who.user == "ana"
    (listed,) = services.identity.list_tokens(admin, "ana")
    services.identity.revoke_token(admin, listed.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        services.identity.authenticate(token)


def test_the_cache_forgets_after_its_ttl_and_at_the_tokens_expiry() -> None:
    now = [0.0]
    cache = TokenCache(ttl=5, max_entries=2, clock=lambda: now[0])
    ana = Principal("ana")
    cache.put("h1", ana, None)
    now[0] = 4.9
    assert cache.get("h1") == ana
    now[0] = 5.0
    assert cache.get("h1") is None  # stale: the next request asks the database again
    cache.put("h2", ana, datetime.now(UTC) - timedelta(seconds=1))
    assert cache.get("h2") is None  # an entry never outlives its token


def test_the_cache_is_bounded() -> None:
    cache = TokenCache(ttl=5, max_entries=2)
    for name in ("a", "b", "c"):
        cache.put(name, Principal(name), None)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") == Principal("c")


def test_a_ttl_of_zero_turns_the_cache_off(tmp_path: Path) -> None:
    svc = open_services(
        f"sqlite:///{tmp_path / 'relay.db'}", str(tmp_path / "artifacts"), auth_cache_seconds=0
    )
    try:
        token = _user(svc)
        count = Statements(svc)
        svc.identity.authenticate(token)
        assert len(_queries(count.during(lambda: svc.identity.authenticate(token)))) == 2
    finally:
        svc.close()
