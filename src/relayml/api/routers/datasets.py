"""Versioned datasets: upload a Parquet file, publish it as a version, read, lineage, release.

Publishing is two requests: `PUT .../datasets/uploads` streams the file into the artifact store
(checked against its sha256), then `POST .../datasets/{name}/versions` names that upload; the
service validates, profiles and registers it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.gate import streams_body
from relayml.api.responses import BINARY_RESPONSE, ERROR_RESPONSES, json
from relayml.api.streaming import BINARY_BODY, receive, send
from relayml.wire.datasets import (
    DatasetInfoOut,
    DatasetVersionOut,
    LineageOut,
    TrustedCheckOut,
    UploadOut,
)

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["datasets"], responses=ERROR_RESPONSES
)

AllowQuarantined = Annotated[
    bool, Query(description="Read a quarantined version anyway (it failed its contract)")
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetPublish(Body):
    blob: str = Field(description="sha256 of the uploaded Parquet file")
    contract: str | None = Field(None, description="The data contract as YAML")
    description: str = ""
    source: str = Field("", examples=["s3://raw/loans/2026-11-26"])
    parents: list[str] = Field(default_factory=list, examples=[["raw_loans@3"]])
    producer: dict[str, str] | None = Field(
        None, description='{"pipeline_run": ..., "step": ...} when a pipeline step publishes'
    )


class DatasetRelease(Body):
    reason: str = Field(examples=["the 12 negative amounts are refunds; checked with finance"])


class TrustCheck(Body):
    ref: str = Field(examples=["mychecks.loans:payment_fits"])
    reason: str = Field(examples=["reviewed in PR 123; owned by the risk data team"])


class DatasetUse(Body):
    ref: str = Field(examples=["loans@3"])
    allow_quarantined: bool = False


def _ref(name: str, version: str) -> str:
    return f"{name}@{version}"


@router.put(
    "/projects/{project}/datasets/uploads",
    status_code=201,
    response_model=UploadOut,
    summary="Upload a Parquet file to publish (the raw bytes as the body)",
    openapi_extra=BINARY_BODY,
)
@streams_body
async def upload(
    project: str,
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    digest: Annotated[str | None, Header(alias=wire.DIGEST_HEADER)] = None,
) -> Response:
    blob, size = await receive(
        request, lambda body: services.datasets.upload(who, project, body, expected_digest=digest)
    )
    return json(UploadOut(blob=blob, size=size), status_code=201)


@router.post(
    "/projects/{project}/datasets/{name}/versions",
    status_code=201,
    response_model=DatasetVersionOut,
    summary="Publish an upload as the dataset's next version (validated and profiled)",
)
def publish(
    project: str, name: str, body: DatasetPublish, services: ServicesDep, who: PrincipalDep
) -> Response:
    version = services.datasets.publish(
        who,
        project,
        name,
        body.blob,
        contract=body.contract,
        description=body.description,
        source=body.source,
        parents=body.parents,
        producer=body.producer,
    )
    return json(DatasetVersionOut.from_domain(version), status_code=201)


@router.get(
    "/projects/{project}/datasets",
    response_model=list[DatasetInfoOut],
    summary="The project's datasets",
)
def list_datasets(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    items = services.datasets.list_datasets(who, project)
    return json([DatasetInfoOut.from_domain(d) for d in items])


@router.get(
    "/projects/{project}/datasets/{name}/versions",
    response_model=list[DatasetVersionOut],
    summary="Every version of a dataset",
)
def versions(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    items = services.datasets.versions(who, project, name)
    return json([DatasetVersionOut.from_domain(v) for v in items])


@router.get(
    "/projects/{project}/datasets/{name}/versions/{version}",
    response_model=DatasetVersionOut,
    summary="One version (a number or 'latest'): schema, profile, quality, lineage summary",
)
def get_version(
    project: str,
    name: str,
    version: str,
    services: ServicesDep,
    who: PrincipalDep,
    allow_quarantined: AllowQuarantined = False,
) -> Response:
    found = services.datasets.get(who, project, _ref(name, version), allow_quarantined)
    return json(DatasetVersionOut.from_domain(found))


@router.get(
    "/projects/{project}/datasets/{name}/versions/{version}/data",
    summary="The version's Parquet file; its sha256 is in the X-Relay-Digest header",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
)
def download(
    project: str,
    name: str,
    version: str,
    services: ServicesDep,
    who: PrincipalDep,
    allow_quarantined: AllowQuarantined = False,
) -> Response:
    found, chunks = services.datasets.download(who, project, _ref(name, version), allow_quarantined)
    return send(chunks, found.blob, found.size)


@router.get(
    "/projects/{project}/datasets/{name}/versions/{version}/sketch",
    response_model=dict[str, Any],
    summary="The version's drift summary, what drift monitoring compares with",
)
def sketch(
    project: str,
    name: str,
    version: str,
    services: ServicesDep,
    who: PrincipalDep,
    allow_quarantined: AllowQuarantined = False,
) -> Response:
    data: dict[str, Any] = services.datasets.sketch(
        who, project, _ref(name, version), allow_quarantined
    )
    return json(data)


@router.get(
    "/projects/{project}/datasets/{name}/versions/{version}/lineage",
    response_model=LineageOut,
    summary="Upstream parents, producer and source; downstream versions and runs",
)
def lineage(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    return json(
        LineageOut.from_domain(services.datasets.lineage(who, project, _ref(name, version)))
    )


_STATUS_CHANGES = {
    "release": "Release a quarantined version, with the reason (audited)",
    "quarantine": "Refuse a version to readers again (undo a release), with the reason (audited)",
    "deprecate": "Deprecate a version: readable with a warning, new uses refused (audited)",
    "undeprecate": "Withdraw a version's deprecation, with the reason (audited)",
}


def _status_change(verb: str) -> Any:
    """The route of one change of a version's status: `services.datasets.<verb>` with a
    reason; the four share their path, body and answer, so they are made here, not copied."""

    def change(
        project: str,
        name: str,
        version: str,
        body: DatasetRelease,
        services: ServicesDep,
        who: PrincipalDep,
    ) -> Response:
        act = getattr(services.datasets, verb)
        return json(
            DatasetVersionOut.from_domain(act(who, project, _ref(name, version), body.reason))
        )

    change.__name__ = verb
    return change


for _verb, _summary in _STATUS_CHANGES.items():
    router.post(
        f"/projects/{{project}}/datasets/{{name}}/versions/{{version}}/{_verb}",
        response_model=DatasetVersionOut,
        summary=_summary,
    )(_status_change(_verb))


@router.post(
    "/runs/{run_id}/datasets",
    response_model=DatasetVersionOut,
    summary="Record that a run used a dataset version",
)
def use(run_id: str, body: DatasetUse, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.datasets.use(who, run_id, body.ref, body.allow_quarantined)
    return json(DatasetVersionOut.from_domain(found))


@router.get(
    "/installed-checks",
    response_model=dict[str, str],
    summary="The custom checks this server may run (module:function -> where declared)",
)
def installed_checks(services: ServicesDep, who: PrincipalDep) -> Response:
    return json(services.datasets.installed_checks(who))


@router.get(
    "/projects/{project}/trusted-checks",
    response_model=list[TrustedCheckOut],
    summary="The custom checks the project's published contracts may run",
)
def list_trusted_checks(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.datasets.list_trusted_checks(who, project)
    return json([TrustedCheckOut.from_domain(c) for c in found])


@router.post(
    "/projects/{project}/trusted-checks",
    response_model=TrustedCheckOut,
    status_code=201,
    summary="Trust an installed custom check in the project (admin; audited)",
)
def trust_check(
    project: str, body: TrustCheck, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.datasets.trust_check(who, project, body.ref, body.reason)
    return json(TrustedCheckOut.from_domain(found), status_code=201)


@router.delete(
    "/projects/{project}/trusted-checks/{ref}",
    status_code=204,
    summary="Stop trusting a custom check in the project (admin; audited)",
)
def untrust_check(
    project: str,
    ref: str,
    services: ServicesDep,
    who: PrincipalDep,
    reason: Annotated[str, Query(max_length=8000)] = "",
) -> Response:
    services.datasets.untrust_check(who, project, ref, reason)
    return Response(status_code=204)
