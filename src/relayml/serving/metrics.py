"""The model server's Prometheus metrics (prometheus-client), on a registry of its own.

Names (docs/serving.md lists them with their labels):
``relay_serving_requests_total{deployment,version,arm,status}``,
``relay_serving_request_errors_total{deployment,problem}``,
``relay_serving_request_seconds{deployment,version,arm}`` (histogram, from the body read to
the answer), ``relay_serving_predict_seconds{deployment,version,arm}`` (one model call),
``relay_serving_batch_rows{deployment,arm}`` (rows per model call),
``relay_serving_queue_depth{deployment}`` (requests waiting for a batch),
``relay_serving_log_queue_rows``, ``relay_serving_log_records_written_total{deployment}``,
``relay_serving_log_records_dropped_total{deployment}``,
``relay_serving_log_upload_failures_total``, ``relay_serving_shadow_dropped_total``,
``relay_serving_shadow_errors_total{deployment}``,
``relay_serving_model_swaps_total{deployment}``, ``relay_serving_load_failures_total{deployment}``,
``relay_serving_ready`` and ``relay_serving_model_info{deployment,arm,model,version,digest,ref}``
(1 for each arm served now).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 10_000)


class _Live(Collector):
    """Gauges read when scraped: queue depths, readiness, what each arm serves."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Any:
        state = self._read()
        depth = GaugeMetricFamily(
            "relay_serving_queue_depth",
            "Requests waiting for a batch, per deployment",
            labels=["deployment"],
        )
        for name, value in state["queues"].items():
            depth.add_metric([name], value)
        yield depth
        yield GaugeMetricFamily(
            "relay_serving_log_queue_rows",
            "Prediction-log rows in memory, not yet written",
            value=state["log_queue"],
        )
        yield GaugeMetricFamily(
            "relay_serving_ready", "1 when every arm of every deployment is loaded",
            value=1 if state["ready"] else 0,
        )  # fmt: skip
        info = GaugeMetricFamily(
            "relay_serving_model_info",
            "The model version each arm serves now (value 1)",
            labels=["deployment", "arm", "model", "version", "digest", "ref"],
        )
        for labels in state["arms"]:
            info.add_metric(labels, 1)
        yield info


class Metrics:
    def __init__(self, live: Callable[[], dict[str, Any]]) -> None:
        r = self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "relay_serving_requests",
            "Requests answered, by deployment, version, arm and HTTP status",
            ["deployment", "version", "arm", "status"],
            registry=r,
        )
        self.errors = Counter(
            "relay_serving_request_errors",
            "Requests refused or failed, by deployment and problem (json, missing, type ...)",
            ["deployment", "problem"],
            registry=r,
        )
        self.latency = Histogram(
            "relay_serving_request_seconds",
            "Time from the request's body read to its answer",
            ["deployment", "version", "arm"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predict = Histogram(
            "relay_serving_predict_seconds",
            "Time of one model call (a batch)",
            ["deployment", "version", "arm"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "relay_serving_batch_rows",
            "Rows per model call",
            ["deployment", "arm"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.log_written = Counter(
            "relay_serving_log_records_written",
            "Prediction-log rows written to stored segments",
            ["deployment"],
            registry=r,
        )
        self.log_dropped = Counter(
            "relay_serving_log_records_dropped",
            "Prediction-log rows dropped because the in-memory queue was full",
            ["deployment"],
            registry=r,
        )
        self.log_upload_failures = Counter(
            "relay_serving_log_upload_failures",
            "Prediction-log segments the artifact store or registry refused (retried)",
            registry=r,
        )
        self.shadow_dropped = Counter(
            "relay_serving_shadow_dropped",
            "Requests not mirrored to a shadow because its queue was full",
            ["deployment"],
            registry=r,
        )
        self.shadow_errors = Counter(
            "relay_serving_shadow_errors",
            "Requests a shadow could not answer (its signature refused them, or it failed)",
            ["deployment"],
            registry=r,
        )
        self.swaps = Counter(
            "relay_serving_model_swaps",
            "Times a deployment's arms were replaced after a registry change",
            ["deployment"],
            registry=r,
        )
        self.load_failures = Counter(
            "relay_serving_load_failures",
            "Model versions that failed to load (the previous ones kept serving)",
            ["deployment"],
            registry=r,
        )
        self._live = live
        self.shared = bool(os.environ.get(MULTIPROC_ENV))
        if not self.shared:
            r.register(_Live(live))
            self._page = r
            return
        # --workers N: every process writes its series to files in one folder (prometheus-
        # client's multiprocess mode, chosen by the environment before it is imported), and a
        # scrape of any worker reads them all. Counters and histograms add up; the live gauges
        # are refreshed by each worker a few times a second (`refresh`).
        from prometheus_client import Gauge
        from prometheus_client.multiprocess import MultiProcessCollector

        self._depth = Gauge("relay_serving_queue_depth", "Requests waiting for a batch",
                            ["deployment"], multiprocess_mode="livesum", registry=r)  # fmt: skip
        self._log_rows = Gauge(
            "relay_serving_log_queue_rows", "Prediction-log rows in memory, not yet written",
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self._ready = Gauge("relay_serving_ready", "1 when every worker has every arm loaded",
                            multiprocess_mode="livemin", registry=r)  # fmt: skip
        self._info = Gauge(
            "relay_serving_model_info", "The model version each arm serves (1 now, 0 before)",
            ["deployment", "arm", "model", "version", "digest", "ref"],
            multiprocess_mode="livemax", registry=r,
        )  # fmt: skip
        self._served: set[tuple[str, ...]] = set()
        self._page = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(self._page)  # type: ignore[no-untyped-call]

    def refresh(self) -> None:
        """Write this worker's live gauges (multiprocess mode; a no-op otherwise)."""
        if not self.shared:
            return
        state = self._live()
        for name, value in state["queues"].items():
            self._depth.labels(name).set(value)
        self._log_rows.set(state["log_queue"])
        self._ready.set(1 if state["ready"] else 0)
        now = {tuple(labels) for labels in state["arms"]}
        for labels in self._served - now:
            self._info.labels(*labels).set(0)
        for labels in now:
            self._info.labels(*labels).set(1)
        self._served |= now

    def close(self) -> None:
        """This worker's live gauges leave the page (multiprocess mode)."""
        if self.shared:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        self.refresh()
        return generate_latest(self._page)
