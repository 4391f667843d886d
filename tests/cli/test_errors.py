"""User errors: one line on stderr, the error's exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import Relay, Seeded, one_error_line


def test_unknown_run_exits_5_with_one_line(relay: Relay) -> None:
    result = relay("runs", "show", "0123456789abcdef0123456789abcdef")
    assert result.code == 5
    err = one_error_line(result)
    assert err.count("\n") == 1
    assert "0123456789abcdef0123456789abcdef" in err
    assert "relay runs ls" in err


def test_malformed_run_id_exits_2(relay: Relay) -> None:
    result = relay("runs", "show", "nope")
    assert result.code == 2
    assert "'nope'" in one_error_line(result)


def test_bad_filter_exits_2_pointing_at_the_position(seeded: Seeded) -> None:
    result = seeded.relay("runs", "ls", "--filter", "metrics.acc >> 0.5")
    assert result.code == 2
    err = one_error_line(result)
    lines = err.splitlines()
    assert "position 13" in lines[0]
    assert lines[1].strip() == "metrics.acc >> 0.5"
    # the caret sits under the offending character
    assert lines[2].index("^") == lines[1].index("metrics") + 13


def test_debug_shows_the_traceback(relay: Relay) -> None:
    result = relay("runs", "show", "nope", RELAY_DEBUG="1")
    assert result.code == 2
    assert "Traceback" in result.err
    assert "InvalidInput" in result.err


def test_usage_errors_are_click_style_with_exit_2(relay: Relay) -> None:
    result = relay("runs", "ls", "--no-such-option")
    assert result.code == 2
    assert "No such option" in result.err
    assert "Traceback" not in result.err


def test_unknown_token_exits_3(relay: Relay) -> None:
    relay("whoami")  # creates the store
    result = relay("whoami", RELAY_TOKEN="rly_not-a-real-token")
    assert result.code == 3
    assert "the token is unknown" in one_error_line(result)


def test_project_create_twice_is_a_conflict(relay: Relay) -> None:
    assert relay("projects", "create", "churn", "--description", "churn models").code == 0
    again = relay("projects", "create", "churn")
    assert again.code == 6
    assert "'churn' already exists" in one_error_line(again)


def test_invalid_project_name_is_refused(relay: Relay) -> None:
    result = relay("runs", "ls", "--project", "../etc")
    assert result.code == 2
    assert "invalid project name '../etc'" in one_error_line(result)


def test_help_imports_no_heavy_module() -> None:
    """`relay --help` stays fast because command modules import heavy libraries lazily."""
    code = (
        "import sys\n"
        "from relayml.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('pandas', 'numpy', 'sqlalchemy', 'sklearn', 'fastapi', 'httpx', 'alembic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: relay" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_a_bug_exits_70_not_the_gates_1() -> None:
    """An unexpected exception shows its traceback and exits 70: exit 1 stays "a gate failed"."""
    script = (
        "from relayml.cli import app\n"
        "@app.app.command('boom')\n"
        "def boom() -> None:\n"
        "    raise ZeroDivisionError('a bug')\n"
        "app.main(['boom'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 70
    assert "Traceback" in proc.stderr and "ZeroDivisionError: a bug" in proc.stderr
    assert "internal error (ZeroDivisionError); please report it" in proc.stderr
