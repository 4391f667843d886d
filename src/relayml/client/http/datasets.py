"""`DatasetsApi` over REST.

Publishing uploads the Parquet file (streamed, with its sha256) and then asks the server to
publish that upload: the server validates, profiles and registers it, as in embedded mode.
A version's routes take its ref as `{name}/versions/{version}` (`_VERSION`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relayml.client.http.binding import Args, Route, delete, get, post
from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import project_url
from relayml.domain.datasets import DatasetVersion
from relayml.domain.identity import check_name
from relayml.domain.refs import parse_ref
from relayml.wire.datasets import DatasetVersionOut, UploadOut


def _version_segments(ref: str) -> str:
    r = parse_ref(ref)
    return f"{seg(r.name)}/versions/{seg(r.tail)}"


def _publish(t: HttpTransport, a: Args) -> DatasetVersion:
    base = f"{project_url(a['project'])}/datasets"
    check_name("dataset", a["name"])
    blob = UploadOut.model_validate(t.put_file(f"{base}/uploads", a["parquet_file"])).blob
    body = {
        "blob": blob,
        "contract": a["contract"],
        "description": a["description"],
        "source": a["source"],
        "parents": list(a["parents"] or []),
        "producer": a["producer"],
    }
    found = t.call("POST", f"{base}/{seg(a['name'])}/versions", json=body)
    return DatasetVersionOut.model_validate(found).to_domain()


def _download(t: HttpTransport, a: Args) -> Path:
    url = f"{project_url(a['project'])}/datasets/{_version_segments(a['ref'])}/data"
    params = {"allow_quarantined": a["allow_quarantined"]}
    return t.get_file(url, a["dest"], what=f"dataset {a['ref']}", params=params)


def _text(found: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in found.items()}


_VERSION = "/projects/{project}/datasets/{ref}"
_REF = {"ref": _version_segments}

ROUTES: dict[str, Route] = {
    "publish": post("/projects/{project}/datasets/{name:dataset}/versions", send=_publish),
    "get": get(_VERSION, segments=_REF),
    "download": get(f"{_VERSION}/data", send=_download),
    "sketch": get(f"{_VERSION}/sketch", segments=_REF),
    "list_datasets": get("/projects/{project}/datasets"),
    "versions": get("/projects/{project}/datasets/{name:dataset}/versions"),
    "lineage": get(f"{_VERSION}/lineage", segments=_REF),
    "release": post(f"{_VERSION}/release", segments=_REF),
    "quarantine": post(f"{_VERSION}/quarantine", segments=_REF),
    "deprecate": post(f"{_VERSION}/deprecate", segments=_REF),
    "undeprecate": post(f"{_VERSION}/undeprecate", segments=_REF),
    "installed_checks": get("/installed-checks", out=_text),
    "list_trusted_checks": get("/projects/{project}/trusted-checks"),
    "trust_check": post("/projects/{project}/trusted-checks"),
    "untrust_check": delete("/projects/{project}/trusted-checks/{ref}"),
    "use": post("/runs/{run_id}/datasets"),
}
