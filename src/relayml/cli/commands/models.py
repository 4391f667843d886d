"""`relay models`: register, list, show, alias, tag, archive, card, evaluate, report and
promote model versions (reviewing requests is in `requests.py`).

    relay models ls | show churn | versions churn | history churn
    relay models register churn model.skops --run RUN_ID --golden sample.parquet
    relay models golden churn@3 -o golden.parquet
    relay models set-alias churn@3 staging
    relay models promote churn@4 --to production --note "beats v3 on the holdout"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import output, state
from relayml.cli.commands.requests import print_request

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
_FLAVOR_BY_SUFFIX = {
    ".skops": "sklearn",
    ".onnx": "onnx",
    ".pkl": "pickle",
    ".pickle": "pickle",
}


def _version_line(v: Any) -> str:
    aliases = f" [cyan]@{' @'.join(v.aliases)}[/]" if v.aliases else ""
    pickle = " [red]UNSAFE PICKLE[/]" if v.unsafe_pickle else ""
    return f"{v.ref}{aliases} {v.flavor.value}{pickle} {v.status.value}"


# relay models -------------------------------------------------------------------------------
def register_(
    name: Annotated[str, typer.Argument(help="The model's name in the registry.")],
    artifact: Annotated[Path, typer.Argument(help="The saved model (.skops, .onnx, ...).")],
    flavor: Annotated[
        str | None,
        typer.Option(help="sklearn (skops), onnx, xgboost, lightgbm or pickle; default: by suffix"),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="The run that trained it.")] = None,
    signature: Annotated[
        Path | None, typer.Option(help="The signature as JSON (see relay models show --json).")
    ] = None,
    golden: Annotated[
        Path | None,
        typer.Option(
            help="Rows (Parquet or CSV, at most 1,000) to keep as the golden set with the "
            "outputs the model gives on them here; infers the signature if none is given."
        ),
    ] = None,
    unsafe_pickle: Annotated[
        bool, typer.Option("--unsafe-pickle", help="Allow a pickle (it runs code on load).")
    ] = False,
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a saved model file as NAME's next version. From Python,
    relay.models.register(name, model, input_example=...) saves it and infers its signature."""
    from relayml.domain.enums import parse_enum
    from relayml.domain.models import Flavor
    from relayml.errors import InvalidInput
    from relayml.flavors.environment import capture
    from relayml.scratch import scratch_dir
    from relayml.sdk.models import golden_for_file

    if not artifact.is_file():
        raise InvalidInput(f"no file {artifact}; give the path of a saved model")
    chosen = flavor or _FLAVOR_BY_SUFFIX.get(artifact.suffix.lower())
    if chosen is None:
        raise InvalidInput(
            f"cannot tell the flavor of {artifact.name} from its suffix; pass --flavor "
            "(sklearn, onnx, xgboost, lightgbm or pickle)"
        )
    kind = parse_enum(Flavor, "flavor", chosen)
    sig = None
    if signature is not None:
        try:
            sig = json.loads(signature.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read the signature {signature}: {exc}") from None
    with state.backend() as backend, scratch_dir("golden") as tmp:
        golden_file = None
        if golden is not None:
            sig, data = golden_for_file(artifact, golden, flavor=kind.value, signature=sig,
                                        unsafe_pickle=unsafe_pickle)  # fmt: skip
            golden_file = tmp / "golden.parquet"
            golden_file.write_bytes(data)
        mv = backend.models.register(
            state.project(project),
            name,
            artifact,
            flavor=kind.value,
            environment=capture(kind).to_dict(),
            signature=sig,
            run_id=run,
            unsafe_pickle=unsafe_pickle,
            description=description,
            golden_file=golden_file,
        )
    if as_json:
        output.emit_json(mv)
        return
    kept = f", golden set of {mv.golden.rows} rows" if mv.golden else ""
    output.print_(f"registered {_version_line(mv)} sha256 {mv.digest[:12]}{kept}")


def ls(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """The project's models, their latest version and aliases."""
    proj = state.project(project)
    with state.backend() as backend:
        found = backend.models.list_models(proj)
    if as_json:
        output.emit_json(found)
        return
    t = output.table("model", "versions", "latest", "aliases", "created", "by")
    for m in found:
        aliases = ", ".join(f"{a}→{v}" for a, v in m.aliases.items())
        t.add_row(
            m.name,
            str(m.versions),
            str(m.latest or "-"),
            aliases,
            output.when(m.created_at),
            m.created_by,
        )
    output.print_(t)
    if not found:
        output.print_(f"[dim]no models in {proj}; register one with relay.models.register()[/]")


def show(
    ref: Annotated[str, typer.Argument(help="churn, churn@3 or churn@production.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One version: digest, flavor, signature, environment, run, aliases."""
    with state.backend() as backend:
        v = backend.models.get(state.project(project), ref)
    if as_json:
        output.emit_json(v)
        return
    output.print_(_version_line(v))
    output.print_(f"  sha256      {v.digest}  ({v.size} bytes)")
    output.print_(f"  run         {v.run_id or '-'}")
    output.print_(f"  registered  {output.when(v.created_at)} by {v.created_by}")
    if v.golden is not None:
        output.print_(
            f"  golden set  {v.golden.rows} rows with their outputs at registration "
            f"(sha256 {v.golden.digest[:12]}; relay models golden {v.ref} --out FILE)"
        )
    else:
        output.print_("  golden set  none (registered without an input example)")
    env = ", ".join(f"{k} {x}" for k, x in v.environment.packages.items())
    output.print_(f"  environment Python {v.environment.python}; {env}")
    if v.signature is not None:
        cols = ", ".join(
            f"{c.name}:{c.type.value}{'?' if c.nullable else ''}" for c in v.signature.inputs
        )
        output.print_(f"  inputs      {output.escape(cols)}")
        output.print_(
            f"  output      {v.signature.output.kind.value} ({v.signature.output.dtype.value})"
        )
    if v.tags:
        output.print_(f"  tags        {output.escape(json.dumps(v.tags))}")


def golden(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@3 or churn@production.")],
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the golden set here (Parquet).")
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """A version's golden set: its input rows with the outputs recorded at registration
    (written to --output as Parquet, verified; or its first rows shown)."""
    import pyarrow.parquet as pq

    from relayml.flavors.golden import PREDICTION, PROBABILITIES, ROW, SOURCE
    from relayml.scratch import scratch_dir

    proj = state.project(project)
    with state.backend() as backend:
        v = backend.models.get(proj, ref)
        if out is not None:
            backend.models.download_golden(proj, v.ref, out)
            output.print_(f"wrote the golden set of {v.ref} -> {output.escape(str(out))}")
            return
        with scratch_dir("golden") as tmp:
            table = pq.read_table(backend.models.download_golden(proj, v.ref, tmp / "g.parquet"))
    shown = [c for c in (SOURCE, ROW, PREDICTION, PROBABILITIES) if c in table.column_names]
    t = output.table("source", "row", "prediction", *(["probabilities"] if len(shown) > 3 else []))
    for row in table.select(shown).slice(0, 10).to_pylist():
        cells = [str(row[c]) for c in shown]
        if len(shown) > 3:
            cells[3] = ", ".join(f"{p:.4g}" for p in row[PROBABILITIES])
        t.add_row(*(output.escape(c) for c in cells))
    inputs = len(table.column_names) - len(shown)
    output.print_(f"{v.ref}: golden set of {table.num_rows} rows, {inputs} input columns")
    output.print_(t)
    if table.num_rows > 10:
        more = table.num_rows - 10
        output.print_(f"[dim]... and {more} more; write them all with --output FILE[/]")


def versions(
    name: Annotated[str, typer.Argument(help="The model.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every version of a model, oldest first (pickles are marked)."""
    with state.backend() as backend:
        found = backend.models.versions(state.project(project), name)
    if as_json:
        output.emit_json(found)
        return
    t = output.table("version", "aliases", "flavor", "status", "run", "registered", "by")
    for v in found:
        flavor = v.flavor.value + (" [red](unsafe pickle)[/]" if v.unsafe_pickle else "")
        t.add_row(
            v.ref,
            ", ".join(v.aliases),
            flavor,
            v.status.value,
            v.run_id or "-",
            output.when(v.created_at),
            v.created_by,
        )
    output.print_(t)


def history(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str | None, typer.Option(help="Only this alias.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who moved which alias to which version, when, why, and through which request."""
    with state.backend() as backend:
        found = backend.models.history(state.project(project), name, alias)
    if as_json:
        output.emit_json(found)
        return
    t = output.table("when", "alias", "from", "to", "by", "request", "reason")
    for m in found:
        t.add_row(
            output.when(m.at),
            m.alias,
            str(m.from_version or "-"),
            str(m.to_version or "-"),
            m.by,
            m.request_id or "(direct)",
            output.escape(m.reason),
        )
    output.print_(t)


def set_alias(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@3.")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. staging.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the history).")] = "",
    project: ProjectOpt = None,
) -> None:
    """Point an unprotected alias at a version (protected ones move by promote)."""
    with state.backend() as backend:
        v = backend.models.set_alias(state.project(project), ref, alias, reason)
    output.print_(f"{v.name}@{alias} -> {v.ref}")


def tag(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@3.")],
    tags: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
    project: ProjectOpt = None,
) -> None:
    """Add or change tags on a version."""
    from relayml.errors import InvalidInput

    pairs = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"tag {item!r} is not KEY=VALUE")
        pairs[key] = value
    with state.backend() as backend:
        v = backend.models.set_tags(state.project(project), ref, pairs)
    output.print_(f"{v.ref} tags: {output.escape(json.dumps(v.tags))}")


def archive(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@2.")],
    project: ProjectOpt = None,
) -> None:
    """Archive a version (refused while an alias or an open request points at it)."""
    with state.backend() as backend:
        v = backend.models.archive(state.project(project), ref)
    output.print_(f"archived {v.ref}")


def card(
    name: Annotated[str, typer.Argument(help="The model.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="FIELD=TEXT (intended_use, out_of_scope, limitations, "
            "ethical_considerations, risk_rating, owners); repeatable.",
        ),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the model card, or update fields of it with --set."""
    from relayml.errors import InvalidInput

    proj = state.project(project)
    with state.backend() as backend:
        if set_:
            fields = {}
            for item in set_:
                key, sep, value = item.partition("=")
                if not sep:
                    raise InvalidInput(f"--set {item!r} is not FIELD=TEXT")
                fields[key] = value
            found = backend.models.set_card(proj, name, fields)
        else:
            found = backend.models.card(proj, name)
    if as_json:
        output.emit_json(found)
        return
    output.print_(f"model card of {name} (revision {found.revision})")
    from relayml.domain.models import MODEL_CARD_FIELDS

    for key in MODEL_CARD_FIELDS:
        text = found.fields.get(key) or "[dim](not filled)[/]"
        output.print_(f"  {key:24} {text}")


def report(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@3 or churn@production.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report as one self-contained page.")
    ] = None,
    md: Annotated[Path | None, typer.Option("--md", help="Write the report as Markdown.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The compliance report of a version (model governance): Annex IV headings, model card,
    approval record and audit excerpt, from what Relay holds."""
    from relayml.sdk.models import check_report_paths, write_report

    check_report_paths(html, md)
    with state.backend() as backend:
        doc = backend.models.report(state.project(project), ref)
    write_report(doc, html=html, md=md)
    if as_json:
        output.emit_json(doc)
        return
    verified = "intact" if doc["audit"]["verified"] else "FAILED: " + doc["audit"]["reason"]
    promo = doc["promotion"]
    output.print_(
        f"compliance report of {doc['model']['ref']}: "
        + (
            f"approved by request {promo['id']} ({promo['alias']})"
            if promo
            else "no applied promotion"
        )
        + f"; audit chain {verified}"
    )
    for label, path in (("html", html), ("markdown", md)):
        if path is not None:
            output.print_(f"  {label}: {path}")


def evaluate(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@3.")],
    dataset: Annotated[str, typer.Argument(help="The dataset version, e.g. holdout@2.")],
    target: Annotated[str, typer.Option(help="The label column.")],
    slice_: Annotated[
        list[str] | None, typer.Option("--slice", help="A column to break metrics down by.")
    ] = None,
    min_: Annotated[
        list[str] | None,
        typer.Option("--min", help="Exit 1 if METRIC is below VALUE: auc=0.8 (repeatable)."),
    ] = None,
    max_: Annotated[
        list[str] | None,
        typer.Option("--max", help="Exit 1 if METRIC is above VALUE: log_loss=0.4 (repeatable)."),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The version's metrics on a dataset version, overall and per slice.

    With --min/--max it is a CI gate: exit 1 when an overall metric is out of its bound."""
    bounds = [*_bounds(min_ or [], "--min"), *_bounds(max_ or [], "--max")]
    with state.backend() as backend:
        ev = backend.models.evaluate(state.project(project), ref, dataset, target, slice_)
    failed = _out_of_bounds(ev, bounds)
    if as_json:
        output.emit_json(ev)
    else:
        _print_evaluation(ev)
    for line in failed:
        output.check_failed(line)
    if failed:
        raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def _bounds(items: list[str], option: str) -> list[tuple[str, str, float]]:
    """``["auc=0.8"]`` as ``[("auc", option, 0.8)]``."""
    from relayml.errors import InvalidInput

    found = []
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or number != number:
            raise InvalidInput(f"{option} takes METRIC=VALUE (e.g. auc=0.8), not {item!r}")
        found.append((name.strip(), option, number))
    return found


def _out_of_bounds(ev: dict[str, Any], bounds: list[tuple[str, str, float]]) -> list[str]:
    """What is out of its bound, one line each; InvalidInput for a metric not computed."""
    from relayml.errors import InvalidInput

    metrics = ev["metrics"]
    failed = []
    for name, option, bound in bounds:
        value = metrics.get(name)
        if not isinstance(value, int | float):
            raise InvalidInput(
                f"{option} {name}: {ev['model']} on {ev['dataset']} has no metric {name!r}; "
                f"it has {', '.join(sorted(metrics))}"
            )
        low = option == "--min" and not value >= bound
        high = option == "--max" and not value <= bound
        if low or high:
            side = "below the minimum" if low else "above the maximum"
            failed.append(
                f"{name} of {ev['model']} on {ev['dataset']} is "
                f"{output.number(float(value))}, {side} {output.number(bound)}"
            )
    return failed


def _print_evaluation(ev: dict[str, Any]) -> None:
    output.print_(f"{ev['model']} on {ev['dataset']} ({ev['rows']} rows, {ev['task']})")
    for k, x in ev["metrics"].items():
        output.print_(f"  {k:10} {output.number(x) if isinstance(x, float) else x}")
    if ev["slices"]:
        t = output.table("slice", "value", "rows", *ev["metrics"].keys())
        for s in ev["slices"]:
            t.add_row(
                s["column"],
                output.escape(str(s["value"])),
                str(s["rows"]),
                *(
                    output.number(s["metrics"].get(k))
                    if isinstance(s["metrics"].get(k), float)
                    else str(s["metrics"].get(k))
                    for k in ev["metrics"]
                ),
            )
        output.print_(t)


def promote(
    ref: Annotated[str, typer.Argument(help="The version, e.g. churn@4.")],
    to: Annotated[str, typer.Option("--to", help="The protected alias, e.g. production.")],
    note: Annotated[str, typer.Option(help="Why: for the reviewers and the history.")] = "",
    eval_: Annotated[
        str | None, typer.Option("--eval", help="Evaluate on this dataset (default: policy's).")
    ] = None,
    target: Annotated[str | None, typer.Option(help="The label column, with --eval.")] = None,
    fail_on_evidence: Annotated[
        bool,
        typer.Option(
            "--fail-on-evidence",
            help="Exit 1 if required evidence failed (the request is opened all the same).",
        ),
    ] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a promotion request; its evidence is computed now and shown."""
    with state.backend() as backend:
        req = backend.models.promote(state.project(project), ref, to, note, eval_, target)
    if as_json:
        output.emit_json(req)
    else:
        print_request(req)
        output.print_(
            f"[dim]reviewers see it in relay inbox; follow it with relay requests show {req.id} "
            f"(relay requests wait {req.id} waits for the decision)[/]"
        )
    failed = req.failed_evidence
    if fail_on_evidence and failed:
        names = ", ".join(e.name.value for e in failed)
        output.check_failed(f"required evidence {names} of request {req.id} failed")
        raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="The model registry: versions, aliases, promotion, evaluation.")
    commands: tuple[tuple[str, Any], ...] = (
        ("register", register_),
        ("ls", ls),
        ("show", show),
        ("golden", golden),
        ("versions", versions),
        ("history", history),
        ("set-alias", set_alias),
        ("tag", tag),
        ("archive", archive),
        ("card", card),
        ("evaluate", evaluate),
        ("report", report),
        ("promote", promote),
    )
    for name, fn in commands:
        models.command(name)(fn)
    app.add_typer(models, name="models", no_args_is_help=True)
