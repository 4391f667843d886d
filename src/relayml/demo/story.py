"""The demo's storyline: chapter headers, the chapters in order, and what to try next."""

from __future__ import annotations

import time
import uuid

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from relayml.demo import (
    data,
    experiments,
    governance,
    loop,
    monitoring,
    registry,
    serving,
    shift,
)


def _chapter(console: Console, number: int, title: str, who: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{number}. {title}[/]  [dim]({who})[/]", align="left"))


def run(*, quick: bool = False, server: str | None = None, token: str | None = None) -> None:
    """Tell the story; `quick` trains a smaller grid (what the tests run)."""
    import relayml as relay
    from relayml.sdk import session as sessions

    console = Console(highlight=False)
    started = time.monotonic()
    batch = uuid.uuid4().hex[:12]
    session = relay.init(project=governance.PROJECT, server=server, token=token)
    where = (
        session.settings.server_url
        if session.backend.kind == "http"
        else str(session.settings.home)
    )
    console.print(
        Panel(
            "A data engineer publishes validated data, a data scientist trains and tracks "
            "models on it, a stakeholder reads the results but "
            "may not change them, the best model is promoted to production past a policy, "
            "an ML engineer serves it and tries the runner-up as a canary, a stakeholder "
            "sends feedback, DevOps rolls back. Then the loop closes: an ML engineer watches "
            "the deployment and an MLOps engineer attaches a retraining loop; the clinics' "
            "scanners are recalibrated half-way through the traffic, the monitor alerts, the "
            "loop retrains, governance approves, the canary wins and is promoted; a node "
            "serving a model swapped behind the registry's back is caught; and model "
            "governance checks the audit trail.\n"
            f"Project [bold]{governance.PROJECT}[/], acting as [bold]{session.user}[/], "
            f"stored in {where}",
            title="relay demo" + (" --quick" if quick else ""),
            border_style="cyan",
        )
    )
    try:
        _chapter(console, 1, "Prepare validated data", "data engineer")
        dataset = data.prepare_data(console, session.settings.home)

        _chapter(console, 2, "Train and track real models", "data scientist")
        ids = experiments.train_all(console, quick, batch, dataset)

        _chapter(console, 3, "Compare them", "data scientist")
        ranked = experiments.show_leaderboard(console, batch)
        best, second = ranked[0].id, ranked[1].id if len(ranked) > 1 else ranked[0].id

        _chapter(console, 4, "Share results, not write access", "admin → stakeholder")
        token_ = governance.stakeholder_token(console, session.backend)
        governance.stakeholder_reads_but_cannot_run(console, token_, batch, server)

        _chapter(console, 5, "Hand the best model to production", "data scientist → governance")
        in_production = registry.hand_over(
            console,
            session.backend,
            dataset,
            ranked[0].id,
            server,
            session.settings.home / "reports",
        )
        session = relay.init(project=governance.PROJECT, server=server, token=token)

        requests = (200, 200, 50) if quick else (500, 500, 100)
        home = session.settings.home

        def as_admin() -> None:  # the demo's own session: the data engineer's part
            relay.init(project=governance.PROJECT, server=server, token=token)

        with serving.ServingStory(console, session.backend, dataset, home, server) as story:
            _chapter(console, 6, "Serve it, and try the runner-up", "ML engineer")
            story.deploy_and_serve(requests[0])
            story.canary(second, requests[1])

            _chapter(
                console, 7, "Feedback, a comparison, a rollback", "stakeholder → ML eng. → DevOps"
            )
            story.feedback()
            story.compare_arms()
            story.metrics()
            story.roll_back(requests[2])

            _chapter(console, 8, "Watch it, and say what to do when it drifts", "ML eng. → MLOps")
            watched = monitoring.watch(story)

            _chapter(console, 9, "Traffic, a blip, then a real shift", "clinics → ML engineer")
            monitoring.stream(story, watched, dataset, as_admin)

            _chapter(
                console, 10, "The loop: retrain, approve, canary, promote", "MLOps → governance"
            )
            looped = loop.run_loop(story, watched)
            monitoring.follow(story, watched)

            _chapter(console, 11, "Is what serves what was approved?", "ML engineer → DevOps")
            shifted = shift.check(story, watched.monitor, looped.holder)
            story.stop_and_show_log()
        served = story.result
        session = relay.init(project=governance.PROJECT, server=server, token=token)

        _chapter(console, 12, "Check the record", "model governance")
        governance.show_audit(console, session.backend)
    finally:
        sessions.reset()

    elapsed = time.monotonic() - started
    console.print()
    console.print(
        Panel(
            f"• A pipeline cleaned a raw export and published {dataset.ref} under its contract; "
            "a broken export was quarantined instead of reaching anyone.\n"
            f"• {len(ids)} real models were trained on {dataset.ref} and tracked as runs in "
            f"project '{governance.PROJECT}': params, metric curves, final metrics and "
            "artifacts (the model saved with skops, a classification report as text and HTML).\n"
            "• search_runs ranked them by roc_auc, filtered by a tag.\n"
            f"• '{governance.STAKEHOLDER}', a stakeholder, could read them but was refused "
            "starting a run.\n"
            f"• {in_production} went to production through a promotion request: a baseline "
            "below the stakeholder's floor was blocked by the policy, a self-approval was "
            "refused, governance approved with the evidence in front of it, and wrote the "
            "compliance report.\n"
            f"• {serving.ML_ENGINEER} (ML engineer) deployed {registry.MODEL}@production as "
            f"'{serving.DEPLOYMENT}' and ran relay serve on 127.0.0.1: {served.requests} "
            f"single-row requests, every answer naming the version that gave it; "
            f"{served.canary}, the runner-up, answered {served.arms.get('canary', 0)} of them "
            f"as a {serving.CANARY_PERCENT:g} % canary sticky by patient.\n"
            f"• {governance.STAKEHOLDER} sent feedback through the server and the lab's system "
            f"the other biopsy results: {served.feedback} labels, joined to the predictions by "
            f"id. Compared from the prediction log, the canary had {served.verdict}.\n"
            f"• {serving.DEVOPS} (DevOps) read /metrics and rolled back to "
            f"{served.rolled_back_to} at once, kept in the deployment's history.\n"
            + monitoring.summary(watched)
            + loop.summary(looped)
            + shift.summary(shifted)
            + f"• On SIGTERM the server wrote its prediction log: {served.segments} Parquet "
            f"segments, {served.records} records, registered in Relay.\n"
            "• Every step, the refusal included, is in a hash-chained audit trail that verifies.",
            title=f"What just happened ({elapsed:.1f} s)",
            title_align="left",
            border_style="green",
        )
    )
    console.print("[bold]Next steps[/]")
    for line in (
        f"relay --project {governance.PROJECT} datasets lineage {dataset.ref}",
        f"relay --project {governance.PROJECT} pipelines runs",
        f"relay --project {governance.PROJECT} pipelines ls    # the nightly schedule, paused",
        f"relay runs ls --project {governance.PROJECT} --order-by 'metrics.roc_auc DESC'",
        f"relay runs show {best}",
        f"relay runs compare {best} {second}",
        f"relay artifacts get {best} model.skops --dest ./best-model",
        f"relay --project {governance.PROJECT} models history {registry.MODEL}",
        f"relay --project {governance.PROJECT} requests ls",
        f"relay --project {governance.PROJECT} models report {registry.MODEL}@production "
        "--html report.html --md report.md",
        f"relay --project {governance.PROJECT} deployments show {serving.DEPLOYMENT}",
        f"relay --project {governance.PROJECT} deployments history {serving.DEPLOYMENT}",
        f"relay --project {governance.PROJECT} deployments compare {serving.DEPLOYMENT}",
        f"relay --project {governance.PROJECT} deployments segments {serving.DEPLOYMENT}",
        f"relay --project {governance.PROJECT} deployments feedback-ls {serving.DEPLOYMENT}",
        f"relay --project {governance.PROJECT} monitors history {watched.first}",
        f"relay --project {governance.PROJECT} monitors report {watched.first} --html monitor.html",
        f"relay --project {governance.PROJECT} alerts ls --all",
        "relay inbox",
        f"relay --project {governance.PROJECT} loops show {looped.run}",
        f"relay --project {governance.PROJECT} requests show {looped.request}",
        f"relay --project {governance.PROJECT} serve {serving.DEPLOYMENT} --port 8600    "
        "# then: curl -s 127.0.0.1:8600/metrics",
        f"relay audit log --project {governance.PROJECT} --limit 20",
        "relay audit verify",
        "relay server    # the same over REST; API docs at http://127.0.0.1:8080/docs",
    ):
        # soft_wrap: long run ids stay on one line, so the commands can be copied as they are
        console.print(f"  {line}", soft_wrap=True)
