"""Every command imports only what it needs (issue 10 item 2): the import graph is asserted, not
the time, so the test holds on a loaded machine. benchmarks/cli/run.py measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from relayml.cli.app import COMMANDS, load_commands
from tests.cli.conftest import CLEARED

HEAVY = ("scipy", "pandas", "sklearn", "fastapi", "uvicorn", "starlette", "ray", "matplotlib")


def loaded(home: Path, *argv: str) -> tuple[int, set[str]]:
    """Run `relay ARGV` in a fresh interpreter; its exit code and every module it imported."""
    script = (
        "import json, sys\n"
        "from relayml.cli.app import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "else:\n"
        "    code = 0\n"
        "sys.stderr.write('\\n@@' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(RELAY_HOME=str(home), RELAY_USER="admin", NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, modules = json.loads(proc.stderr.rpartition("\n@@")[2])
    return code, set(modules)


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".relay"


def test_help_imports_no_command_module_and_no_store(home: Path) -> None:
    code, modules = loaded(home, "--help")
    assert code == 0
    assert not {m for m in modules if m.startswith("relayml.cli.commands.")}
    assert tops(modules) & {*HEAVY, "sqlalchemy", "pyarrow", "numpy", "pydantic"} == set()


@pytest.mark.parametrize(
    "argv",
    [("runs", "ls", "--help"), ("runs", "ls"), ("datasets", "ls"), ("datasets", "ls", "--help")],
)
def test_listing_loads_no_science_no_server_and_no_other_command(
    home: Path, argv: tuple[str, ...]
) -> None:
    assert loaded(home, "init")[0] == 0  # the store exists: nothing to migrate
    code, modules = loaded(home, *argv)
    assert code == 0
    assert tops(modules) & {*HEAVY, "pyarrow", "numpy", "fsspec", "alembic"} == set()
    commands = {m.rpartition(".")[2] for m in modules if m.startswith("relayml.cli.commands.")}
    assert commands == {COMMANDS[argv[0]][0]}
    assert "relayml.stats" not in modules and "relayml.contracts" not in modules
    if "--help" not in argv:  # SQLite: no PostgreSQL dialect
        assert "sqlalchemy.dialects.postgresql" not in modules


def test_a_small_publish_loads_no_scipy_pandas_or_server(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "wine.csv"
    data.write_text("a,b,c\n" + "".join(f"{i},{i / 7:.3f},k{i % 3}\n" for i in range(178)))
    assert loaded(home, "init")[0] == 0
    code, modules = loaded(home, "datasets", "publish", "wine", str(data))
    assert code == 0
    assert tops(modules) & set(HEAVY) == set()
    assert "relayml.stats.decision" not in modules  # the drift tests' SciPy
    assert "relayml.stats.profile" in modules  # (it did profile the data)


def test_the_table_is_what_the_modules_register() -> None:
    """COMMANDS (the names and help lines `relay --help` shows without importing anything)
    says, for every command module, exactly the commands it registers and their help."""
    modules = sorted({module for module, _ in COMMANDS.values()})
    on_disk = sorted(
        p.stem
        for p in (Path(__file__).parents[2] / "src/relayml/cli/commands").glob("*.py")
        if p.stem != "__init__"
    )
    assert modules == on_disk
    registered = {}
    for module in modules:
        for name, command in load_commands(module).items():
            assert COMMANDS.get(name, (None,))[0] == module, f"{name} is in {module}"
            registered[name] = command
    assert set(registered) == set(COMMANDS)
    for name, (_, text) in COMMANDS.items():
        first = " ".join((registered[name].help or "").split("\n\n")[0].split())
        assert first.startswith(text), (name, first)
