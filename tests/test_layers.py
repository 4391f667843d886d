"""The one-way dependency rule of docs/architecture.md, checked on every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import relayml

ROOT = Path(relayml.__file__).parent

# package -> the relayml packages its modules must not import
FORBIDDEN = {
    "domain": {"store", "services", "client", "api", "sdk", "cli", "wire"},
    "wire": {"store", "services", "client", "api", "sdk", "cli"},
    "store": {"services", "client", "api", "sdk", "cli"},
    "services": {"client", "api", "sdk", "cli"},
    "client": {"api", "sdk", "cli"},
    "api": {"client", "sdk", "cli"},
    # shared runtime machinery: below every area that uses it
    "scheduling": {"store", "services", "client", "api", "sdk", "cli", "pipelines"},
    "notifications": {"store", "services", "client", "api", "sdk", "cli", "pipelines"},
    "executors": {"pipelines", "sdk", "client", "services", "store", "api", "cli"},
    "stats": {"reports", "drift", "services", "store", "client", "api", "sdk", "cli"},
}


def _relay_imports(path: Path) -> set[str]:
    """The first component under `relayml.` of everything the module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "relayml" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_dependencies_point_one_way() -> None:
    broken = []
    for package, forbidden in FORBIDDEN.items():
        files = [ROOT / f"{package}.py"] if (ROOT / f"{package}.py").exists() else []
        files += sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []
        assert files, f"no modules for {package}"
        for path in files:
            bad = _relay_imports(path) & forbidden
            if bad:
                broken.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert broken == []
