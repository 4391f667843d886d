"""A deployment as files a team's own cluster runs: `relay deployments export NAME --out deploy/`.

    files = render(deployment, [primary, canary], ExportOptions(server_url="https://relay.example"))
    write_bundle(files, Path("deploy"), force=False)

writes ``Dockerfile`` (an image running ``relay serve NAME``, the model's Python and flavor
packages pinned as the registry recorded them), ``kubernetes.yaml`` (a ConfigMap with the
Relay server's URL and the project, a Deployment with its liveness probe on ``/healthz``,
readiness on ``/readyz``, resources, Prometheus scrape annotations for ``/metrics`` and the
token from a Secret the README says how to create, and a Service) and ``README.md``. The token is
never written: the manifest names the Secret, and only ``kubectl create secret`` sees it.

Every value that comes from the registry reaches the files through a serializer (YAML from
``yaml.safe_dump``, Dockerfile instructions in their JSON exec form), and names become
Kubernetes names (DNS-1123 labels) with a hash suffix whenever they had to change.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from relayml.domain.deployments import Deployment
from relayml.domain.models import ModelVersion
from relayml.errors import Conflict, InvalidInput
from relayml.version import __version__

DEFAULT_PORT = 8600  # the model server's (relay serve --port)
FILES = ("Dockerfile", "kubernetes.yaml", "README.md")
_K8S_MAX = 63
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?\Z")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}\Z")
_URL = re.compile(r"^https?://[^\s\"'\\]{1,2000}\Z")


@dataclass(frozen=True)
class ExportOptions:
    """What the files say beyond the deployment itself."""

    server_url: str  # the Relay server the model server asks what to serve
    image: str | None = None  # default: relay-<name>:<relay version>
    replicas: int = 2
    cpu: str = "1"  # requests and limits
    memory: str = "1Gi"
    port: int = DEFAULT_PORT
    relay_requirement: str | None = None  # default: relayml[serve]==<this version>

    def __post_init__(self) -> None:
        if not isinstance(self.server_url, str) or not _URL.match(self.server_url):
            raise InvalidInput(
                f"the Relay server URL must be http(s)://... without spaces or quotes, not "
                f"{self.server_url!r}; give --server-url"
            )
        if self.image is not None and not _IMAGE.match(self.image):
            raise InvalidInput(
                f"{self.image!r} is not an image reference (registry/name:tag, lower case)"
            )
        bad = isinstance(self.replicas, bool) or not isinstance(self.replicas, int)
        if bad or not 1 <= self.replicas <= 1000:
            raise InvalidInput(f"--replicas must be from 1 to 1000, not {self.replicas!r}")
        for flag, value in (("--cpu", self.cpu), ("--memory", self.memory)):
            if not isinstance(value, str) or not _QUANTITY.match(value):
                raise InvalidInput(
                    f"{flag} must be a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi), not "
                    f"{value!r}"
                )
        if self.relay_requirement is not None and not _requirement_ok(self.relay_requirement):
            raise InvalidInput(
                f"--relay-requirement {self.relay_requirement!r} is not a pip requirement "
                "(e.g. relayml[serve]==0.1.0, or a wheel's URL)"
            )


def _requirement_ok(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z0-9][A-Za-z0-9._\[\],<>=!~+:/@-]{0,500}$", text))


def k8s_name(name: str) -> str:
    """`name` as a Kubernetes object name and label value (a DNS-1123 label: lower-case
    letters, digits and '-', at most 63), unchanged when it already is one; otherwise made one
    with a hash of the original appended, so two deployments never share a name."""
    if re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name):
        return name
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "deployment"
    suffix = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{base[: _K8S_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"


def render(
    deployment: Deployment, versions: Sequence[ModelVersion], options: ExportOptions
) -> dict[str, str]:
    """The bundle's files, by name. `versions` are what the deployment serves now, its primary
    first, then any canary and shadow (the primary's Python is the image's, and every arm's
    packages are pinned in it); empty when it serves nothing yet."""
    from relayml.packaging.docker import dockerfile
    from relayml.packaging.kubernetes import manifests
    from relayml.packaging.readme import readme

    name = k8s_name(deployment.name)
    image = options.image or f"relay-{name}:{__version__}"
    docker, skipped = dockerfile(deployment, versions, options)
    return {
        "Dockerfile": docker,
        "kubernetes.yaml": manifests(deployment, name, image, options),
        "README.md": readme(deployment, versions, name, image, options, skipped),
    }


def write_bundle(files: dict[str, str], out: Path, *, force: bool = False) -> list[Path]:
    """Write `files` into `out` (created if missing), each whole or not at all. A file there
    already with other content is a Conflict unless `force`, checked before anything is
    written."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file; give a folder to export into")
    if not out.parent.is_dir():
        raise InvalidInput(f"no folder {out.parent} to create {out.name} in; create it first")
    if not force:
        changed = [
            n for n, text in files.items()
            if (out / n).exists() and (out / n).read_text(encoding="utf-8") != text
        ]  # fmt: skip
        if changed:
            raise Conflict(
                f"{out} already has {', '.join(changed)} with other content; pass --force to "
                "overwrite, or export into an empty folder"
            )
    out.mkdir(exist_ok=True)
    written = []
    for n, text in files.items():
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{n}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, out / n)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(out / n)
    return written
