"""The dataset half of the http backend, mixed into `HttpBackend`.

Publishing uploads the Parquet file (streamed, with its sha256) and then asks the server to
publish that upload: the server validates, profiles and registers it, as in embedded mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relayml import wire
from relayml.client.http_transport import HttpTransport
from relayml.client.http_transport import seg as _seg
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode
from relayml.domain.identity import check_name
from relayml.domain.refs import parse_ref
from relayml.domain.tracking import check_run_id


def _version_url(project: str, ref: str) -> str:
    r = parse_ref(ref)
    return (
        f"/api/v1/projects/{_seg(check_name('project', project))}/datasets/"
        f"{_seg(r.name)}/versions/{_seg(r.tail)}"
    )


class HttpDatasets(HttpTransport):
    def publish_dataset(
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
        base = f"/api/v1/projects/{_seg(check_name('project', project))}/datasets"
        check_name("dataset", name)
        blob = self._put_file(f"{base}/uploads", parquet_file)["blob"]
        body = {
            "blob": blob,
            "contract": contract,
            "description": description,
            "source": source,
            "parents": list(parents or []),
            "producer": producer,
        }
        return DatasetVersion.from_dict(
            self._call("POST", f"{base}/{_seg(name)}/versions", json=body)
        )

    def get_dataset(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion:
        params = {"allow_quarantined": allow_quarantined}
        data = self._call("GET", _version_url(project, ref), params=params)
        return DatasetVersion.from_dict(data)

    def download_dataset(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path:
        url = f"{_version_url(project, ref)}/data"
        params = {"allow_quarantined": allow_quarantined}
        return self._get_file(url, dest, what=f"dataset {ref}", params=params)

    def dataset_sketch(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> dict[str, Any]:
        params = {"allow_quarantined": allow_quarantined}
        result: dict[str, Any] = self._call(
            "GET", f"{_version_url(project, ref)}/sketch", params=params
        )
        return result

    def list_datasets(self, project: str) -> list[DatasetInfo]:
        url = f"/api/v1/projects/{_seg(check_name('project', project))}/datasets"
        return [wire.dataset_info_in(d) for d in self._call("GET", url)]

    def dataset_versions(self, project: str, name: str) -> list[DatasetVersion]:
        url = (
            f"/api/v1/projects/{_seg(check_name('project', project))}/datasets/"
            f"{_seg(check_name('dataset', name))}/versions"
        )
        return [DatasetVersion.from_dict(v) for v in self._call("GET", url)]

    def dataset_lineage(self, project: str, ref: str) -> LineageNode:
        return LineageNode.from_dict(self._call("GET", f"{_version_url(project, ref)}/lineage"))

    def release_dataset(self, project: str, ref: str, reason: str) -> DatasetVersion:
        url = f"{_version_url(project, ref)}/release"
        return DatasetVersion.from_dict(self._call("POST", url, json={"reason": reason}))

    def use_dataset(self, run_id: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion:
        url = f"/api/v1/runs/{_seg(check_run_id(run_id))}/datasets"
        body = {"ref": ref, "allow_quarantined": allow_quarantined}
        return DatasetVersion.from_dict(self._call("POST", url, json=body))
