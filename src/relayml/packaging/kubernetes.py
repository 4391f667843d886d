"""Kubernetes manifests for one deployment's model server: a ConfigMap (the Relay server's URL
and the project), a Deployment and a Service, as one YAML stream written by `yaml.safe_dump`.

The pods are scraped by Prometheus through the usual ``prometheus.io/*`` annotations; liveness
is ``/healthz`` (the process answers), readiness ``/readyz`` (a model is loaded and verified),
with a startup probe that gives the first load time. The token comes from a Secret the
manifest only names (``<name>-relay-token``, key ``token``). SIGTERM flushes the prediction
log, so the grace period outlasts the server's own shutdown wait.
"""

from __future__ import annotations

from typing import Any

import yaml

from relayml.domain.deployments import Deployment
from relayml.packaging import ExportOptions
from relayml.packaging.docker import ALL_INTERFACES
from relayml.version import __version__

GRACE_SECONDS = 45  # relay serve waits up to 30 s for requests in flight, then flushes the log


def secret_name(name: str) -> str:
    return f"{name[:50]}-relay-token"


def manifests(deployment: Deployment, name: str, image: str, options: ExportOptions) -> str:
    labels = {"app.kubernetes.io/name": "relay-model-server", "app.kubernetes.io/instance": name}
    meta_labels = {**labels, "app.kubernetes.io/managed-by": "relay-export"}
    notes = {
        "relayml/deployment": deployment.name,
        "relayml/project": deployment.project,
        "relayml/target": deployment.target,
        "relayml/version": __version__,
    }
    scrape = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(options.port),
        "prometheus.io/path": "/metrics",
    }
    config = f"{name[:56]}-relay"

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": failures,
        }

    env = [
        {"name": "RELAY_SERVER_URL", "valueFrom": {"configMapKeyRef": {
            "name": config, "key": "server-url"}}},
        {"name": "RELAY_PROJECT", "valueFrom": {"configMapKeyRef": {
            "name": config, "key": "project"}}},
        {"name": "RELAY_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": secret_name(name), "key": "token"}}},
    ]  # fmt: skip
    container = {
        "name": "model-server",
        "image": image,
        "args": ["relay", "serve", deployment.name, "--host", ALL_INTERFACES,
                 "--port", str(options.port)],
        "ports": [{"name": "http", "containerPort": options.port, "protocol": "TCP"}],
        "env": env,
        "startupProbe": probe("/healthz", 2, 60),
        "livenessProbe": probe("/healthz", 10, 3),
        "readinessProbe": probe("/readyz", 5, 2),
        "resources": {
            "requests": {"cpu": options.cpu, "memory": options.memory},
            "limits": {"cpu": options.cpu, "memory": options.memory},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - the pod's own
    }  # fmt: skip
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": config, "labels": meta_labels, "annotations": notes},
            "data": {"server-url": options.server_url, "project": deployment.project},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": meta_labels, "annotations": notes},
            "spec": {
                "replicas": options.replicas,
                "selector": {"matchLabels": labels},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                },
                "template": {
                    "metadata": {"labels": labels, "annotations": {**scrape, **notes}},
                    "spec": {
                        "terminationGracePeriodSeconds": GRACE_SECONDS,
                        "containers": [container],
                        # the server stages prediction-log segments here before uploading them
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "labels": meta_labels,
                "annotations": {**scrape, **notes},
            },
            "spec": {
                "type": "ClusterIP",
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        },
    ]
    header = (
        f"# The model server of Relay deployment {deployment.name} (project "
        f"{deployment.project}), written by `relay deployments export`.\n"
        f"# Create the token's Secret first (README.md): kubectl create secret generic "
        f"{secret_name(name)} --from-literal=token=...\n"
    )
    text = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return header + text


class _Dumper(yaml.SafeDumper):
    """yaml.safe_dump without anchors: every mapping written out where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
