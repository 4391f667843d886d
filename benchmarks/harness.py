"""What every `make bench` script shares: peers' virtual environments, the machine's
description, and writing one section of benchmarks/RESULTS.md without touching the others."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
VENVS = BENCHMARKS / ".venvs"
RESULTS = BENCHMARKS / "RESULTS.md"


def peer_python(name: str, packages: Sequence[str], env: Mapping[str, str] | None = None) -> Path:
    """The interpreter of the peer's venv under benchmarks/.venvs, created and filled with
    `packages` (latest versions) the first time."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"creating {venv} (one-off, a few minutes) ...", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        if not python.exists():
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", *packages], check=True, env=dict(env or os.environ))
        marker.write_text("ok\n")
    return python


def machine() -> dict[str, str]:
    """nproc, CPU model, memory, OS and the load average now (other work slows every tool)."""
    cpu, mem = "unknown", "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except (OSError, ValueError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"{m['nproc']} CPUs (nproc), {m['cpu']}, {m['memory']} RAM, Python {m['python']}, "
        f"load average at the end {m['load']} (other work on the machine slows every tool)"
    )


def write_section(name: str, section: str, path: Path = RESULTS) -> Path:
    """Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` (or append it);
    `section` includes the two markers."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start, stop = text.find(begin), text.find(end)
    if start != -1 and stop > start:
        text = text[:start] + section.rstrip("\n") + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path
