"""The model registry: upload and register versions, read and download them, move aliases,
cards, requirements and policy, evaluate, and promotion requests with their reviews.

Registering is two requests, as publishing a dataset: `PUT .../models/uploads` streams the
artifact into the artifact store (checked against its sha256), then `POST
.../models/{name}/versions` registers that upload. A version is addressed by number, alias or
`latest` (`.../versions/3`, `.../versions/champion`).
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
from relayml.wire.datasets import UploadOut
from relayml.wire.models import (
    AliasMoveOut,
    ComplianceReportOut,
    EvaluationOut,
    InboxItemOut,
    ModelCardOut,
    ModelInfoOut,
    ModelVersionOut,
    PolicyOut,
    PromotionRequestOut,
    RequirementOut,
)

router = APIRouter(prefix="/api/v1", route_class=Route, tags=["models"], responses=ERROR_RESPONSES)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRegister(Body):
    blob: str = Field(description="sha256 of the uploaded artifact")
    flavor: str = Field(examples=["sklearn"])
    environment: dict[str, Any] = Field(
        examples=[{"python": "3.11.7", "packages": {"scikit-learn": "1.5.2"}}]
    )
    signature: dict[str, Any] | None = None
    run_id: str | None = None
    unsafe_pickle: bool = False
    description: str = ""
    tags: dict[str, str] | None = None
    golden: str | None = Field(
        default=None, description="sha256 of the uploaded golden-set file (Parquet), if any"
    )


class AliasSet(Body):
    version: str = Field(description="The version (number) the alias points at", examples=["3"])
    reason: str = ""


class TagsSet(Body):
    tags: dict[str, str]


class CardSet(Body):
    fields: dict[str, str] = Field(examples=[{"intended_use": "rank churn risk for outreach"}])


class RequirementSet(Body):
    min: float | None = None
    max: float | None = None


class PolicyApply(Body):
    text: str = Field(description="The policy as YAML (docs/governance.md)")


class EvaluateBody(Body):
    dataset: str = Field(examples=["holdout@2"])
    target: str = Field(examples=["churned"])
    slices: list[str] = Field(default_factory=list, examples=[["region"]])


class PromoteBody(Body):
    alias: str = Field(examples=["production"])
    note: str = ""
    dataset: str | None = None
    target: str | None = None


class ApproveBody(Body):
    note: str = ""
    override_reason: str | None = None


class ReasonBody(Body):
    reason: str = ""


class CommentBody(Body):
    text: str


def _ref(name: str, version: str) -> str:
    return f"{name}@{version}"


@router.put(
    "/projects/{project}/models/uploads",
    status_code=201,
    response_model=UploadOut,
    summary="Upload a model artifact to register (the raw bytes as the body)",
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
        request, lambda body: services.models.upload(who, project, body, expected_digest=digest)
    )
    return json(UploadOut(blob=blob, size=size), status_code=201)


@router.post(
    "/projects/{project}/models/{name}/versions",
    status_code=201,
    response_model=ModelVersionOut,
    summary="Register an upload as the model's next version",
)
def register(
    project: str, name: str, body: ModelRegister, services: ServicesDep, who: PrincipalDep
) -> Response:
    version = services.models.register(
        who,
        project,
        name,
        body.blob,
        flavor=body.flavor,
        environment=body.environment,
        signature=body.signature,
        run_id=body.run_id,
        unsafe_pickle=body.unsafe_pickle,
        description=body.description,
        tags=body.tags,
        golden=body.golden,
    )
    return json(ModelVersionOut.from_domain(version), status_code=201)


@router.get("/projects/{project}/models", response_model=list[ModelInfoOut], summary="The models")
def list_models(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.models.list_models(who, project)
    return json([ModelInfoOut.from_domain(m) for m in found])


@router.get(
    "/projects/{project}/models/{name}/versions",
    response_model=list[ModelVersionOut],
    summary="A model's versions, oldest first",
)
def versions(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.models.versions(who, project, name)
    return json([ModelVersionOut.from_domain(v) for v in found])


@router.get(
    "/projects/{project}/models/{name}/versions/{version}",
    response_model=ModelVersionOut,
    summary="A version by number, alias or 'latest'",
)
def get(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.get(who, project, _ref(name, version))
    return json(ModelVersionOut.from_domain(found))


@router.get(
    "/projects/{project}/models/{name}/versions/{version}/artifact",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
    summary="The version's artifact bytes (verified against its sha256 as they stream)",
)
def download(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    found, chunks = services.models.download(who, project, _ref(name, version))
    return send(chunks, found.digest, found.size)


@router.get(
    "/projects/{project}/models/{name}/versions/{version}/golden",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
    summary="The version's golden set as Parquet (input rows and the outputs recorded at "
    "registration)",
)
def download_golden(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    found, chunks = services.models.download_golden(who, project, _ref(name, version))
    return send(chunks, found.digest, found.size)


@router.get(
    "/projects/{project}/models/{name}/history",
    response_model=list[AliasMoveOut],
    summary="Every move of the model's aliases, newest first",
)
def history(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    alias: Annotated[str | None, Query()] = None,
) -> Response:
    found = services.models.history(who, project, name, alias)
    return json([AliasMoveOut.from_domain(m) for m in found])


@router.put(
    "/projects/{project}/models/{name}/aliases/{alias}",
    response_model=ModelVersionOut,
    summary="Point an unprotected alias at a version",
)
def set_alias(
    project: str, name: str, alias: str, body: AliasSet, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.set_alias(who, project, _ref(name, body.version), alias, body.reason)
    return json(ModelVersionOut.from_domain(found))


@router.patch(
    "/projects/{project}/models/{name}/versions/{version}/tags",
    response_model=ModelVersionOut,
    summary="Add or change a version's tags",
)
def set_tags(
    project: str, name: str, version: str, body: TagsSet, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.set_tags(who, project, _ref(name, version), body.tags)
    return json(ModelVersionOut.from_domain(found))


@router.post(
    "/projects/{project}/models/{name}/versions/{version}/archive",
    response_model=ModelVersionOut,
    summary="Archive a version (refused while an alias or an open request points at it)",
)
def archive(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.archive(who, project, _ref(name, version))
    return json(ModelVersionOut.from_domain(found))


@router.get(
    "/projects/{project}/models/{name}/card", response_model=ModelCardOut, summary="The model card"
)
def card(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(ModelCardOut.from_domain(services.models.card(who, project, name)))


@router.patch(
    "/projects/{project}/models/{name}/card",
    response_model=ModelCardOut,
    summary="Update model card fields (a new revision)",
)
def set_card(
    project: str, name: str, body: CardSet, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.set_card(who, project, name, body.fields)
    return json(ModelCardOut.from_domain(found))


@router.get(
    "/projects/{project}/models/{name}/requirements",
    response_model=list[RequirementOut],
    summary="The stakeholders' metric bounds on the model",
)
def requirements(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.models.requirements(who, project, name)
    return json([RequirementOut.from_domain(r) for r in found])


@router.put(
    "/projects/{project}/models/{name}/requirements/{metric}",
    response_model=RequirementOut,
    summary="Set a metric bound every promotion must meet",
)
def set_requirement(
    project: str,
    name: str,
    metric: str,
    body: RequirementSet,
    services: ServicesDep,
    who: PrincipalDep,
) -> Response:
    found = services.models.set_requirement(who, project, name, metric, body.min, body.max)
    return json(RequirementOut.from_domain(found))


@router.get("/projects/{project}/policy", response_model=PolicyOut, summary="The policy")
def policy(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(PolicyOut.from_domain(services.models.policy(who, project)))


@router.put(
    "/projects/{project}/policy",
    response_model=PolicyOut,
    summary="Apply a new version of the project's promotion policy",
)
def apply_policy(
    project: str, body: PolicyApply, services: ServicesDep, who: PrincipalDep
) -> Response:
    return json(PolicyOut.from_domain(services.models.apply_policy(who, project, body.text)))


@router.post(
    "/projects/{project}/models/{name}/versions/{version}/evaluate",
    response_model=EvaluationOut,
    summary="Evaluate a version on a dataset version, overall and per slice",
)
def evaluate(
    project: str,
    name: str,
    version: str,
    body: EvaluateBody,
    services: ServicesDep,
    who: PrincipalDep,
) -> Response:
    found = services.models.evaluate(
        who, project, _ref(name, version), body.dataset, body.target, body.slices
    )
    return json(EvaluationOut.model_validate(found))


@router.get(
    "/projects/{project}/models/{name}/versions/{version}/report",
    response_model=ComplianceReportOut,
    summary="The compliance report's document for a version (EU AI Act Annex IV headings)",
)
def report(
    project: str, name: str, version: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.report(who, project, _ref(name, version))
    return json(ComplianceReportOut.model_validate(found))


@router.post(
    "/projects/{project}/models/{name}/versions/{version}/promotions",
    status_code=201,
    response_model=PromotionRequestOut,
    summary="Open a request to move a protected alias to this version (evidence computed now)",
)
def promote(
    project: str,
    name: str,
    version: str,
    body: PromoteBody,
    services: ServicesDep,
    who: PrincipalDep,
) -> Response:
    found = services.models.promote(
        who, project, _ref(name, version), body.alias, body.note, body.dataset, body.target
    )
    return json(PromotionRequestOut.from_domain(found), status_code=201)


@router.get(
    "/projects/{project}/requests",
    response_model=list[PromotionRequestOut],
    summary="Promotion requests, newest first",
)
def list_requests(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    state: Annotated[str | None, Query(examples=["open"])] = None,
    model: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    found = services.models.list_requests(who, project, state, model, limit)
    return json([PromotionRequestOut.from_domain(r) for r in found])


@router.get("/requests/{request_id}", response_model=PromotionRequestOut, summary="A request")
def get_request(request_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(PromotionRequestOut.from_domain(services.models.get_request(who, request_id)))


@router.post(
    "/requests/{request_id}/approve",
    response_model=PromotionRequestOut,
    summary="Approve; the approval that meets the policy moves the alias at once",
)
def approve(
    request_id: str, body: ApproveBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.approve(who, request_id, body.note, body.override_reason)
    return json(PromotionRequestOut.from_domain(found))


@router.post("/requests/{request_id}/reject", response_model=PromotionRequestOut, summary="Reject")
def reject(request_id: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(
        PromotionRequestOut.from_domain(services.models.reject(who, request_id, body.reason))
    )


@router.post(
    "/requests/{request_id}/withdraw",
    response_model=PromotionRequestOut,
    summary="Withdraw (the requester, or an admin)",
)
def withdraw(
    request_id: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.withdraw(who, request_id, body.reason)
    return json(PromotionRequestOut.from_domain(found))


@router.post(
    "/requests/{request_id}/comments", response_model=PromotionRequestOut, summary="Comment"
)
def comment(
    request_id: str, body: CommentBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.models.comment(who, request_id, body.text)
    return json(PromotionRequestOut.from_domain(found))


@router.get("/inbox", response_model=list[InboxItemOut], summary="What awaits the caller's roles")
def inbox(
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[str | None, Query()] = None,
) -> Response:
    return json([InboxItemOut.from_domain(i) for i in services.models.inbox(who, project)])
