"""The Relay server's own Prometheus metrics: every HTTP request counted and timed by route
template (`relay_http_requests_total{method,route,status}`, `relay_http_request_seconds`), and,
at each scrape of `GET /api/v1/metrics`, the gauges of the work the store holds
(`services.operations`). One registry per app; `relay server` is one process, so no
multiprocess mode is needed (docs/operations.md)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayml.domain.operations import PlatformStatus
from relayml.version import __version__

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "(unmatched)"  # refused before routing (no token, too large) or no such route


class RequestMetrics:
    """Counts and times each HTTP request under its route's template (`/api/v1/projects/
    {project}/...`, never the raw path: the label set stays bounded whatever callers send)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "relay_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "relay_http_request_seconds",
            "Seconds from a request's arrival to its answer's last byte, by method and route",
            ["method", "route"],
            registry=self.registry,
        )

    def expose(self, status: PlatformStatus) -> bytes:
        """The text a scrape reads: the request metrics, then the store's gauges."""
        gauges = CollectorRegistry(auto_describe=True)
        gauges.register(_Gauges(status))
        return generate_latest(self.registry) + generate_latest(gauges)


class _Gauges(Collector):
    def __init__(self, status: PlatformStatus) -> None:
        self.status = status

    def collect(self):  # type: ignore[no-untyped-def]
        info = GaugeMetricFamily(
            "relay_server_info",
            "1, labelled with the server's version and database schema revision",
            labels=["version", "schema_revision"],
        )
        info.add_metric([__version__, self.status.schema_revision or ""], 1.0)
        yield info
        for g in self.status.gauges:
            family = GaugeMetricFamily(g.name, g.help, labels=list(g.labels))
            for labels, value in g.values:
                family.add_metric(list(labels), value)
            yield family


class MetricsMiddleware:
    """Outermost: it sees every answer, the gate's refusals included."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception that escapes every handler is answered 500 by the server

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.seconds.labels(method, template).observe(time.perf_counter() - start)
