"""A blob is reachable only through its own project: a digest from another project reads
nothing (publish, step outputs and logs), the answer does not tell whether the bytes exist
elsewhere, and every reference an entity records (producer run and step, parent run) must exist
in the entity's project."""

from __future__ import annotations

import hashlib
import io
import uuid

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from relayml import wire
from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of, user_client


def parquet_bytes(secret: str) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"secret": [secret] * 3}), sink)
    return sink.getvalue()


def new_project(admin: httpx.Client) -> str:
    name = f"p-{uuid.uuid4().hex[:8]}"
    assert admin.post("/api/v1/projects", json={"name": name}).status_code == 201
    return name


def start_pipeline_run(client: httpx.Client, project: str) -> str:
    steps = [{"name": "load"}]
    body = {"module": "etl:p", "steps": steps}
    r = client.put(f"/api/v1/projects/{project}/pipelines/etl", json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/projects/{project}/pipelines/etl/runs", json={"steps": steps})
    assert r.status_code == 201, r.text
    run: str = r.json()["id"]
    return run


@pytest.fixture
def other_project_blob(admin: httpx.Client) -> tuple[str, str, str]:
    """Project A's run artifact (a Parquet file) and a pipeline run of A: (project, digest, run)."""
    project = new_project(admin)
    run = admin.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"}).json()["id"]
    body = parquet_bytes(f"salaries-{uuid.uuid4().hex}")
    r = admin.put(f"/api/v1/runs/{run}/artifacts/data.parquet", content=body)
    assert r.status_code == 201, r.text
    return project, hashlib.sha256(body).hexdigest(), start_pipeline_run(admin, project)


def test_another_projects_blob_cannot_be_published_or_named_as_a_step_output(
    server: ServerInfo, admin: httpx.Client, other_project_blob: tuple[str, str, str]
) -> None:
    _, digest, _ = other_project_blob
    project_b = new_project(admin)
    with user_client(server, admin, "data_engineer", project_b) as eng:
        publish = f"/api/v1/projects/{project_b}/datasets/stolen/versions"
        r = eng.post(publish, json={"blob": digest})
        assert r.status_code == 404, r.text
        assert "upload it to this project first" in str(error_of(r)["message"])

        run = start_pipeline_run(eng, project_b)
        for output in (
            {"output": {"kind": "file", "digest": digest, "name": "x.bin"}},
            {"output": {"kind": "table", "digest": digest, "format": "arrow"}},
            {"logs_digest": digest},
        ):
            r = eng.put(f"/api/v1/pipeline-runs/{run}/steps/load",
                        json={"status": "succeeded", **output})  # fmt: skip
            assert r.status_code == 404, r.text
        assert eng.get(f"/api/v1/pipeline-runs/{run}/blobs/{digest}").status_code == 404
        assert eng.get(f"/api/v1/projects/{project_b}/datasets").json() == []


def test_publish_answers_alike_whether_the_bytes_exist_elsewhere_or_nowhere(
    server: ServerInfo, admin: httpx.Client, other_project_blob: tuple[str, str, str]
) -> None:
    _, digest, _ = other_project_blob
    absent = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    project_b = new_project(admin)
    with user_client(server, admin, "data_engineer", project_b) as eng:
        url = f"/api/v1/projects/{project_b}/datasets/d/versions"
        exists, missing = eng.post(url, json={"blob": digest}), eng.post(url, json={"blob": absent})
        assert exists.status_code == missing.status_code == 404
        assert error_of(exists)["message"] == str(error_of(missing)["message"]).replace(
            absent, digest
        )


def test_a_project_publishes_what_it_uploaded_itself(
    server: ServerInfo, admin: httpx.Client, other_project_blob: tuple[str, str, str]
) -> None:
    project_b = new_project(admin)
    body = parquet_bytes("own data")
    with user_client(server, admin, "data_engineer", project_b) as eng:
        r = eng.put(f"/api/v1/projects/{project_b}/datasets/uploads", content=body,
                    headers={wire.DIGEST_HEADER: hashlib.sha256(body).hexdigest()})  # fmt: skip
        assert r.status_code == 201, r.text
        r = eng.post(f"/api/v1/projects/{project_b}/datasets/d/versions",
                     json={"blob": r.json()["blob"]})  # fmt: skip
        assert r.status_code == 201, r.text


def test_lineage_references_must_exist_in_the_entitys_project(
    server: ServerInfo, admin: httpx.Client, other_project_blob: tuple[str, str, str]
) -> None:
    project_a, _, run_a = other_project_blob
    project_b = new_project(admin)
    body = parquet_bytes("lineage")
    with user_client(server, admin, "data_engineer", project_b) as eng:
        blob = eng.put(f"/api/v1/projects/{project_b}/datasets/uploads", content=body).json()
        url = f"/api/v1/projects/{project_b}/datasets/d/versions"
        forged = {"blob": blob["blob"], "producer": {"pipeline_run": run_a, "step": "load"}}
        r = eng.post(url, json=forged)
        assert r.status_code == 404, r.text
        assert project_a not in str(error_of(r)["message"])
        run_b = start_pipeline_run(eng, project_b)
        no_step = {"blob": blob["blob"], "producer": {"pipeline_run": run_b, "step": "nope"}}
        assert eng.post(url, json=no_step).status_code == 404
        real = {"blob": blob["blob"], "producer": {"pipeline_run": run_b, "step": "load"}}
        r = eng.post(url, json=real)
        assert r.status_code == 201, r.text
        assert r.json()["producer"] == {"pipeline_run": run_b, "step": "load"}

    run_in_a = admin.post(f"/api/v1/projects/{project_a}/runs", json={"experiment": "e"}).json()
    r = admin.post(f"/api/v1/projects/{project_b}/runs",
                   json={"experiment": "e", "parent_id": run_in_a["id"]})  # fmt: skip
    assert r.status_code == 404, r.text
