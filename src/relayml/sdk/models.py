"""The model registry from Python: register a model, load it by version or alias (its hash
verified on every load), move unprotected aliases, open promotion requests and review them.

    mv = relay.models.register("churn", model, run=run, input_example=X[:5])
    mv.ref, mv.version, mv.digest, mv.flavor          # "churn@3", 3, sha256, "sklearn"
    m = relay.models.load("churn@champion")           # or "churn@3"
    m.predict(df); m.predict_proba(df)                # input checked against the signature
    req = relay.models.promote("churn@3", to="production", note="beats v2 on the holdout")
    relay.requests.approve(req.id)                    # as someone else, with the approver role
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from relayml.client.base import Backend
from relayml.domain.models import (
    AliasMove,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    Requirement,
)
from relayml.domain.policy import Policy
from relayml.errors import InvalidInput, Unprocessable
from relayml.scratch import scratch_dir
from relayml.sdk import session as _session
from relayml.sdk.run import Run


def _backend(project: str | None) -> tuple[Backend, str]:
    sess = _session.current()
    return sess.backend, project or sess.project


def register(
    name: str,
    model: Any = None,
    *,
    run: Run | str | None = None,
    input_example: Any = None,
    golden: Any = None,
    unsafe_pickle: bool = False,
    description: str = "",
    tags: dict[str, str] | None = None,
    project: str | None = None,
) -> ModelVersion:
    """Register `model` as `name`'s next version, saved in the safest format that fits it
    (scikit-learn via skops, ONNX, XGBoost, LightGBM). The signature is inferred from
    `input_example` by running the model on it. A model with no safe format is saved as a
    pickle only with ``unsafe_pickle=True``, which is recorded on the version.

    The version keeps a golden set: the input example's rows (its first 1,000) and the rows
    of `golden` (an evaluation sample, at most 1,000 rows), with the outputs the saved model
    gives on them here, so a live server can later be checked against them (`relay deployments
    verify`). ``golden=False`` keeps none (the rows would be stored in the registry).

    With `relay.autolog()` on, `model` may be left out: the model the run's last fit produced
    is registered, its signature inferred from the first rows it was fitted on (unless
    `input_example` is given)."""
    from relayml.flavors.formats import dump_model

    if model is None:
        from relayml.sdk.autolog import autologged_model

        found = autologged_model(run) if isinstance(run, Run) else None
        if found is None:
            raise InvalidInput(
                f"give the model to register as {name!r}, or fit one inside this run with "
                "relay.autolog() on and pass the run (run=run)"
            )
        model, example = found
        if input_example is None:
            input_example = example
    backend, proj = _backend(project)
    run_id = run.id if isinstance(run, Run) else run
    keep = golden is not False
    sample = golden if keep else None
    example = input_example if input_example is not None else sample
    saved = dump_model(model, input_example=example, unsafe_pickle=unsafe_pickle)
    golden_data = None
    if keep and example is not None:
        golden_data = _golden(saved, input_example, sample)
    with scratch_dir("model") as tmp:
        path = tmp / "model.bin"
        path.write_bytes(saved.data)
        golden_file = None
        if golden_data is not None:
            golden_file = tmp / "golden.parquet"
            golden_file.write_bytes(golden_data)
        return backend.models.register(
            proj,
            name,
            path,
            flavor=saved.flavor.value,
            environment=saved.environment.to_dict(),
            signature=saved.signature.to_dict() if saved.signature else None,
            run_id=run_id,
            unsafe_pickle=saved.unsafe_pickle,
            description=description,
            tags=tags,
            golden_file=golden_file,
        )


def _golden(saved: Any, input_example: Any, golden: Any) -> bytes:
    """The golden-set file, its outputs computed by the saved bytes loaded back (what a
    server loading this version will run), not by the object in memory."""
    from relayml.flavors.formats import load_model
    from relayml.flavors.golden import build_golden

    loaded = load_model(
        saved.data,
        flavor=saved.flavor,
        digest=saved.digest,
        signature=saved.signature,
        unsafe_pickle=saved.unsafe_pickle,
    )
    return build_golden(loaded, input_example=input_example, golden=golden)


def golden_for_file(
    artifact: str | os.PathLike[str],
    rows: str | os.PathLike[str],
    *,
    flavor: str,
    signature: dict[str, Any] | None,
    unsafe_pickle: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """For a model already saved to `artifact` (``relay models register --golden``): its
    signature (the given one, else inferred from the rows) and the golden-set file of the
    `rows` (a Parquet or CSV file, at most 1,000 rows), computed by the file loaded here."""
    import pyarrow as pa

    from relayml.domain.artifacts import sha256_hex
    from relayml.domain.models import Flavor, Signature
    from relayml.flavors.formats import load_model
    from relayml.flavors.golden import build_golden
    from relayml.flavors.signature import infer_signature
    from relayml.tables.parquet import open_input

    schema, batches, _ = open_input(rows)
    table = pa.Table.from_batches(list(batches), schema=schema)
    data = Path(artifact).read_bytes()
    sig = Signature.from_dict(signature) if signature is not None else None
    loaded = load_model(data, flavor=flavor, digest=sha256_hex(data), signature=sig,
                        unsafe_pickle=unsafe_pickle)  # fmt: skip
    if sig is None:
        if loaded.flavor is Flavor.ONNX:
            raise InvalidInput(
                "Relay cannot infer an ONNX model's signature from a file; give --signature"
            )
        sig = infer_signature(loaded.model, table)
        loaded.signature = sig
    return sig.to_dict(), build_golden(loaded, golden=table)


def golden(ref: str, *, project: str | None = None) -> Any:
    """The golden set of the version `ref` as a pandas DataFrame: the input rows, then
    ``relay:source`` and ``relay:row`` (where each row came from), ``relay:prediction`` and,
    for a classifier, ``relay:probabilities``: the outputs recorded at registration."""
    import pyarrow.parquet as pq

    backend, proj = _backend(project)
    with scratch_dir("golden") as tmp:
        path = backend.models.download_golden(proj, ref, tmp / "golden.parquet")
        return pq.read_table(path).to_pandas()


def load(ref: str, *, unsafe_pickle: bool = False, project: str | None = None) -> Any:
    """The model at `ref` (``churn@3``, ``churn@champion``, ``churn``: the latest), as a
    `LoadedModel` whose ``predict`` checks its input against the signature. The artifact's
    sha256 is checked against the registry's on every load; a pickled version loads only with
    ``unsafe_pickle=True``. Differences from the environment it was trained in that matter are
    warned about (``RuntimeWarning``)."""
    version, data = fetch(ref, unsafe_pickle=unsafe_pickle, project=project)
    loaded = load_version(version, data, unsafe_pickle=unsafe_pickle)
    for warning in loaded.environment_warnings:
        warnings.warn(f"{version.ref}: {warning}", RuntimeWarning, stacklevel=2)
    return loaded


def fetch(
    ref: str, *, unsafe_pickle: bool = False, project: str | None = None
) -> tuple[ModelVersion, bytes]:
    """The version at `ref` and its artifact's bytes, to load where they are needed (a Ray
    worker) with `load_version`, which checks them. A pickle is refused here already unless
    ``unsafe_pickle=True``."""
    backend, proj = _backend(project)
    version = backend.models.get(proj, ref)
    if version.unsafe_pickle and not unsafe_pickle:
        raise Unprocessable(
            f"{version.ref} is a pickle: loading it runs code from whoever made it; pass "
            "unsafe_pickle=True only if you trust them"
        )
    with scratch_dir("model") as tmp:
        path = backend.models.download(proj, version.ref, tmp / "model.bin")
        return version, path.read_bytes()


def load_version(version: ModelVersion, data: bytes, *, unsafe_pickle: bool = False) -> Any:
    """`version`'s artifact `data` as a `LoadedModel` (``.version`` is `version`), through the
    safe loader: its sha256 checked against the registry's, skops' allow-list, pickle only
    with ``unsafe_pickle=True``."""
    from relayml.flavors.formats import load_model

    loaded = load_model(
        data,
        flavor=version.flavor,
        digest=version.digest,
        signature=version.signature,
        environment=version.environment,
        unsafe_pickle=unsafe_pickle,
    )
    loaded.version = version  # type: ignore[attr-defined]
    return loaded


def get(ref: str, *, project: str | None = None) -> ModelVersion:
    backend, proj = _backend(project)
    return backend.models.get(proj, ref)


def list_models(*, project: str | None = None) -> list[ModelInfo]:
    backend, proj = _backend(project)
    return backend.models.list_models(proj)


def versions(name: str, *, project: str | None = None) -> list[ModelVersion]:
    backend, proj = _backend(project)
    return backend.models.versions(proj, name)


def history(name: str, *, alias: str | None = None, project: str | None = None) -> list[AliasMove]:
    backend, proj = _backend(project)
    return backend.models.history(proj, name, alias)


def set_alias(
    ref: str, alias: str, *, reason: str = "", project: str | None = None
) -> ModelVersion:
    """Point an unprotected alias at a version (a protected one moves by `promote`)."""
    backend, proj = _backend(project)
    return backend.models.set_alias(proj, ref, alias, reason)


def tag(ref: str, tags: dict[str, str], *, project: str | None = None) -> ModelVersion:
    backend, proj = _backend(project)
    return backend.models.set_tags(proj, ref, tags)


def archive(ref: str, *, project: str | None = None) -> ModelVersion:
    backend, proj = _backend(project)
    return backend.models.archive(proj, ref)


def card(name: str, *, project: str | None = None) -> ModelCard:
    backend, proj = _backend(project)
    return backend.models.card(proj, name)


def set_card(name: str, *, project: str | None = None, **fields: str) -> ModelCard:
    """Update the model card (``intended_use=``, ``limitations=``, ``owners=`` ...)."""
    if not fields:
        raise InvalidInput("name the card fields to set, e.g. intended_use='...'")
    backend, proj = _backend(project)
    return backend.models.set_card(proj, name, fields)


def evaluate(
    ref: str,
    dataset: str,
    *,
    target: str,
    slices: list[str] | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """The version's metrics on a dataset version (``holdout@2``), overall and per slice."""
    backend, proj = _backend(project)
    return backend.models.evaluate(proj, ref, dataset, target, slices)


def check_report_paths(*paths: str | os.PathLike[str] | None) -> None:
    """Refuse, before any work, a report path that cannot be written."""
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory; give a file name for the report")
        if not path.parent.is_dir():
            raise InvalidInput(f"no folder {path.parent} to write the report in; create it first")


def write_report(
    doc: dict[str, Any],
    *,
    html: str | os.PathLike[str] | None = None,
    md: str | os.PathLike[str] | None = None,
) -> None:
    """Render a compliance report's document (what `backend.models.report` returns) to a
    self-contained HTML file and/or a Markdown file, each written whole or not at all."""
    from relayml.reports.model_report import render_html, render_markdown

    for p, render in ((html, render_html), (md, render_markdown)):
        if p is None:
            continue
        path = Path(p)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(render(doc), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def report(
    ref: str,
    *,
    html: str | os.PathLike[str] | None = None,
    md: str | os.PathLike[str] | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """The compliance report of the version `ref` (model governance): everything Relay holds
    about it, under the headings of the EU AI Act's Annex IV, with a model card and an audit
    excerpt. Returns the document; writes a self-contained HTML page to `html` and Markdown to
    `md` when given (each file whole or not at all)."""
    check_report_paths(html, md)
    backend, proj = _backend(project)
    doc = backend.models.report(proj, ref)
    write_report(doc, html=html, md=md)
    return doc


def promote(
    ref: str,
    *,
    to: str,
    note: str = "",
    dataset: str | None = None,
    target: str | None = None,
    project: str | None = None,
) -> PromotionRequest:
    """Open a request to move the protected alias `to` to `ref`; its evidence is computed now."""
    backend, proj = _backend(project)
    return backend.models.promote(proj, ref, to, note, dataset, target)


def set_requirement(
    name: str,
    metric: str,
    *,
    min: float | None = None,
    max: float | None = None,
    project: str | None = None,
) -> Requirement:
    backend, proj = _backend(project)
    return backend.models.set_requirement(proj, name, metric, min, max)


def requirements(name: str, *, project: str | None = None) -> list[Requirement]:
    backend, proj = _backend(project)
    return backend.models.requirements(proj, name)


# relay.requests -------------------------------------------------------------------------
def get_request(request_id: str) -> PromotionRequest:
    return _session.current().backend.models.get_request(request_id)


def list_requests(
    *, state: str | None = None, model: str | None = None, project: str | None = None
) -> list[PromotionRequest]:
    backend, proj = _backend(project)
    return backend.models.list_requests(proj, state, model)


def approve(
    request_id: str, note: str = "", *, override_reason: str | None = None
) -> PromotionRequest:
    return _session.current().backend.models.approve(request_id, note, override_reason)


def reject(request_id: str, reason: str) -> PromotionRequest:
    return _session.current().backend.models.reject(request_id, reason)


def withdraw(request_id: str, reason: str = "") -> PromotionRequest:
    return _session.current().backend.models.withdraw(request_id, reason)


def comment(request_id: str, text: str) -> PromotionRequest:
    return _session.current().backend.models.comment(request_id, text)


def inbox(*, project: str | None = None) -> list[InboxItem]:
    return _session.current().backend.models.inbox(project)


# relay.policy ---------------------------------------------------------------------------
def show_policy(*, project: str | None = None) -> Policy:
    backend, proj = _backend(project)
    return backend.models.policy(proj)


def apply_policy(text: str, *, project: str | None = None) -> Policy:
    """Make `text` (YAML, or a path to a YAML file) the project's policy."""
    from pathlib import Path

    if "\n" not in text and text.endswith((".yaml", ".yml")):
        text = Path(text).read_text(encoding="utf-8")
    backend, proj = _backend(project)
    return backend.models.apply_policy(proj, text)
