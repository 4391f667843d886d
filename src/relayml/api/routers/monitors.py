"""Monitors: create them on a deployment, pause, resume, archive; their windows, day and week
rollups, report and model-shift checks; process them (what `relay monitors run` does each
tick); and alerts: list, show, acknowledge, comment, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.wire.monitors import (
    AlertOut,
    CheckOut,
    MonitorOut,
    MonitorReportOut,
    ProcessResultOut,
    RollupOut,
    WindowOut,
)

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["monitors"], responses=ERROR_RESPONSES
)

_BASE = "/projects/{project}/monitors"
_ONE = _BASE + "/{name}"
_ALERTS = "/projects/{project}/alerts"
_ALERT = _ALERTS + "/{alert_id}"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Seconds = StrictFloat | StrictInt | str


class MonitorCreate(Body):
    deployment: str = Field(examples=["churn-api"])
    name: str | None = Field(default=None, description="Default: the deployment's name")
    window: StrictInt | str = Field(
        default="1h",
        description="A duration (time windows) or a number of rows",
        examples=["1h", 50000],
    )
    reference: str | None = Field(
        default=None,
        description="Dataset version to compare with; default: the one the model's run used",
        examples=["loans@3"],
    )
    target: str | None = Field(default=None, description="The reference's label column")
    min_rows: StrictInt = 100
    alert_after: str = Field(default="3/4", description="K/N: alert when K of the last N decide")
    label_horizon: Seconds = Field(default="30d", description="How long feedback updates a window")
    grace: Seconds = Field(default="5m", description="How long a time window waits past its end")
    owner: str = Field(default="ml_engineer", description="The role whose inbox gets the alerts")
    since: datetime | None = Field(default=None, description="Read the log from here on")
    endpoint: str | None = Field(
        default=None,
        description="The live model server the runner checks for model shift",
        examples=["http://127.0.0.1:8600"],
    )
    check_every: Seconds = Field(default="5m", description="How often the runner checks it")
    no_traffic_after: StrictInt | None = Field(
        default=None, description="Alert after this many time windows in a row without rows"
    )
    evaluation: str | None = Field(
        default=None,
        description="Dataset version whose rows and labels give the model's outputs (prediction"
        " baseline, calibration); default: the one its promotion evaluated it on, else the"
        " reference",
        examples=["holdout@2"],
    )


class EndpointBody(Body):
    endpoint: str | None = Field(
        description="The live model server's URL (no credentials); null: no checks",
        examples=["http://127.0.0.1:8600"],
    )
    check_every: Seconds | None = Field(default=None, description="None: unchanged")


class ReasonBody(Body):
    reason: str = ""


class CheckRecord(Body):
    kind: str = Field(examples=["digest", "replay"])
    passed: StrictBool
    details: dict[str, Any] = Field(default_factory=dict)


class NoteBody(Body):
    note: str = ""


class CommentBody(Body):
    text: str


class ResolveBody(Body):
    reason: str


# monitors ---------------------------------------------------------------------------------------
@router.get(_BASE, response_model=list[MonitorOut], summary="The project's monitors")
def list_monitors(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    include_archived: Annotated[bool, Query()] = False,
) -> Response:
    found = services.monitors.list_monitors(who, project, include_archived)
    return json([MonitorOut.from_domain(m) for m in found])


@router.post(_BASE, status_code=201, response_model=MonitorOut, summary="Monitor a deployment")
def create(project: str, body: MonitorCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    mon = services.monitors.create(
        who,
        project,
        body.deployment,
        name=body.name,
        window=body.window,
        reference=body.reference,
        target=body.target,
        min_rows=body.min_rows,
        alert_after=body.alert_after,
        label_horizon=body.label_horizon,
        grace=body.grace,
        owner=body.owner,
        since=body.since,
        endpoint=body.endpoint,
        check_every=body.check_every,
        no_traffic_after=body.no_traffic_after,
        evaluation=body.evaluation,
    )
    return json(MonitorOut.from_domain(mon), status_code=201)


@router.post(
    _ONE + "/endpoint",
    response_model=MonitorOut,
    summary="Set or clear the live model server the runner checks for model shift",
)
def set_endpoint(
    project: str, name: str, body: EndpointBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    mon = services.monitors.set_endpoint(
        who, project, name, body.endpoint, check_every=body.check_every
    )
    return json(MonitorOut.from_domain(mon))


@router.get(_ONE, response_model=MonitorOut, summary="A monitor")
def get(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(MonitorOut.from_domain(services.monitors.get(who, project, name)))


def _status_route(what: str, summary: str) -> None:
    @router.post(
        _ONE + f"/{what}", response_model=MonitorOut, summary=summary, name=f"monitor_{what}"
    )
    def change(
        project: str, name: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep
    ) -> Response:
        mon = getattr(services.monitors, what)(who, project, name, reason=body.reason)
        return json(MonitorOut.from_domain(mon))


_status_route("pause", "Stop processing until resumed")
_status_route("resume", "Process again (the windows missed meanwhile are caught up)")
_status_route("archive", "Stop for good (kept with its windows; its live alerts resolved)")


@router.get(
    _ONE + "/windows",
    response_model=list[WindowOut],
    summary="Windows oldest first: overlapping [since, until), or the last N",
)
def history(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    last: Annotated[int | None, Query()] = None,
) -> Response:
    found = services.monitors.history(who, project, name, since=since, until=until, last=last)
    return json([WindowOut.from_domain(w) for w in found])


@router.get(
    _ONE + "/rollups",
    response_model=list[RollupOut],
    summary="Closed windows merged by day or week and assessed anew",
)
def rollups(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    period: Annotated[str, Query()] = "day",
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Response:
    found = services.monitors.rollups(who, project, name, period=period, since=since, until=until)
    return json([RollupOut.from_domain(r) for r in found])


@router.get(
    _ONE + "/report",
    response_model=MonitorReportOut,
    summary="The monitor with its windows, model-shift checks and alerts (what its page shows)",
)
def report(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Response:
    found = services.monitors.report(who, project, name, since=since, until=until)
    return json(MonitorReportOut.from_domain(found))


@router.post(
    _ONE + "/process",
    response_model=ProcessResultOut,
    summary="Read what is new in the log into windows, join feedback, decide and alert",
)
def process(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(ProcessResultOut.from_domain(services.monitors.process(who, project, name)))


@router.post(
    _ONE + "/checks",
    status_code=201,
    response_model=CheckOut,
    summary="Record a model-shift check (digest, replay); a failure alerts at once",
)
def record_check(
    project: str, name: str, body: CheckRecord, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.monitors.record_check(who, project, name, body.kind, body.passed, body.details)
    return json(CheckOut.from_domain(found), status_code=201)


@router.get(_ONE + "/checks", response_model=list[CheckOut], summary="The newest checks")
def checks(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    found = services.monitors.checks(who, project, name, limit=limit)
    return json([CheckOut.from_domain(c) for c in found])


# alerts ---------------------------------------------------------------------------------------
@router.get(_ALERTS, response_model=list[AlertOut], summary="Alerts, newest change first")
def list_alerts(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    monitor: Annotated[str | None, Query()] = None,
    include_resolved: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    found = services.monitors.list_alerts(
        who, project, monitor=monitor, include_resolved=include_resolved, limit=limit
    )
    return json([AlertOut.from_domain(a) for a in found])


@router.get(_ALERT, response_model=AlertOut, summary="An alert with its notes")
def get_alert(project: str, alert_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(AlertOut.from_domain(services.monitors.get_alert(who, project, alert_id)))


@router.post(_ALERT + "/ack", response_model=AlertOut, summary="Acknowledge: someone is on it")
def ack_alert(
    project: str, alert_id: str, body: NoteBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.monitors.ack_alert(who, project, alert_id, note=body.note)
    return json(AlertOut.from_domain(found))


@router.post(_ALERT + "/comments", response_model=AlertOut, summary="Comment on an alert")
def comment_alert(
    project: str, alert_id: str, body: CommentBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.monitors.comment_alert(who, project, alert_id, body.text)
    return json(AlertOut.from_domain(found))


@router.post(_ALERT + "/resolve", response_model=AlertOut, summary="Resolve an alert by hand")
def resolve_alert(
    project: str, alert_id: str, body: ResolveBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.monitors.resolve_alert(who, project, alert_id, reason=body.reason)
    return json(AlertOut.from_domain(found))
