"""The layer map of docs/architecture.md, held true: its table says which relayml packages each
package (or top-level module) may import, and every import in every module, at the top or inside
a function, relative or by name (`importlib.import_module("relayml.x")`, `-m relayml.x`), must
be allowed there. A package the table does not list fails the test: add its row first."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import relayml

ROOT = Path(relayml.__file__).parent
DOC = Path(__file__).parents[1] / "docs" / "architecture.md"
BEGIN, END = "<!-- layer map: begin -->", "<!-- layer map: end -->"
MODULE_REF = re.compile(r"relayml(?:\.\w+)+(?::[\w.]+)?")  # "relayml.x.y" or "relayml.x:fn"
DASH_M = re.compile(r"-m\s+(relayml(?:\.\w+)+)")


def layer_map() -> dict[str, set[str]]:
    """The table between the markers in docs/architecture.md: package -> what it may import."""
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} has lost its layer map markers"
    table: dict[str, set[str]] = {}
    for line in text.split(BEGIN)[1].split(END)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue  # the header and its rule
        package = cells[0].strip("`")
        assert package not in table, f"{package} has two rows in the layer map"
        allowed = re.findall(r"`([\w.]+)`", cells[1])
        twice = sorted({a for a in allowed if allowed.count(a) > 1})
        assert not twice, f"{package}'s row lists {twice} twice"
        table[package] = set(allowed)
    return table


def units() -> set[str]:
    """Every package and top-level module under src/relayml (`__init__` is the root module)."""
    found = {p.stem for p in ROOT.glob("*.py")}
    found |= {p.parent.name for p in ROOT.glob("*/__init__.py")}
    return found


def unit_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _module_name(path: Path) -> list[str]:
    parts = ["relayml", *path.relative_to(ROOT).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def imported_names(source: str, path: Path) -> set[str]:
    """Every module name the source imports or names for import: `import`, `from ... import`
    (relative ones resolved), `import_module("...")`, and module strings such as
    "relayml.x.y", "relayml.x:fn" or "-m relayml.x" outside docstrings."""
    tree = ast.parse(source, str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    skip = _docstrings(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module != "relayml":  # `from relayml import x` imports x, not the root's code
                names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in skip:
                continue
            if MODULE_REF.fullmatch(node.value):
                names.add(node.value.split(":")[0])
            names |= set(DASH_M.findall(node.value))
    return names


def relay_units(names: set[str], known: set[str]) -> set[str]:
    """The package or top-level module of relayml each name lies in."""
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != "relayml":
            continue
        if len(parts) == 1 or parts[1] not in known:  # `import relayml`, `from relayml import x`
            found.add("__init__")
        else:
            found.add(parts[1])
    return found


def test_the_map_lists_every_package_and_only_real_ones() -> None:
    table, real = layer_map(), units()
    assert sorted(real - set(table)) == [], "packages missing from the layer map"
    assert sorted(set(table) - real) == [], "layer map rows for packages that do not exist"
    for package, allowed in table.items():
        assert allowed <= real, f"{package} may import unknown {sorted(allowed - real)}"
        assert package not in allowed, f"{package} lists itself"


def test_the_directions_the_design_fixes() -> None:
    table = layer_map()
    assert table["domain"] <= {"errors"}  # domain imports nothing of ours but errors
    assert [p for p, allowed in table.items() if "cli" in allowed] == []  # nothing imports cli
    assert "services" not in table["sdk"]  # the SDK reaches services only through the Backend
    assert not table["store"] & {"services", "api", "client", "sdk", "cli"}
    assert not table["services"] & {"api", "client", "sdk", "cli"}


def test_every_import_is_allowed_by_the_map() -> None:
    table, known = layer_map(), units()
    broken = []
    for path in sorted(ROOT.rglob("*.py")):
        me = unit_of(path)
        used = relay_units(imported_names(path.read_text(encoding="utf-8"), path), known)
        bad = used - table.get(me, set()) - {me}
        if bad:
            broken.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert broken == []


def test_the_checker_sees_every_way_of_importing() -> None:
    """Each form below is one the checker must catch; a miss would let an upward edge in."""
    source = '''
"""Docstrings may mention relayml.cli and `python -m relayml.cli` freely."""
import relayml as relay
from relayml.store import artifacts
from . import base
from ..sdk import lineage

def later():
    from relayml.services import open_services
    import importlib
    importlib.import_module("relayml.api.app")
    return [sys.executable, "-m", "relayml.testing.server"], "relayml.demo.etl:prepare"

def shell():
    return "python -m relayml.wire --flag"
'''
    path = ROOT / "executors" / "example.py"
    known = units()
    assert relay_units(imported_names(source, path), known) == {
        "__init__", "store", "executors", "sdk", "services", "api", "testing", "demo", "wire",
    }  # fmt: skip
    at_root = relay_units(imported_names("from . import errors, drift", ROOT / "x.py"), known)
    assert at_root == {"errors", "drift"}
