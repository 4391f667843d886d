"""audit events and head carry an HMAC under a key kept outside the database

Events written before this revision ("legacy") are MACed here, once, if their hash chain still
verifies, and a first checkpoint of the chain is exported: from then on they are held to the
same standard as new events. A legacy chain that does not verify is left unMACed, so
`relay audit verify` keeps reporting it (MACing it would launder the tampering).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from relayml.domain.audit import head_text, make_checkpoint, verify_chain
from relayml.store.sql import schema as s
from relayml.store.sql.audit import SqlAudit

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("audit_events", "audit_head"):
        op.add_column(table, sa.Column("key_id", sa.String(64), nullable=False, server_default=""))
        op.add_column(table, sa.Column("mac", sa.String(64), nullable=False, server_default=""))
    anchor = context.config.attributes.get("audit_anchor")
    if anchor is not None:
        _anchor_legacy(op.get_bind(), anchor)


def _anchor_legacy(conn: sa.Connection, anchor: object) -> None:
    from relayml.store.audit_anchor import AuditAnchor

    assert isinstance(anchor, AuditAnchor)
    audit = SqlAudit(conn, has_count=False)  # 0011 adds the count column
    head = audit.head()
    if head is None or head.seq == 0:
        return
    result = verify_chain(audit.iter_all(), (head.seq, head.hash))
    if not result.ok:
        return
    keys = anchor.keys
    ev = s.audit_events.c
    for event in audit.iter_all():
        key_id, mac = keys.sign("event", event.hash)
        conn.execute(
            s.audit_events.update().where(ev.seq == event.seq).values(key_id=key_id, mac=mac)
        )
    key_id, mac = keys.sign("head", head_text(head.seq, head.hash))
    conn.execute(s.audit_head.update().values(key_id=key_id, mac=mac))
    anchor.checkpoints.append(make_checkpoint(keys, head.seq, head.hash, datetime.now(UTC)))


def downgrade() -> None:
    for table in ("audit_head", "audit_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("mac")
            batch.drop_column("key_id")
