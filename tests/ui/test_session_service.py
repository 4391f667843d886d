"""SessionService on both databases: what a session stands for, and every way it ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from relayml.domain.audit import Event
from relayml.errors import InvalidInput, Unauthenticated
from relayml.services import Services, open_services
from relayml.services.base import utcnow
from relayml.services.sessions import csrf_matches, csrf_token, session_hash


@pytest.fixture
def services(store_url: str, tmp_path: Path) -> Iterator[Services]:
    s = open_services(store_url, str(tmp_path / "artifacts"))
    yield s
    s.close()


def test_a_session_stands_for_its_user_until_it_ends(services: Services) -> None:
    admin = services.identity.provision_local("root")
    issued = services.identity.create_user(admin, "dana", ["data_scientist"], "default")
    opened = services.sessions.sign_in(f"  {issued.token}\n")
    assert opened.user == "dana" and len(opened.id) >= 40
    assert opened.expires_at <= utcnow() + timedelta(hours=12)
    who = services.sessions.principal(opened.id)
    assert who.user == "dana" and who.roles_in("default") == {"data_scientist"}
    # roles are read afresh: a new grant shows at once
    services.identity.grant(admin, "dana", "stakeholder", "default")
    assert services.sessions.principal(opened.id).roles_in("default") == {
        "data_scientist",
        "stakeholder",
    }
    assert services.sessions.sign_out(opened.id) is True
    assert services.sessions.sign_out(opened.id) is False
    with pytest.raises(Unauthenticated, match="signed out"):
        services.sessions.principal(opened.id)
    actions = [e.action for e in services.audit.log(admin, project="default", actor="dana")]
    assert Event.SESSION_OPEN.value in actions and Event.SESSION_CLOSE.value in actions


def test_an_expired_session_or_a_revoked_token_ends_it(services: Services) -> None:
    admin = services.identity.provision_local("root")
    issued = services.identity.create_user(admin, "dana", ["data_scientist"], "default")
    first = services.sessions.sign_in(issued.token)
    second = services.sessions.sign_in(issued.token)
    from relayml.store.sql import schema as s

    with services.store.write() as tx:  # the first one's twelve hours are up
        tx.conn.execute(  # type: ignore[attr-defined]
            update(s.ui_sessions)
            .where(s.ui_sessions.c.id_hash == session_hash(first.id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(Unauthenticated, match="expired"):
        services.sessions.principal(first.id)
    assert services.sessions.principal(second.id).user == "dana"
    services.identity.revoke_token(admin, issued.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        services.sessions.principal(second.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        services.sessions.sign_in(issued.token)


def test_unknown_sessions_and_tokens_are_refused(services: Services) -> None:
    services.identity.provision_local("root")
    for bad in (None, "", "nope"):
        with pytest.raises(Unauthenticated):
            services.sessions.principal(bad)
    for token in ("", "   ", "rly_unknown"):
        with pytest.raises(Unauthenticated):
            services.sessions.sign_in(token)


def test_csrf_tokens_belong_to_one_session() -> None:
    assert csrf_matches("a", csrf_token("a"))
    assert not csrf_matches("a", csrf_token("b"))
    assert not csrf_matches("a", None) and not csrf_matches("a", "")
    assert csrf_token("a") != csrf_token("b")


def test_a_sign_in_forgets_sessions_that_ended_over_a_day_ago(services: Services) -> None:
    from sqlalchemy import func, select

    from relayml.services.sessions import FORGET_AFTER
    from relayml.store.sql import schema as s

    admin = services.identity.provision_local("root")
    issued = services.identity.create_user(admin, "dana", ["data_scientist"], "default")
    old_expired, old_signed_out, recent = (services.sessions.sign_in(issued.token) for _ in "abc")
    long_ago = utcnow() - FORGET_AFTER - timedelta(minutes=1)
    t = s.ui_sessions
    with services.store.write() as tx:
        conn = tx.conn  # type: ignore[attr-defined]
        conn.execute(
            update(t)
            .where(t.c.id_hash.in_([session_hash(old_expired.id), session_hash(recent.id)]))
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
        conn.execute(
            update(t).where(t.c.id_hash == session_hash(old_expired.id)).values(expires_at=long_ago)
        )
        conn.execute(
            update(t)
            .where(t.c.id_hash == session_hash(old_signed_out.id))
            .values(ended_at=long_ago)
        )
    services.sessions.sign_in(issued.token)
    with services.store.read() as tx:
        left = tx.conn.execute(select(func.count()).select_from(t)).scalar()  # type: ignore[attr-defined]
    assert left == 2  # the recent expired one and the new one
    with pytest.raises(Unauthenticated, match="unknown session"):
        services.sessions.principal(old_expired.id)
    with pytest.raises(Unauthenticated, match="expired"):  # still says why, within the day
        services.sessions.principal(recent.id)


def _seen(services: Services, session_id: str, at: datetime | None = None) -> datetime | None:
    """Set (with `at`) or read a session's last activity as stored."""
    from sqlalchemy import select

    from relayml.store.sql import schema as s

    t, key = s.ui_sessions, session_hash(session_id)
    with services.store.write() as tx:
        conn = tx.conn  # type: ignore[attr-defined]
        if at is not None:
            conn.execute(update(t).where(t.c.id_hash == key).values(last_seen_at=at))
        found = conn.execute(select(t.c.last_seen_at).where(t.c.id_hash == key)).scalar()
    if found is None:
        return None
    assert isinstance(found, datetime)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found


def test_a_session_without_a_request_for_the_idle_limit_ends(services: Services) -> None:
    admin = services.identity.provision_local("root")
    issued = services.identity.create_user(admin, "dana", ["data_scientist"], "default")
    opened = services.sessions.sign_in(issued.token)
    # activity is written at most once a minute, so the limit is 30 minutes plus that minute:
    # 30.5 minutes after the last activity written, the last request may be 29.5 minutes ago
    _seen(services, opened.id, utcnow() - timedelta(minutes=30, seconds=30))
    assert services.sessions.principal(opened.id).user == "dana"
    _seen(services, opened.id, utcnow() - timedelta(minutes=31, seconds=30))
    for _ in range(2):  # ended by the first request after, and stays ended
        with pytest.raises(Unauthenticated, match="signed out after 30 minutes without activ"):
            services.sessions.principal(opened.id)
    closes = [
        e
        for e in services.audit.log(admin, project="default", actor="dana")
        if e.action == Event.SESSION_CLOSE.value
    ]
    assert len(closes) == 1  # racing requests end it once
    assert services.sessions.sign_out(opened.id) is False  # nothing left to end


def test_activity_is_written_at_most_once_a_minute(services: Services) -> None:
    admin = services.identity.provision_local("root")
    issued = services.identity.create_user(admin, "dana", ["data_scientist"], "default")
    opened = services.sessions.sign_in(issued.token)
    first = _seen(services, opened.id)
    assert first is not None
    for _ in range(3):
        services.sessions.principal(opened.id)
    assert _seen(services, opened.id) == first  # within the minute: no write
    before = utcnow()
    old = _seen(services, opened.id, before - timedelta(minutes=2))
    services.sessions.principal(opened.id)
    written = _seen(services, opened.id)
    assert old is not None and written is not None and written >= before
    services.sessions.principal(opened.id)
    assert _seen(services, opened.id) == written


def test_the_idle_limit_is_configurable(store_url: str, tmp_path: Path) -> None:
    s = open_services(store_url, str(tmp_path / "artifacts"), ui_idle_minutes=5)
    try:
        admin = s.identity.provision_local("root")
        issued = s.identity.create_user(admin, "dana", ["data_scientist"], "default")
        opened = s.sessions.sign_in(issued.token)
        _seen(s, opened.id, utcnow() - timedelta(minutes=4))
        assert s.sessions.principal(opened.id).user == "dana"
        _seen(s, opened.id, utcnow() - timedelta(minutes=7))
        with pytest.raises(Unauthenticated, match="after 5 minutes without activity"):
            s.sessions.principal(opened.id)
    finally:
        s.close()
    for bad in (0, 0.5, 721, float("nan")):
        with pytest.raises(InvalidInput, match="RELAY_UI_IDLE_MINUTES"):
            open_services(store_url, str(tmp_path / "a"), ui_idle_minutes=bad)


def test_the_idle_limit_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relayml.config import Settings

    monkeypatch.delenv("RELAY_UI_IDLE_MINUTES", raising=False)
    assert Settings.from_env(tmp_path).ui_idle_minutes is None
    for raw, want in (("15", 15.0), (" 90 ", 90.0)):
        monkeypatch.setenv("RELAY_UI_IDLE_MINUTES", raw)
        assert Settings.from_env(tmp_path).ui_idle_minutes == want
    monkeypatch.setenv("RELAY_UI_IDLE_MINUTES", "half an hour")
    with pytest.raises(InvalidInput, match="not a number of minutes"):
        Settings.from_env(tmp_path)
