"""What surrounds a deployment's release, for `relay deployments`: `export` (the bundle a
cluster runs), `compare` (its arms side by side), `smoke` and the `--wait` of `relay deploy` and
`set-target` (the model server serves the change, or it is rolled back). The deployments CLI
module registers these commands; the work is in `relayml.packaging`, `relayml.compare` and
`relayml.rollout`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import options, output, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]

WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Wait until the model server at --url serves the change and answers a smoke "
        "request; exit 1 otherwise (a changed deployment is rolled back).",
    ),
]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="The model server to wait for (http://host:8600).")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for the server (with --wait).")
]
SmokeOpt = Annotated[
    Path | None,
    typer.Option("--smoke", help="JSON records for the smoke request (default: one row built "
                 "from the signature)."),
]  # fmt: skip


def smoke_test(
    name: options.DeploymentArg,
    url: Annotated[str, typer.Option("--url", help="The model server (http://host:8600).")],
    smoke: SmokeOpt = None,
    timeout: TimeoutOpt = 30.0,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Roll the deployment back when the check fails.")
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Smoke-test a running model server for CI: it serves what the deployment resolves to and
    answers the records 200 from one of those versions; exit 1 otherwise."""
    proj = state.project(project)
    with state.backend() as backend:
        res = backend.deployments.resolve(proj, name)
        wait_for(backend, proj, res, url, timeout, smoke, rollback=rollback)


def check_wait(wait: bool, url: str | None) -> None:
    from relayml.errors import InvalidInput

    if wait and not url:
        raise InvalidInput("--wait needs --url: the model server to wait for (http://host:8600)")
    if url and not wait:
        raise InvalidInput("--url is for --wait; add --wait to wait for the model server")


def wait_for(
    backend: Any, proj: str, res: Any, url: str, timeout: float, smoke: Path | None, rollback: bool
) -> None:
    """Wait for the server and smoke-test it; on failure roll back (a change) and exit 1."""
    from relayml import rollout

    primary = next((a for a in res.arms if a.role.value == "primary"), None)
    if primary is None:
        records = rollout.read_records(smoke) if smoke else None
    else:
        version = backend.models.get(proj, f"{primary.model}@{primary.version}")
        records = (
            rollout.read_records(smoke) if smoke else [rollout.example_record(version.signature)]
        )
    base = url.rstrip("/")
    outcome = rollout.wait_served(base, res, timeout=timeout)
    if outcome.ok and records is not None:
        outcome = rollout.smoke(base, res, records)
    if outcome.ok:
        output.note(f"ready: {outcome.message}")
        return
    output.check_failed(outcome.message)
    if rollback:
        back = backend.deployments.rollback(
            proj, res.deployment, reason=f"relay --wait: {outcome.message}"[:2000]
        )
        now = backend.deployments.resolve(proj, back.name)
        served = ", ".join(f"{a.role.value} v{a.version}" for a in now.arms) or "nothing"
        output.check_failed(f"rolled {back.name} back to {back.target} ({served})")
    raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def compare(
    name: options.DeploymentArg,
    since: Annotated[
        datetime | None, typer.Option(help="From this UTC time on.", formats=options.TIMES)
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Up to this UTC time.", formats=options.TIMES)
    ] = None,
    last: Annotated[
        str | None, typer.Option(help="The last 24h, 7d ... (instead of --since).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the tests.")] = 0.05,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each arm side by side: requests, latency, predictions against the primary's (the drift
    engine), agreement with the primary, and realised metrics from feedback, with the test that
    says whether a difference is real."""
    from datetime import timedelta

    from relayml.compare import compare as compare_arms
    from relayml.domain.durations import parse_duration
    from relayml.errors import InvalidInput

    if last is not None and since is not None:
        raise InvalidInput("give --since or --last, not both")
    start = since.replace(tzinfo=UTC) if since is not None else None
    if last is not None:
        start = datetime.now(UTC) - timedelta(seconds=parse_duration(last))
    end = until.replace(tzinfo=UTC) if until is not None else None
    proj = state.project(project)
    with state.backend() as backend:
        found = compare_arms(backend, proj, name, since=start, until=end, alpha=alpha)
    if as_json:
        output.emit_json(found.to_dict())
        return
    _print_comparison(found)


def traffic(
    name: options.DeploymentArg,
    minutes: Annotated[
        int, typer.Option(help="The last N minutes, the current one included (1 to 1440).")
    ] = 60,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Requests per minute for each arm and each arm's latency (p50/p95/p99), from the newest
    prediction-log segments of every server; a model server's own /metrics is the live source
    for one process."""
    with state.backend() as backend:
        found = backend.deployments.traffic(state.project(project), name, minutes=minutes)
    if as_json:
        from relayml.wire.deployments import TrafficOut

        output.emit_json(TrafficOut.from_domain(found).model_dump(mode="json"))
        return
    totals = found.totals
    output.print_(
        f"{output.escape(name)}: {found.requests:,} requests ({found.rows:,} rows) in the last "
        f"{found.minutes} minutes, {found.requests / found.minutes:.2f} a minute, busiest minute "
        f"{found.peak:,}, as of {output.when(found.as_of)}"
    )
    if found.requests:
        label = "per minute" if found.minutes <= SPARK_WIDTH else f"last {SPARK_WIDTH} min"
        output.print_(f"  {label:<11} {_spark(totals)}")
        for arm, counts in found.per_minute.items():
            output.print_(f"  {arm:<11} {_spark(list(counts), found.peak)}  {sum(counts):,}")
        t = output.table("arm", "version", "requests", "rows", "p50 ms", "p95 ms", "p99 ms")
        for a in found.arms:
            t.add_row(
                a.arm, str(a.version), f"{a.requests:,}", f"{a.rows:,}",
                *(output.number(a.latency_ms[k]) for k in ("p50", "p95", "p99")),
            )  # fmt: skip
        output.print_(t)
    if not found.complete:
        output.print_(
            f"[yellow]read the newest {found.segments_read} of {found.segments} segments; "
            f"{found.rows_unread:,} rows in older ones are not counted (relay deployments "
            f"compare {output.escape(name)} --last {found.minutes}m reads them all)[/]"
        )


SPARKS = "·▁▂▃▄▅▆▇█"  # none, then eighths of the busiest minute


def _spark(counts: list[int], peak: int | None = None) -> str:
    """Counts as a line of block characters (the last `WIDTH` minutes, scaled to `peak`)."""
    top = peak if peak is not None else max(counts, default=0)
    shown = counts[-SPARK_WIDTH:]
    if not top:
        return SPARKS[0] * len(shown)
    return "".join(SPARKS[0 if not c else max(1, round(c / top * 8))] for c in shown)


SPARK_WIDTH = 60


def _print_comparison(c: Any) -> None:
    output.print_(
        f"{c.deployment}: {c.rows:,} answered rows in {c.segments} log segments, "
        f"{c.feedback:,} with feedback"
    )
    if not c.arms:
        output.print_("  no predictions logged in this window (relay deployments segments NAME)")
        return
    t = output.table(
        "arm", "version", "requests", "p50 / p99 ms", "predictions", "vs primary",
        "agreement", "realised",
    )  # fmt: skip
    for a in c.arms:
        shares = sorted(a.predictions.items(), key=lambda kv: -kv[1])[:5]
        if c.classifier:
            dist = ", ".join(f"{output.escape(k)} {v:.0%}" for k, v in shares)
        else:
            dist = f"mean {output.number(a.predictions['mean'])}"
        drift = "-"
        if a.drift is not None:
            verdict = "[red]differs[/]" if a.drift["drifted"] else "same"
            drift = f"{verdict} (effect {output.number(a.drift['effect'])})"
        agree = "-"
        if a.agreement is not None:
            agree = (
                f"{a.agreement['rate']:.1%} [{a.agreement['low']:.1%}, "
                f"{a.agreement['high']:.1%}] n={a.agreement['pairs']}"
                if a.agreement["pairs"]
                else "other requests"
            )
        real = "-"
        if a.realised is not None:
            real = (
                f"{a.realised['metric']} {output.number(a.realised['value'])} n={a.realised['n']}"
            )
            if "pvalue" in a.realised:
                word = "[red]real difference[/]" if a.realised["real"] else "no real difference"
                real += (
                    f" vs {output.number(a.realised['primary_value'])}: {word} "
                    f"({a.realised['test']} p={output.number(a.realised['pvalue'])})"
                )
        lat = f"{output.number(a.latency_ms['p50'])} / {output.number(a.latency_ms['p99'])}"
        t.add_row(a.arm, str(a.version), f"{a.requests:,}", lat, dist, drift, agree, real)
    output.print_(t)
    for a in c.arms:
        if a.drift is not None:
            output.print_(f"  {a.arm} v{a.version}: {output.escape(a.drift['reason'])}")


def export(
    name: options.DeploymentArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder to write into.")] = Path(
        "deploy"
    ),
    server_url: Annotated[
        str | None,
        typer.Option(help="The Relay server the model server asks (default: the one in use)."),
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="The image reference (default relay-NAME:VERSION).")
    ] = None,
    replicas: Annotated[int, typer.Option(help="Pods of the model server.")] = 2,
    cpu: Annotated[str, typer.Option(help="CPU per pod, requested and the limit.")] = "1",
    memory: Annotated[str, typer.Option(help="Memory per pod, requested and the limit.")] = "1Gi",
    relay_requirement: Annotated[
        str | None, typer.Option(help="What pip installs for Relay (default relayml[serve]==V).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that differ.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a Dockerfile, Kubernetes manifests and a README that run this deployment's model
    server in your own cluster (probes on /healthz and /readyz, Prometheus scrape annotations,
    the token from a Secret: never written)."""
    from relayml.domain.deployments import ArmRole
    from relayml.errors import InvalidInput
    from relayml.packaging import ExportOptions, render, write_bundle

    url = server_url or state.options.server or state.settings().server_url
    if not url:
        raise InvalidInput(
            "give --server-url: the Relay server the exported model server will ask what to "
            "serve (this command runs on an embedded store, which a cluster cannot reach)"
        )
    options = ExportOptions(
        server_url=url, image=image, replicas=replicas, cpu=cpu, memory=memory,
        relay_requirement=relay_requirement,
    )  # fmt: skip
    proj = state.project(project)
    with state.backend() as backend:
        dep = backend.deployments.get(proj, name)
        res = backend.deployments.resolve(proj, name)
        arms = sorted(res.arms, key=lambda a: list(ArmRole).index(a.role))  # primary first
        versions = [backend.models.get(proj, f"{a.model}@{a.version}") for a in arms]
    files = render(dep, versions, options)
    written = write_bundle(files, out, force=force)
    if as_json:
        output.emit_json({"deployment": dep.name, "files": [str(p) for p in written]})
        return
    output.print_(f"wrote {', '.join(output.escape(str(p)) for p in written)}")
    output.print_(
        f"[dim]next: see {output.escape(str(out / 'README.md'))} (build, secret, apply)[/]"
    )
