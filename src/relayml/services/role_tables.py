"""The role table a permission check uses: the built-in roles, the installation's roles
document applied to them, then the project's.

Fast, and always current: each transaction reads only the newest version and digest of the two
documents (one indexed statement, once per transaction: `RolesRepo.heads`); the table built from
them is kept per process, keyed by those digests, so a document's text is read and parsed once
per process, not once per call. A change made by another process is seen by the next
transaction, as grants are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from relayml.domain.identity import GLOBAL_SCOPE
from relayml.domain.roles import (
    DEFAULT_TABLE,
    EMPTY_DOC,
    INSTALLATION,
    PROJECT,
    RolesDoc,
    RoleTable,
    apply_document,
    parse_roles,
)
from relayml.errors import InvalidInput
from relayml.store.base import Transaction

Head = tuple[int, str]  # (version, digest)


class TableCache:
    """Role tables by the (version, digest) of the documents they were built from."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._tables: OrderedDict[tuple[Head | None, Head | None], RoleTable] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Head | None, Head | None]) -> RoleTable | None:
        with self._lock:
            found = self._tables.get(key)
            if found is not None:
                self._tables.move_to_end(key)
            return found

    def put(self, key: tuple[Head | None, Head | None], table: RoleTable) -> None:
        with self._lock:
            self._tables[key] = table
            self._tables.move_to_end(key)
            while len(self._tables) > self.max_entries:
                self._tables.popitem(last=False)


TABLES = TableCache()
"""One per process: its entries are pure values of the documents' content."""


def stored_doc(tx: Transaction, scope: str, head: Head | None) -> RolesDoc:
    """The document in force for `scope` (empty when none was applied)."""
    if head is None:
        return EMPTY_DOC
    found = tx.roles.document(scope, head[0])
    if found is None:  # pragma: no cover - the head was read in this transaction
        return EMPTY_DOC
    try:
        return parse_roles(found.text)
    except InvalidInput:  # a document this Relay can no longer read changes nothing
        return EMPTY_DOC


def build(
    install: RolesDoc, install_version: int, project: RolesDoc | None, project_version: int
) -> RoleTable:
    """The table from the two documents, read leniently: a stored project document's change to
    a role the installation no longer defines is skipped (applying one is refused instead)."""
    table = apply_document(DEFAULT_TABLE, install, INSTALLATION, install_version, strict=False)
    if project is None:
        return table
    return apply_document(table, project, PROJECT, project_version, strict=False)


def table_for(tx: Transaction, project: str) -> RoleTable:
    """The role table in force in `project` ('*': the installation's)."""
    scopes = [GLOBAL_SCOPE] if project == GLOBAL_SCOPE else [GLOBAL_SCOPE, project]
    heads = tx.roles.heads(scopes)
    install_head = heads.get(GLOBAL_SCOPE)
    project_head = heads.get(project) if project != GLOBAL_SCOPE else None
    key = (install_head, project_head)
    found = TABLES.get(key)
    if found is not None:
        return found
    install = stored_doc(tx, GLOBAL_SCOPE, install_head)
    own = stored_doc(tx, project, project_head) if project != GLOBAL_SCOPE else None
    table = build(
        install,
        install_head[0] if install_head else 0,
        own,
        project_head[0] if project_head else 0,
    )
    TABLES.put(key, table)
    return table
