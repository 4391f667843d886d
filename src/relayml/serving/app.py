"""The model server's ASGI application.

The prediction routes (``POST /predict``, ``/deployments/{name}/predict``,
``/v2/models/{name}/infer``) are plain ASGI handlers found by one dict lookup on (method,
path) and bound to their deployment when the server starts: no router, no request object, no
pydantic on the hot path. Everything else (health, readiness, metrics, v2 metadata, feedback)
is a small Starlette app behind them.

A prediction: the body is read (413 past ``--max-body-bytes``), the plan read once, the arm
chosen (the sticky key from its header or the first record), the body parsed against that
arm's signature (422 naming the column), the rows queued for a batch, the answer written with
the version that gave it, then handed to the prediction log and the shadow.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayml.domain.deployments import Feedback, check_prediction_id
from relayml.errors import NotFound, RelayError, TooLarge, Unauthenticated, Unprocessable
from relayml.serving.access import MAX_REQUEST_ID, AccessLog, new_ids, request_id
from relayml.serving.follower import Follower
from relayml.serving.inputs import ARROW_TYPES, CSV_TYPES, decode_json, sticky_value
from relayml.serving.metrics import CONTENT_TYPE, Metrics
from relayml.serving.plans import LiveArm, Plan, Served
from relayml.serving.predlog import Entry, PredictionLog, make_server_id
from relayml.serving.shadow import Mirror, Shadows

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from relayml.client.base import Backend
    from relayml.domain.deployments import Resolution
    from relayml.serving.arms import Runner
    from relayml.serving.options import ServeOptions

log = logging.getLogger("relayml.serving")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_FEEDBACK_BYTES = 64 * 1024
_JSON = [(b"content-type", b"application/json")]


class _Gone(Exception):
    """The client went away before its body arrived."""


def _json(status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status, headers, media_type="application/json")


def _error(exc: RelayError) -> Response:
    return _json(exc.http_status, {"error": exc.to_dict()})


class ModelServer:
    """Every deployment this process serves, its prediction log and its metrics."""

    def __init__(
        self, options: ServeOptions, backend: Backend, spool: Path, *, owns_backend: bool = False
    ) -> None:
        self.options = options
        self.backend = backend
        self.spool = spool
        self._owns_backend = owns_backend
        # Numeric rows reach a scikit-learn model as an array in the order it was fitted in
        # (arms.Runner.predict_array); it would warn each time that the array has no names.
        warnings.filterwarnings(
            "ignore", message="X does not have valid feature names", category=UserWarning
        )
        self._preloaded: list[tuple[Served, Resolution, dict[str, Runner]]] | None = None
        self._closed = False
        self.served = {n: Served(n, options.project) for n in options.deployments}
        self.metrics = Metrics(self._live)
        self.server_id = make_server_id()
        self.predlog = PredictionLog(
            self._store_segment,
            spool,
            self.server_id,
            capacity=options.log_queue,
            segment_records=options.segment_records,
            segment_seconds=options.segment_seconds,
            sample=options.log_sample,
            on_written=lambda d, n: self.metrics.log_written.labels(d).inc(n),
            on_dropped=lambda d, n: self.metrics.log_dropped.labels(d).inc(n),
        )
        self.shadows = Shadows(
            self.predlog, self.metrics, capacity=options.log_queue, max_rows=options.max_batch
        )
        self.follower = Follower(
            backend,
            list(self.served.values()),
            poll_seconds=options.poll_seconds,
            metrics=self.metrics,
            install=self._install,
            array_input=True,
        )
        self.access = AccessLog(enabled=options.access_log)
        self._retiring: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self.hot: dict[tuple[str, str], Handler] = {("GET", "/healthz"): self._healthz}
        for s in self.served.values():
            self.hot[("POST", f"/deployments/{s.name}/predict")] = self._predictor(s, v2=False)
            self.hot[("POST", f"/v2/models/{s.name}/infer")] = self._predictor(s, v2=True)
        single = options.single
        self.hot[("POST", "/predict")] = (
            self._predictor(self.served[single], v2=False) if single else self._not_single
        )
        self.app = Starlette(
            routes=[
                Route("/readyz", self._readyz),
                Route("/metrics", self._metrics),
                Route("/v2", self._v2_server),
                Route("/v2/health/live", self._v2_live),
                Route("/v2/health/ready", self._v2_ready),
                Route("/v2/models/{name}", self._v2_model),
                Route("/v2/models/{name}/ready", self._v2_model_ready),
                Route("/deployments", self._deployments),
                Route("/deployments/{name}", self._deployment),
                Route("/feedback", self._feedback, methods=["POST"]),
                Route("/deployments/{name}/feedback", self._feedback, methods=["POST"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.hot.get((scope["method"], scope["path"]))
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.app(scope, receive, send)

    # --- life -------------------------------------------------------------------------------

    def preload(self) -> None:
        """Load every deployment now (before the server listens); raises what went wrong."""
        self._preloaded = self.follower.first_load()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        loaded = self._preloaded
        if loaded is None:
            loaded = await asyncio.to_thread(self.follower.first_load)
        self._preloaded = None
        # The loop thread gets the GIL back within 1 ms of the log writer or a shadow holding
        # it (the default is 5 ms, a latency every answer would pay under load).
        sys.setswitchinterval(0.001)
        for s, res, runners in loaded:
            self._install(s, res, runners)
        self.follower.start(asyncio.get_running_loop())
        self._flusher = asyncio.create_task(self._flush_access())
        try:
            yield
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """After the last request: stop following, answer what is queued, write the log."""
        await asyncio.to_thread(self.follower.stop)
        for s in self.served.values():
            if s.plan is not None:
                await s.plan.retire()
        if self._retiring:
            await asyncio.gather(*self._retiring)
        if self._flusher is not None:
            self._flusher.cancel()
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Stop the threads, write the prediction log, close the backend (once)."""
        if self._closed:
            return
        self._closed = True
        self.follower.stop()
        self.shadows.close()
        self.predlog.close()
        left = self.predlog.unstored
        if left:
            log.error(
                "%d prediction-log rows could not be stored; their segments are kept in %s",
                left,
                self.spool,
            )
        else:
            shutil.rmtree(self.spool, ignore_errors=True)
        self.access.flush()
        self.metrics.close()
        if self._owns_backend:
            self.backend.close()

    async def _flush_access(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self.access.flush()
            self.metrics.refresh()

    def _install(self, s: Served, res: Resolution, runners: dict[str, Runner]) -> None:
        """Swap in the plan for ``res`` (on the event loop's thread: one assignment); a
        resolution without arms takes the deployment out of service."""
        if not runners:
            old, s.plan = s.plan, None
            self.access.write({"event": "stopped", "ts": time.time(), "deployment": s.name,
                               "revision": res.revision, "problem": s.problem})  # fmt: skip
            if old is not None:
                self._retire(old)
            return
        arms = {
            a.role: LiveArm(s.name, a, runners[a.digest], s.arrivals, self.metrics, self.options)
            for a in res.arms
        }
        plan = Plan(res, arms)
        plan.start()
        old, s.plan, s.problem = s.plan, plan, None
        self.access.write(
            {
                "event": "serving",
                "ts": time.time(),
                "deployment": s.name,
                "revision": res.revision,
                "arms": [
                    {"arm": a.role.value, "ref": a.ref, "version": a.version, "digest": a.digest}
                    for a in res.arms
                ],
            }
        )
        # What is loaded now lives as long as the server: out of the cyclic collector's way, so
        # a full collection walks only what requests allocate (otherwise it walks every object
        # of pandas, scikit-learn and the models, a pause of tens of ms under load). Reference
        # counting still frees an old model once its plan retires.
        gc.collect()
        gc.freeze()
        if old is not None:
            self.metrics.swaps.labels(s.name).inc()
            self._retire(old)

    def _retire(self, plan: Plan) -> None:
        task = asyncio.get_running_loop().create_task(plan.retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _store_segment(
        self, project: str, deployment: str, path: Path, uri: str, records: int, first: Any,
        last: Any,
    ) -> None:  # fmt: skip
        self.backend.deployments.record_segment(
            project,
            deployment,
            path,
            uri=uri,
            records=records,
            first_at=first,
            last_at=last,
            server_id=self.server_id,
        )

    def _live(self) -> dict[str, Any]:
        return {
            "queues": {s.name: s.depth for s in self.served.values()},
            "log_queue": self.predlog.depth,
            "ready": self.ready,
            "arms": [row for s in self.served.values() if s.plan for row in s.plan.info],
        }

    @property
    def ready(self) -> bool:
        return all(s.ready for s in self.served.values())

    # --- predictions ------------------------------------------------------------------------

    def _predictor(self, s: Served, *, v2: bool) -> Handler:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            await self._predict(s, v2, scope, receive, send)

        return handle

    async def _predict(
        self, s: Served, v2: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start = time.perf_counter()
        ctype = b""
        rid_given = length = sticky = None
        plan = s.plan
        sticky_header = plan.sticky_header if plan is not None else None
        for k, v in scope["headers"]:
            if k == b"content-type":
                ctype = v
            elif k == b"x-request-id":
                rid_given = v
            elif k == b"content-length":
                length = v
            elif k == sticky_header:
                sticky = v
        rid = request_id(rid_given)
        arm: LiveArm | None = None
        s.arrivals.count += 1
        arrived = True
        try:
            body = await self._body(receive, length)
            plan = s.plan
            if plan is None:
                raise _Unavailable(s.problem or f"deployment {s.name} is not loaded yet")
            kind = _kind(ctype, v2)
            key = None if sticky is None else sticky.decode("latin-1")
            doc: Any = None
            if kind == "json" or kind == "v2":
                doc = decode_json(body)
                if key is None and plan.split and plan.sticky_key is not None:
                    key = sticky_value(doc, plan.sticky_key)
                arm = plan.choose(key)
                schema = arm.runner.schema
                parsed = schema.parse_v2(doc) if kind == "v2" else schema.parse(doc)
            else:
                arm = plan.choose(key)
                schema = arm.runner.schema
                parsed = schema.parse_csv(body) if kind == "csv" else schema.parse_arrow(body)
            s.arrivals.count -= 1
            arrived = False
            answer = await arm.batcher.submit(parsed)
        except _Gone:
            return
        except RelayError as exc:
            await self._refuse(s, arm, exc, rid, scope, send, start)
            return
        except Exception as exc:
            log.exception("request %s to %s failed", rid, s.name)
            err = RelayError(f"the server failed to answer: {type(exc).__name__}: {exc}")
            await self._refuse(s, arm, err, rid, scope, send, start)
            return
        finally:
            if arrived:
                s.arrivals.count -= 1
        n = parsed.size
        ids = new_ids(n)
        runner = arm.runner
        if v2:
            given = doc.get("id") if type(doc) is dict else None
            v2_id = given if isinstance(given, str) and len(given) <= MAX_REQUEST_ID else rid
            payload = _v2_answer(s.name, arm, v2_id, ids, answer.predictions, answer.probabilities)
        else:
            doc_out: dict[str, Any] = {
                "deployment": s.name,
                "model": arm.model,
                "version": arm.version,
                "digest": arm.digest,
                "arm": arm.role,
                "request_id": rid,
                "prediction_ids": ids,
                "predictions": answer.predictions,
            }
            if answer.probabilities is not None:
                doc_out["classes"] = runner.classes
                doc_out["probabilities"] = answer.probabilities
            payload = orjson.dumps(doc_out, option=orjson.OPT_SERIALIZE_NUMPY)
        headers = [
            *arm.headers,
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if n == 1:
            headers.append((b"relay-prediction-id", ids[0].encode()))
        elapsed = time.perf_counter() - start
        now = time.time()
        self.predlog.offer(
            Entry(
                deployment=s.name,
                project=s.project,
                model=arm.model,
                version=arm.version,
                digest=arm.digest,
                arm=arm.role,
                request_id=rid,
                ts=now,
                latency_ms=elapsed * 1000.0,
                ids=ids,
                schema=runner.schema,
                inputs=parsed,
                predictions=answer.predictions,
                probabilities=answer.probabilities,
                classes=runner.classes,
            )
        )
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        arm.ok.inc()
        arm.latency.observe(elapsed)
        shadow = plan.shadow
        if shadow is not None:
            self.shadows.offer(Mirror(shadow, s.project, kind, doc if doc is not None else body,
                                      rid, ids))  # fmt: skip
        if self.access.enabled:
            self.access.write(
                {
                    "ts": now,
                    "request_id": rid,
                    "method": "POST",
                    "path": scope["path"],
                    "status": 200,
                    "ms": round(elapsed * 1000.0, 3),
                    "deployment": s.name,
                    "version": arm.version,
                    "arm": arm.role,
                    "rows": n,
                }
            )

    async def _body(self, receive: Receive, length: bytes | None) -> bytes:
        limit = self.options.max_body_bytes
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = 0
            if declared > limit:
                raise _too_large(declared, limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(
        self,
        s: Served,
        arm: LiveArm | None,
        exc: RelayError,
        rid: str,
        scope: Scope,
        send: Send,
        start: float,
    ) -> None:
        status = exc.http_status
        problem = str(exc.details.get("problem") or exc.code)
        self.metrics.errors.labels(s.name, problem).inc()
        version, role = (str(arm.version), arm.role) if arm is not None else ("", "")
        self.metrics.requests.labels(s.name, version, role, str(status)).inc()
        doc = exc.to_dict()
        doc["request_id"] = rid
        body = orjson.dumps({"error": doc})
        headers = [
            *_JSON,
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if arm is not None:
            headers += [
                (b"relay-model-version", str(arm.version).encode()),
                (b"relay-model-digest", arm.digest.encode()),
            ]
        if status == 413:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.access.enabled:
            self.access.write(
                {
                    "ts": time.time(),
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000.0, 3),
                    "deployment": s.name,
                    "problem": problem,
                    "error": exc.message[:500],
                }
            )

    async def _not_single(self, scope: Scope, receive: Receive, send: Send) -> None:
        names = ", ".join(self.served)
        exc = NotFound(
            f"this server hosts several deployments ({names}); POST to "
            "/deployments/{name}/predict instead of /predict"
        )
        body = orjson.dumps({"error": exc.to_dict()})
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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


class _Unavailable(RelayError):
    http_status = 503
    code = "unavailable"


def _too_large(size: int, limit: int) -> TooLarge:
    return TooLarge(
        f"the request body is {size} bytes; this server reads at most {limit} "
        "(relay serve --max-body-bytes); split the batch or score files with relay score",
        problem="too_large",
        limit=limit,
    )


def _kind(ctype: bytes, v2: bool) -> str:
    media = ctype.split(b";", 1)[0].strip().lower().decode("latin-1")
    if not media or media == "application/json" or media.endswith("+json"):
        return "v2" if v2 else "json"
    if not v2 and media in CSV_TYPES:
        return "csv"
    if not v2 and media in ARROW_TYPES:
        return "arrow"
    raise _UnsupportedMedia(
        f"cannot read a {media} body; send application/json"
        + ("" if v2 else ", text/csv or application/vnd.apache.arrow.stream"),
        problem="media_type",
    )


class _UnsupportedMedia(RelayError):
    http_status = 415
    code = "unsupported_media_type"


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


def _v2_answer(
    name: str,
    arm: LiveArm,
    rid: str,
    ids: list[str],
    predictions: list[Any],
    probabilities: np.ndarray[Any, Any] | None,
) -> bytes:
    first = predictions[0] if predictions else None
    if isinstance(first, bool):
        dtype = "BOOL"
    elif isinstance(first, int):
        dtype = "INT64"
    elif isinstance(first, float):
        dtype = "FP64"
    else:
        dtype = "BYTES"
    outputs: list[dict[str, Any]] = [
        {"name": "predict", "datatype": dtype, "shape": [len(predictions)], "data": predictions}
    ]
    if probabilities is not None:
        rows, width = probabilities.shape
        outputs.append(
            {"name": "probabilities", "datatype": "FP64", "shape": [rows, width],
             "data": probabilities.ravel()}
        )  # fmt: skip
    return orjson.dumps(
        {
            "model_name": name,
            "model_version": str(arm.version),
            "id": rid,
            "parameters": {
                "arm": arm.role,
                "digest": arm.digest,
                "prediction_ids": ids,
                "classes": arm.runner.classes,
            },
            "outputs": outputs,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


__all__ = ["ModelServer"]
