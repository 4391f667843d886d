"""The examples in README.md and docs/*.md run, in order, as a reader would copy them.

Every fenced block names its language. ```python blocks run in one namespace per file, and
```shell blocks run with bash (`-e -o pipefail`: a failing command fails the example) at their
place between them, in the same fresh directory and store, with the `relay` command on PATH.
```console blocks are shown, not run: what cannot run here (`make demo`, a server that stays up,
`export` lines for another machine). Other languages (text, yaml, toml, json, http) are data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)\n(.*?)^```", re.S | re.M)
RUN = {"python", "shell"}
SHOWN = {"console", "text", "yaml", "toml", "json", "http"}

DRIVER = """
import subprocess as _subprocess


def _shell(block, where):
    done = _subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        stdout=_subprocess.PIPE, stderr=_subprocess.STDOUT, text=True,
    )
    print(done.stdout)
    if done.returncode != 0:
        raise SystemExit(
            f"shell example at {where} exited {done.returncode}:\\n{block}\\n"
            f"it printed:\\n{done.stdout[-2000:]}"
        )

"""


def blocks(doc: Path) -> list[tuple[str, str, int]]:
    """(language, code, line) of every fenced block."""
    text = doc.read_text()
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def script_of(doc: Path) -> str:
    parts = [DRIVER]
    for lang, code, line in blocks(doc):
        if lang == "python":
            parts.append(code)
        elif lang == "shell":
            parts.append(f"_shell({code!r}, {f'{doc.name}:{line}'!r})\n")
    return "\n\n".join(parts)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_block_says_whether_it_runs(doc: Path) -> None:
    unknown = [(line, lang) for lang, _, line in blocks(doc) if lang not in RUN | SHOWN]
    assert not unknown, (
        f"{doc.name}: blocks at lines {unknown} name no known language; use python or shell "
        f"(run by this test) or one of {sorted(SHOWN)} (shown only)"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_doc_examples_run(doc: Path, tmp_path: Path) -> None:
    if not any(lang in RUN for lang, _, _ in blocks(doc)):
        pytest.skip(f"{doc.name} has no examples to run")
    script = tmp_path / "doc_example.py"
    script.write_text(script_of(doc))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(tmp_path / ".relay"), RELAY_USER="docs", NO_COLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, f"{doc.name} examples failed:\n{proc.stderr[-3000:]}"
