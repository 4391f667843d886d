"""`relay contracts check | infer | trusted | trust | untrust`: validate data against a contract
(a CI gate), draft one, and manage the custom checks published data may run.

Exit codes of `check`: 0 when every `error` check passed (failed `warn` checks are shown but do
not fail it); 1 (EXIT_FAILED) when an `error` check failed; bad input (a contract that does not
parse, a missing file) exits with its RelayError code, e.g. 2 for invalid input, 5 not found.
DATA and SOURCE are a Parquet/CSV path or a dataset reference such as `loans@3`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import options, output, state
from relayml.domain.refs import parse_ref

EXIT_FAILED = output.EXIT_CHECK_FAILED

contracts_app = typer.Typer(
    name="contracts",
    help="Data contracts: validate data against one (exit code for CI), infer a starting one.",
    no_args_is_help=True,
)


def _data(source: str, allow_quarantined: bool) -> Any:
    """A path as it is (validated in streaming batches), or a dataset version's Arrow table."""
    if "@" not in source or os.path.exists(source):
        return source
    from relayml.sdk.datasets import get

    with state.backend() as backend:
        found = get(
            source, project=state.project(), allow_quarantined=allow_quarantined, backend=backend
        )
        return found.to_arrow()


@contracts_app.command("check")
def check_command(
    contract: Annotated[Path, typer.Argument(help="The contract, a YAML file.")],
    data: Annotated[str, typer.Argument(help="Parquet/CSV path or dataset ref (loans@3).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    trust_code: Annotated[
        bool,
        typer.Option("--trust-code", help="Allow the contract's custom checks to import code."),
    ] = False,
    allow_quarantined: Annotated[
        bool, typer.Option("--allow-quarantined", help="Read a quarantined dataset version.")
    ] = False,
    dtypes: options.DtypeOpt = None,
) -> None:
    """Validate DATA against CONTRACT without publishing; exit 1 if an error check failed."""
    from relayml.contracts import load_contract, validate

    spec = load_contract(contract, trust_code=trust_code)
    report = validate(_data(data, allow_quarantined), spec, dtypes=options.dtypes(dtypes))
    if json_out:
        output.emit_json(report.to_dict())
    else:
        _render(report, f"{data} against {contract}")
    if not report.passed:
        raise typer.Exit(code=EXIT_FAILED)


def _render(report: Any, title: str) -> None:
    t = output.table("check", "severity", "result", "failing rows", "fraction", "message",
                     title=title, no_wrap=("check",))  # fmt: skip
    for c in report.checks:
        if c.passed:
            verdict = "[green]pass[/]"
        else:
            verdict = "[bold red]FAIL[/]" if c.severity == "error" else "[yellow]warn[/]"
        t.add_row(
            output.escape(c.name),
            c.severity,
            verdict,
            f"{c.failing_count:,}",
            f"{c.failing_fraction:.4%}" if c.failing_count else "-",
            output.escape(c.message),
        )
    output.print_(t)
    for c in report.failed:
        for row in c.sample[:2]:
            output.print_(f"  {output.escape(c.name)} e.g. {output.escape(repr(row))}")
    output.print_(report.summary())


@contracts_app.command("infer")
def infer_command(
    source: Annotated[str, typer.Argument(help="Parquet/CSV path or dataset ref (loans@3).")],
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here (default: stdout).")
    ] = None,
    allow_quarantined: Annotated[
        bool, typer.Option("--allow-quarantined", help="Read a quarantined dataset version.")
    ] = False,
    dtypes: options.DtypeOpt = None,
) -> None:
    """Write a starting contract from SOURCE: types, nullability, ranges, small allowed sets,
    unique id-like columns, a row-count range. Review it before relying on it."""
    from relayml.contracts import infer_contract

    data = _data(source, allow_quarantined)
    name = parse_ref(source).name if "@" in source and not os.path.exists(source) else None
    contract = infer_contract(data, name=name, dtypes=options.dtypes(dtypes))
    text = contract.to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    output.print_(f"wrote {out} ({len(contract.columns)} columns)")


ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
CheckArg = Annotated[
    str, typer.Argument(metavar="MODULE:FUNCTION", help="The check, e.g. mychecks.loans:fits.")
]


@contracts_app.command("trusted")
def trusted_command(
    project: ProjectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """The custom checks this project's published contracts may run, and those installed on
    the server that an admin could trust."""
    proj = state.project(project)
    with state.backend() as backend:
        trusted = backend.datasets.list_trusted_checks(proj)
        installed = backend.datasets.installed_checks()
    if as_json:
        from relayml.wire.datasets import TrustedCheckOut

        output.emit_json([TrustedCheckOut.from_domain(c) for c in trusted])
        return
    t = output.table("check", "state", "trusted by", "at", "reason", title=f"Checks in {proj}")
    for c in trusted:
        state_ = "[green]trusted[/]" if c.installed else "[red]trusted, not installed[/]"
        t.add_row(c.ref, state_, c.added_by, output.when(c.added_at), output.escape(c.reason))
    shown = {c.ref for c in trusted}
    for ref, where in installed.items():
        if ref not in shown:
            t.add_row(ref, "installed", "-", "-", output.escape(where))
    output.print_(t)
    if not trusted and not installed:
        output.print_(
            "[dim]no custom checks installed on the server: a package declares them under the "
            "entry-point group relayml_checks, or the server lists them in RELAY_TRUSTED_CHECKS[/]"
        )


@contracts_app.command("trust")
def trust_command(
    ref: CheckArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it may run (kept, audited).")],
    project: ProjectOpt = None,
) -> None:
    """Let the project's published contracts run an installed custom check (admin)."""
    with state.backend() as backend:
        c = backend.datasets.trust_check(state.project(project), ref, reason)
    output.print_(f"trusted {c.ref} in project {c.project}")


@contracts_app.command("untrust")
def untrust_command(
    ref: CheckArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it may no longer run.")],
    project: ProjectOpt = None,
) -> None:
    """Stop the project's published contracts from running a check (admin); versions it
    checked keep their reports, a new publish naming it is refused."""
    proj = state.project(project)
    with state.backend() as backend:
        backend.datasets.untrust_check(proj, ref, reason)
    output.print_(f"{ref} is no longer trusted in project {proj}")


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app)
