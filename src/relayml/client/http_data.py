"""The dataset half of the http backend, mixed into `HttpBackend`.

Publishing uploads the Parquet file (streamed, with its sha256) and then asks the server to
publish that upload: the server validates, profiles and registers it, as in embedded mode.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import orjson

from relayml.api import wire
from relayml.domain.data import DatasetInfo, DatasetVersion, LineageNode, parse_ref
from relayml.domain.identity import check_name
from relayml.domain.tracking import check_run_id
from relayml.errors import IntegrityError, RelayError
from relayml.store.artifacts import CHUNK


def _seg(value: str) -> str:
    return quote(value, safe="")


def _version_url(project: str, ref: str) -> str:
    r = parse_ref(ref)
    version = str(r.version) if r.version is not None else "latest"
    return (
        f"/api/v1/projects/{_seg(check_name('project', project))}/datasets/"
        f"{_seg(r.name)}/versions/{version}"
    )


class HttpDatasets:
    if TYPE_CHECKING:
        url: str
        _http: httpx.Client

        def _call(
            self,
            method: str,
            path: str,
            *,
            json: Any = None,
            params: dict[str, Any] | None = None,
        ) -> Any: ...
        def _raise_for(self, response: httpx.Response) -> None: ...
        def _unavailable(self, exc: httpx.TransportError) -> RelayError: ...

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
        digest = _sha256_file(parquet_file)
        headers = {wire.DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"}
        headers["Content-Length"] = str(os.path.getsize(parquet_file))
        with open(parquet_file, "rb") as fh:
            try:
                response = self._http.put(f"{base}/uploads", content=_chunks(fh), headers=headers)
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from None
        self._raise_for(response)
        blob = orjson.loads(response.content)["blob"]
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
        dest_path = Path(dest)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}.part")
        params = {"allow_quarantined": allow_quarantined}
        try:
            with self._http.stream("GET", url, params=params) as response:
                self._raise_for(response)
                expected = response.headers.get(wire.DIGEST_HEADER, "")
                h = hashlib.sha256()
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            if h.hexdigest() != expected:
                raise IntegrityError(
                    f"dataset {ref} arrived with sha256 {h.hexdigest()}, not the recorded "
                    f"{expected or '(none sent)'}; download it again"
                )
            os.replace(tmp, dest_path)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest_path

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


def _chunks(fh: Any) -> Any:
    while chunk := fh.read(CHUNK):
        yield chunk


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in _chunks(fh):
            h.update(chunk)
    return h.hexdigest()
