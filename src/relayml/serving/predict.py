"""The prediction routes: plain ASGI handlers, no router, no request object.

``POST /predict``, ``/deployments/{name}/predict`` and ``/v2/models/{name}/infer`` are found
by one dict lookup on (method, path) in ``app.ModelServer`` and bound to their deployment
when the server starts: no pydantic on the hot path.

A prediction: the body is read (413 past ``--max-body-bytes``), the plan read once, the arm
chosen (the sticky key from its header or the first record), the body parsed against that
arm's signature (422 naming the column), the rows queued for a batch, the answer written with
the version that gave it, then handed to the prediction log and the shadow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

from relayml.errors import NotFound, RelayError, TooLarge
from relayml.serving.access import MAX_REQUEST_ID, new_ids, request_id
from relayml.serving.inputs import ARROW_TYPES, CSV_TYPES, decode_json, sticky_value
from relayml.serving.plans import LiveArm, Served
from relayml.serving.predlog import Entry
from relayml.serving.shadow import Mirror

if TYPE_CHECKING:
    import numpy as np

    from relayml.serving.access import AccessLog
    from relayml.serving.metrics import Metrics
    from relayml.serving.options import ServeOptions
    from relayml.serving.predlog import PredictionLog
    from relayml.serving.shadow import Shadows

log = logging.getLogger("relayml.serving")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]


class _Gone(Exception):
    """The client went away before its body arrived."""


class Predictions:
    """The prediction handlers of ``app.ModelServer`` (which sets these attributes)."""

    options: ServeOptions
    served: dict[str, Served]
    metrics: Metrics
    predlog: PredictionLog
    shadows: Shadows
    access: AccessLog

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
