"""The Dockerfile: Python and the model's flavor packages as the registry recorded them, Relay
with the serve extra, a non-root user, and `relay serve NAME` as the command.

Instructions that carry values (RUN, HEALTHCHECK, CMD) use the JSON exec form, so no shell
reads a value from the registry; ENV and LABEL values are JSON strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from relayml.domain.deployments import Deployment
from relayml.domain.models import ModelVersion
from relayml.packaging import ExportOptions
from relayml.version import __version__

DEFAULT_PYTHON = "3.11"
_DIST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+!_-]{0,63}\Z")
_PYTHON = re.compile(r"^(3\.[0-9]{1,2})(\.|$)")
UID = 10001
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - inside a container, the port is what is exposed


def python_of(version: ModelVersion | None) -> str:
    """The model's Python, major.minor (the image's base), else Relay's default."""
    found = _PYTHON.match(version.environment.python) if version is not None else None
    return found.group(1) if found else DEFAULT_PYTHON


def pins(versions: Sequence[ModelVersion]) -> tuple[list[str], list[str]]:
    """``(["scikit-learn==1.9.1", ...], skipped)``: the flavor packages of every version served
    (the primary first: where two arms recorded different versions of a package, its wins),
    at the versions they were saved with. An entry that is not a plain name and version, or
    that disagrees with the one pinned, is skipped and said."""
    chosen: dict[str, str] = {}
    found, skipped = [], []
    for version in versions:
        for name, v in version.environment.packages.items():
            key = re.sub(r"[-_.]+", "-", name.lower())
            if not (_DIST.match(name) and _VERSION.match(v)):
                skipped.append(f"{name} {v} ({version.ref})")
            elif key not in chosen:
                chosen[key] = v
                found.append(f"{name}=={v}")
            elif chosen[key] != v:
                skipped.append(f"{name} {v} ({version.ref}; {chosen[key]} is pinned)")
    return found, skipped


def dockerfile(
    deployment: Deployment, versions: Sequence[ModelVersion], options: ExportOptions
) -> tuple[str, list[str]]:
    """The Dockerfile's text, and the recorded packages it could not pin. `versions`: what
    the deployment serves, its primary first (empty: nothing yet)."""
    version = versions[0] if versions else None
    pinned, skipped = pins(versions)
    extras = "serve" if pinned else "ml,serve"  # no version yet: scikit-learn and skops
    relay = options.relay_requirement or f"relayml[{extras}]=={__version__}"
    port = str(options.port)
    url = f"http://127.0.0.1:{port}/healthz"
    probe = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=2)"
    served = f"{version.name}@{version.version}" if version is not None else "nothing yet"
    lines = [
        f"# The Relay model server for deployment {deployment.name} (project "
        f"{deployment.project}), written by `relay deployments export`.",
        f"# Target {deployment.target}; serving {served} when exported. See README.md.",
        f"FROM python:{python_of(version)}-slim",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 "
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        "RUN " + json.dumps(["pip", "install", relay, *pinned]),
        "RUN " + json.dumps(["useradd", "--create-home", "--uid", str(UID), "relay"]),
        f"USER {UID}",
        "WORKDIR /home/relay",
        f"LABEL relayml.deployment={json.dumps(deployment.name)} "
        f"relayml.project={json.dumps(deployment.project)} "
        f"relayml.target={json.dumps(deployment.target)}",
        f"ENV RELAY_PROJECT={json.dumps(deployment.project)}",
        f"EXPOSE {port}",
        "HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD "
        + json.dumps(["python", "-c", probe]),
        "STOPSIGNAL SIGTERM",
        "CMD "
        + json.dumps(["relay", "serve", deployment.name, "--host", ALL_INTERFACES, "--port", port]),
    ]
    return "\n".join(lines) + "\n", skipped
