"""The Starlette routes behind the prediction handlers: health, readiness, metrics, v2
metadata, the deployments served, and feedback."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from relayml.domain.deployments import Feedback, check_prediction_id
from relayml.errors import NotFound, RelayError, TooLarge, Unauthenticated, Unprocessable
from relayml.serving.access import request_id
from relayml.serving.inputs import decode_json
from relayml.serving.metrics import CONTENT_TYPE
from relayml.serving.plans import Served
from relayml.serving.predict import _JSON, Receive, Scope, Send, _Unavailable

if TYPE_CHECKING:
    from relayml.client.base import Backend
    from relayml.serving.access import AccessLog
    from relayml.serving.metrics import Metrics
    from relayml.serving.options import ServeOptions

MAX_FEEDBACK_BYTES = 64 * 1024


def _json(status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status, headers, media_type="application/json")


def _error(exc: RelayError) -> Response:
    return _json(exc.http_status, {"error": exc.to_dict()})


class Routes:
    """The Starlette routes of ``app.ModelServer`` (which sets these attributes)."""

    options: ServeOptions
    backend: Backend
    served: dict[str, Served]
    metrics: Metrics
    access: AccessLog

    @property
    def ready(self) -> bool:
        return all(s.ready for s in self.served.values())

    # --- operations -------------------------------------------------------------------------

    async def _healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [*_JSON, (b"content-length", b"15")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}'})

    async def _readyz(self, request: Request) -> Response:
        doc = {
            "ready": self.ready,
            "deployments": {
                s.name: {"ready": s.ready, "problem": None if s.ready else s.problem}
                for s in self.served.values()
            },
        }
        return _json(200 if self.ready else 503, doc)

    async def _metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    def _describe(self, s: Served) -> dict[str, Any]:
        plan = s.plan
        arms = []
        if plan is not None:
            for a in plan.arms.values():
                arms.append(
                    {
                        "arm": a.role,
                        "ref": a.served.ref,
                        "model": a.model,
                        "version": a.version,
                        "digest": a.digest,
                        "flavor": a.served.flavor,
                        "weight": a.served.weight,
                    }
                )
        return {
            "deployment": s.name,
            "project": s.project,
            "ready": s.ready,
            "problem": None if s.ready else s.problem,
            "revision": plan.resolution.revision if plan else None,
            "sticky_key": plan.sticky_key if plan else None,
            "arms": arms,
        }

    async def _deployments(self, request: Request) -> Response:
        return _json(200, {"deployments": [self._describe(s) for s in self.served.values()]})

    def _lookup(self, name: str) -> Served:
        s = self.served.get(name)
        if s is None:
            raise NotFound(
                f"this server does not serve {name!r}; it serves {', '.join(self.served)}"
            )
        return s

    async def _deployment(self, request: Request) -> Response:
        try:
            return _json(200, self._describe(self._lookup(request.path_params["name"])))
        except RelayError as exc:
            return _error(exc)

    async def _v2_server(self, request: Request) -> Response:
        from relayml.version import __version__

        return _json(200, {"name": "relay", "version": __version__, "extensions": []})

    async def _v2_live(self, request: Request) -> Response:
        return _json(200, {"live": True})

    async def _v2_ready(self, request: Request) -> Response:
        return _json(200 if self.ready else 503, {"ready": self.ready})

    async def _v2_model_ready(self, request: Request) -> Response:
        try:
            s = self._lookup(request.path_params["name"])
        except RelayError as exc:
            return _error(exc)
        return _json(200 if s.ready else 503, {"name": s.name, "ready": s.ready})

    async def _v2_model(self, request: Request) -> Response:
        try:
            s = self._lookup(request.path_params["name"])
        except RelayError as exc:
            return _error(exc)
        plan = s.plan
        if plan is None:
            return _error(_Unavailable(s.problem or "not loaded yet"))
        runner = plan.primary.runner
        sig = runner.signature
        outputs = [{"name": "predict", "datatype": _V2_TYPE.get(sig.output.dtype.value, "BYTES"),
                    "shape": [-1]}]  # fmt: skip
        if runner.proba and runner.classes is not None:
            outputs.append(
                {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(runner.classes)]}
            )
        return _json(
            200,
            {
                "name": s.name,
                "versions": [str(a.version) for a in plan.arms.values()],
                "platform": plan.primary.served.flavor,
                "inputs": [
                    {"name": c.name, "datatype": _V2_TYPE[c.type.value], "shape": [-1]}
                    for c in sig.inputs
                ],
                "outputs": outputs,
                "parameters": {
                    "model": plan.primary.model,
                    "version": plan.primary.version,
                    "digest": plan.primary.digest,
                    "classes": runner.classes,
                },
            },
        )

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return _error(
            NotFound(
                f"no route {request.method} {request.url.path}; predict with POST /predict, "
                "/deployments/{name}/predict or /v2/models/{name}/infer"
            )
        )

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        err = RelayError(f"{request.method} is not allowed on {request.url.path}")
        return _json(405, {"error": {**err.to_dict(), "code": "method_not_allowed"}})

    # --- feedback ---------------------------------------------------------------------------

    async def _feedback(self, request: Request) -> Response:
        start = time.perf_counter()
        rid = request_id(request.headers.get("x-request-id", "").encode("latin-1") or None)
        response = await self._feedback_answer(request)
        response.headers["x-request-id"] = rid
        self.access.write(
            {
                "ts": time.time(),
                "request_id": rid,
                "method": "POST",
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - start) * 1000.0, 3),
                "event": "feedback",
            }
        )
        return response

    async def _feedback_answer(self, request: Request) -> Response:
        try:
            token = _bearer(request.headers.get("authorization"))
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_FEEDBACK_BYTES:
                    raise TooLarge(f"a feedback body is at most {MAX_FEEDBACK_BYTES} bytes")
                chunks.append(chunk)
            body = decode_json(b"".join(chunks))
            if type(body) is not dict:
                raise Unprocessable(
                    'send a JSON object: {"prediction_id": ..., "label": ..., "outcome": ..., '
                    '"comment": ...}'
                )
            name = request.path_params.get("name") or body.get("deployment") or self.options.single
            if not isinstance(name, str):
                raise Unprocessable(
                    "name the deployment: POST /deployments/{name}/feedback, or give "
                    '"deployment" in the body'
                )
            s = self._lookup(name)
            unknown = set(body) - {"prediction_id", "label", "outcome", "comment", "replace",
                                   "deployment"}  # fmt: skip
            if unknown:
                raise Unprocessable(
                    f"unknown field(s) {sorted(unknown)}: feedback takes prediction_id, label, "
                    "outcome, comment and replace"
                )
            if not isinstance(body.get("replace", False), bool):
                raise Unprocessable("replace must be true or false")
            fb = await asyncio.to_thread(self._submit_feedback, token, s, body)
        except RelayError as exc:
            return _error(exc)
        from relayml.wire.deployments import FeedbackOut  # the REST API's own answer

        return Response(
            FeedbackOut.from_domain(fb).model_dump_json(), 201, media_type="application/json"
        )

    def _submit_feedback(self, token: str, s: Served, body: dict[str, Any]) -> Feedback:
        from relayml.client.connect import acting_as

        prediction_id = check_prediction_id(body.get("prediction_id"))
        user = acting_as(self.backend, token)
        try:
            return user.deployments.submit_feedback(
                s.project,
                s.name,
                prediction_id,
                label=body.get("label"),
                outcome=body.get("outcome"),
                comment=body.get("comment"),
                replace=bool(body.get("replace", False)),
            )
        finally:
            user.close()


def _bearer(header: str | None) -> str:
    if header:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    raise Unauthenticated(
        "feedback needs a Relay token: send 'Authorization: Bearer <token>' (an admin creates "
        "one with relay users create NAME --role stakeholder)"
    )


_V2_TYPE = {
    "float": "FP64",
    "integer": "INT64",
    "boolean": "BOOL",
    "string": "BYTES",
    "datetime": "BYTES",
}
