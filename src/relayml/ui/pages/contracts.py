"""Contracts: the contracts the project's dataset versions were published under (one per
digest, with the versions that use it and how they fared), a contract's YAML, and the custom
checks the project's contracts may run (trusted here) and those this server has installed."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import Response

from relayml.domain.datasets import DatasetVersion
from relayml.errors import NotFound
from relayml.ui.pages.data import MAX_DATASETS
from relayml.ui.web import Area, Context

area = Area()


@dataclass
class ContractUse:
    digest: str
    text: str
    versions: list[DatasetVersion] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        return sorted({v.name for v in self.versions})

    @property
    def newest(self) -> DatasetVersion:
        return max(self.versions, key=lambda v: v.created_at)

    @property
    def failing(self) -> int:
        return sum(1 for v in self.versions if v.quality and not v.quality.get("passed", True))


def contracts_in(ctx: Context) -> list[ContractUse]:
    s, who, p = ctx.services, ctx.who, ctx.project
    found: dict[str, ContractUse] = {}
    for info in s.datasets.list_datasets(who, p)[:MAX_DATASETS]:
        for v in s.datasets.versions(who, p, info.name):
            if v.contract_digest and v.contract is not None:
                use = found.setdefault(
                    v.contract_digest, ContractUse(v.contract_digest, v.contract)
                )
                use.versions.append(v)
    return sorted(found.values(), key=lambda u: u.newest.created_at, reverse=True)


@area.get("/p/{project}/contracts")
def contracts(ctx: Context) -> Response:
    s, who = ctx.services, ctx.who
    return ctx.render(
        "contracts/contracts.html",
        uses=contracts_in(ctx),
        trusted=s.datasets.list_trusted_checks(who, ctx.project),
        installed=s.datasets.installed_checks(who),
    )


@area.get("/p/{project}/contracts/{digest}")
def contract(ctx: Context) -> Response:
    digest = ctx.request.path_params["digest"]
    use = next((u for u in contracts_in(ctx) if u.digest == digest), None)
    if use is None:
        raise NotFound(
            f"no dataset version in project {ctx.project!r} was published under contract "
            f"{digest[:64]!r}"
        )
    return ctx.render("contracts/contract.html", use=use)
