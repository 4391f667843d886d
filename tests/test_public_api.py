"""The public SDK surface is exactly this list; changing it is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import relayml


def test_exported_members() -> None:
    assert sorted(relayml.__all__) == sorted(
        [
            "ActiveRun",
            "Conflict",
            "Dataset",
            "FilterSyntaxError",
            "IntegrityError",
            "InvalidInput",
            "NotFound",
            "PermissionDenied",
            "RelayError",
            "Run",
            "Unauthenticated",
            "Unprocessable",
            "UserCodeError",
            "__version__",
            "active_run",
            "autolog",
            "datasets",
            "deployments",
            "drift",
            "gc",
            "get_run",
            "inbox",
            "init",
            "loops",
            "models",
            "monitors",
            "pipeline",
            "pipelines",
            "policy",
            "requests",
            "roles",
            "search_runs",
            "start_run",
            "step",
            "webhooks",
        ]
    )
    for name in relayml.__all__:
        assert getattr(relayml, name) is not None


def test_import_is_light() -> None:
    """`import relayml` pulls in none of the heavy libraries; they load on first use."""
    code = (
        "import sys, relayml; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'fastapi', 'pyarrow', 'sklearn', 'scipy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_derives_from_relay_error() -> None:
    from relayml import errors

    found = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    classes = [c for c in found if issubclass(c, errors.RelayError)]
    assert classes == found
    statuses = {c.http_status for c in classes}
    assert {400, 401, 403, 404, 409, 422} <= statuses
