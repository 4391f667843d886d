"""The bundle's README: what the files are and the commands that run them."""

from __future__ import annotations

from collections.abc import Sequence

from relayml.domain.deployments import Deployment
from relayml.domain.models import ModelVersion
from relayml.packaging import ExportOptions
from relayml.packaging.docker import python_of
from relayml.packaging.kubernetes import GRACE_SECONDS, secret_name


def readme(
    deployment: Deployment,
    versions: Sequence[ModelVersion],
    name: str,
    image: str,
    options: ExportOptions,
    skipped: list[str],
) -> str:
    port = options.port
    version = versions[0] if versions else None
    served = (
        f"`{version.ref}` (sha256 `{version.digest[:12]}`, {version.flavor.value})"
        if version is not None
        else "nothing yet (the image installs Relay's scikit-learn support)"
    )
    if len(versions) > 1:
        served += " (and " + ", ".join(f"`{v.ref}`" for v in versions[1:]) + " beside it)"
    pinned = ", ".join(f"{k} {x}" for v in versions for k, x in v.environment.packages.items())
    lines = [
        f"# Relay deployment `{deployment.name}`: image and Kubernetes manifests",
        "",
        f"Written by `relay deployments export {deployment.name}` from project "
        f"`{deployment.project}`. The deployment's target is `{deployment.target}`; when "
        f"exported it served {served}. The model server (`relay serve`) asks the Relay server "
        "what to serve every few seconds and loads a new version by itself when the target's "
        "alias moves (digest verified, warmed up, swapped without failing a request), so a "
        "promotion needs no new image. Rebuild the image when a version needs other packages.",
        "",
        "| file | what it is |",
        "| --- | --- |",
        f"| `Dockerfile` | Python {python_of(version)} (the model's), Relay with the `serve` "
        f"extra and the model's packages as the registry recorded them ({pinned or 'none'}); runs "
        f"`relay serve {deployment.name} --host 0.0.0.0 --port {port}` as a non-root user |",
        f"| `kubernetes.yaml` | ConfigMap `{name[:56]}-relay` (the Relay server's URL and the "
        f"project), Deployment `{name}` ({options.replicas} replicas, {options.cpu} CPU and "
        f"{options.memory} each) and Service `{name}` (port 80 to the pods' {port}) |",
        "",
        "## Run it",
        "",
        "```sh",
        f"docker build -t {image} .",
        f"docker push {image}                  # to a registry your cluster pulls from",
        f"kubectl create secret generic {secret_name(name)} --from-literal=token=$RELAY_TOKEN",
        "kubectl apply -f kubernetes.yaml",
        f"kubectl rollout status deployment/{name}",
        "```",
        "",
        "The token belongs to a Relay user who may read the deployment and record its "
        "prediction log (an `mlops_engineer` or `ml_engineer` of the project). It lives only in "
        "the Secret: the manifests name it, and nothing here contains it. Change the Relay "
        f"server's URL (`{options.server_url}` when exported) in the ConfigMap.",
        "",
        "## What Kubernetes checks",
        "",
        "- **Liveness** `GET /healthz`: the process answers. **Readiness** `GET /readyz`: a "
        "model is loaded and verified; a pod takes traffic only then. A startup probe gives "
        "the first load up to two minutes.",
        f"- **Metrics** `GET /metrics` (Prometheus): the pods and the Service carry "
        f'`prometheus.io/scrape: "true"`, `prometheus.io/port: "{port}"` and '
        "`prometheus.io/path: /metrics`.",
        f"- **Shutdown**: SIGTERM lets requests in flight finish and flushes the prediction "
        f"log; the pod's grace period is {GRACE_SECONDS} s.",
        "- **Rollout**: one new pod at a time, none taken out before its replacement is ready.",
        "",
        "Rolling back a model is a Relay command, not a new image: `relay deployments rollback "
        f"{deployment.name} --reason ...` (every replica follows within seconds).",
    ]
    if skipped:
        lines += [
            "",
            "**Not pinned** (the recorded value is not a plain package name and version): "
            + ", ".join("`" + s.replace("`", "'") + "`" for s in skipped),
        ]
    return "\n".join(lines) + "\n"
