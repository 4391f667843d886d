"""A governance officer granted in one project verifies the chain from the UI: the whole chain
is checked (it runs through every project), the answer shows no other project's event."""

from __future__ import annotations

from relayml.client.http import HttpBackend
from tests.ui.conftest import OTHER, PROJECT, UiWorld, csrf_of, sign_in


def test_a_project_governance_officer_verifies_the_chain_without_seeing_others(
    ui_world: UiWorld,
) -> None:
    admin = HttpBackend(ui_world.url, ui_world.admin_token)
    try:
        token = admin.identity.create_user("gina", ["model_governance"], PROJECT).token
        other_events = admin.audit.log(project=OTHER, limit=50)
        # an entity may carry the same name in both projects (a deployment, a monitor): only
        # those the shown project does not have can tell the other project's trail apart
        own = {e.entity_id for e in admin.audit.log(project=PROJECT, limit=1000)}
    finally:
        admin.close()
    assert other_events  # the other project has a trail, none of it for gina
    with sign_in(ui_world.url, token) as c:
        home = c.get(f"/p/{PROJECT}/")
        assert "The audit chain verifies" in home.text
        page = c.get(f"/p/{PROJECT}/audit")
        r = c.post(f"/p/{PROJECT}/audit/verify", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 200, r.text[:500]
        assert "The audit chain verifies" in r.text and "across every project" in r.text
        for e in other_events:  # nothing of the other project's trail on the page
            assert e.hash[:16] not in r.text
            if e.entity_id not in own and e.entity_id not in ("", PROJECT):
                assert e.entity_id not in r.text
        assert OTHER not in r.text.split("<main")[1]
        refused = c.post(f"/p/{OTHER}/audit/verify", data={"csrf": csrf_of(page.text)})
        assert refused.status_code in (403, 404)
