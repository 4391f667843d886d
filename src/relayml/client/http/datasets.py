"""`DatasetsApi` over REST.

Publishing uploads the Parquet file (streamed, with its sha256) and then asks the server to
publish that upload: the server validates, profiles and registers it, as in embedded mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API, name_seg, project_url, run_seg
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode, TrustedCheck
from relayml.domain.identity import check_name
from relayml.domain.refs import parse_ref
from relayml.wire.datasets import (
    DatasetInfoOut,
    DatasetVersionOut,
    LineageOut,
    TrustedCheckOut,
    UploadOut,
)


def _version_url(project: str, ref: str) -> str:
    r = parse_ref(ref)
    return f"{project_url(project)}/datasets/{seg(r.name)}/versions/{seg(r.tail)}"


class HttpDatasets:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def publish(
        self,
        project: str,
        name: str,
        parquet_file: str | os.PathLike[str],
        *,
        contract: str | None = None,
        description: str = "",
        source: str = "",
        parents: list[str] | None = None,
        producer: dict[str, str] | None = None,
    ) -> DatasetVersion:
        base = f"{project_url(project)}/datasets"
        check_name("dataset", name)
        blob = UploadOut.model_validate(self.t.put_file(f"{base}/uploads", parquet_file)).blob
        body = {
            "blob": blob,
            "contract": contract,
            "description": description,
            "source": source,
            "parents": list(parents or []),
            "producer": producer,
        }
        found = self.t.call("POST", f"{base}/{seg(name)}/versions", json=body)
        return DatasetVersionOut.model_validate(found).to_domain()

    def get(self, project: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion:
        params = {"allow_quarantined": allow_quarantined}
        found = self.t.call("GET", _version_url(project, ref), params=params)
        return DatasetVersionOut.model_validate(found).to_domain()

    def download(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path:
        url = f"{_version_url(project, ref)}/data"
        params = {"allow_quarantined": allow_quarantined}
        return self.t.get_file(url, dest, what=f"dataset {ref}", params=params)

    def sketch(self, project: str, ref: str, allow_quarantined: bool = False) -> dict[str, Any]:
        params = {"allow_quarantined": allow_quarantined}
        result: dict[str, Any] = self.t.call(
            "GET", f"{_version_url(project, ref)}/sketch", params=params
        )
        return result

    def list_datasets(self, project: str) -> list[DatasetInfo]:
        rows = self.t.call("GET", f"{project_url(project)}/datasets")
        return [DatasetInfoOut.model_validate(d).to_domain() for d in rows]

    def versions(self, project: str, name: str) -> list[DatasetVersion]:
        url = f"{project_url(project)}/datasets/{name_seg('dataset', name)}/versions"
        return [DatasetVersionOut.model_validate(v).to_domain() for v in self.t.call("GET", url)]

    def lineage(self, project: str, ref: str) -> LineageNode:
        found = self.t.call("GET", f"{_version_url(project, ref)}/lineage")
        return LineageOut.model_validate(found).to_domain()

    def release(self, project: str, ref: str, reason: str) -> DatasetVersion:
        return self._change(project, ref, "release", reason)

    def quarantine(self, project: str, ref: str, reason: str) -> DatasetVersion:
        return self._change(project, ref, "quarantine", reason)

    def deprecate(self, project: str, ref: str, reason: str) -> DatasetVersion:
        return self._change(project, ref, "deprecate", reason)

    def undeprecate(self, project: str, ref: str, reason: str) -> DatasetVersion:
        return self._change(project, ref, "undeprecate", reason)

    def installed_checks(self) -> dict[str, str]:
        found = self.t.call("GET", f"{API}/installed-checks")
        return {str(k): str(v) for k, v in found.items()}

    def list_trusted_checks(self, project: str) -> list[TrustedCheck]:
        rows = self.t.call("GET", f"{project_url(project)}/trusted-checks")
        return [TrustedCheckOut.model_validate(c).to_domain() for c in rows]

    def trust_check(self, project: str, ref: str, reason: str) -> TrustedCheck:
        body = {"ref": ref, "reason": reason}
        found = self.t.call("POST", f"{project_url(project)}/trusted-checks", json=body)
        return TrustedCheckOut.model_validate(found).to_domain()

    def untrust_check(self, project: str, ref: str, reason: str) -> None:
        url = f"{project_url(project)}/trusted-checks/{seg(ref)}"
        self.t.call("DELETE", url, params={"reason": reason})

    def _change(self, project: str, ref: str, verb: str, reason: str) -> DatasetVersion:
        found = self.t.call("POST", f"{_version_url(project, ref)}/{verb}", json={"reason": reason})
        return DatasetVersionOut.model_validate(found).to_domain()

    def use(self, run_id: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion:
        url = f"{API}/runs/{run_seg(run_id)}/datasets"
        body = {"ref": ref, "allow_quarantined": allow_quarantined}
        return DatasetVersionOut.model_validate(self.t.call("POST", url, json=body)).to_domain()
