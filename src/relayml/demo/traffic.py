"""The demo's client: single-row requests to the model server with httpx, one at a time, as a
clinic's form would send them, and what the answers say (which version answered, how fast,
which arm, and how often it agreed with the biopsy)."""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from relayml.errors import RelayError

STICKY_HEADER = "patient-id"  # the canary's sticky key: one patient, one model


@dataclass(frozen=True)
class Patient:
    id: int
    features: dict[str, float]
    diagnosis: int  # the biopsy's answer (0 malignant, 1 benign)


@dataclass(frozen=True)
class Answer:
    patient: Patient
    prediction_id: str
    prediction: Any
    version: int | None  # the Relay-Model-Version header
    body_version: int  # the version the body names
    arm: str  # the Relay-Arm header
    ms: float

    @property
    def labelled(self) -> bool:
        """The answer names the version that gave it, in its headers and its body alike."""
        return self.version is not None and self.version == self.body_version

    @property
    def right(self) -> bool:
        return bool(self.prediction == self.patient.diagnosis)


@dataclass(frozen=True)
class Traffic:
    answers: list[Answer]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.answers) / self.seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(a.ms for a in self.answers)

    def versions(self) -> Counter[int | None]:
        return Counter(a.version for a in self.answers)


def patients(frame: Any, x: Any, y: Any) -> list[Patient]:
    """The rows of features `x` (indexed as the dataset `frame` is) with their patient and
    diagnosis."""
    ids = frame.loc[x.index, "patient_id"].tolist()
    rows = x.to_dict(orient="records")
    return [
        Patient(int(i), {k: float(v) for k, v in row.items()}, int(d))
        for i, row, d in zip(ids, rows, y.tolist(), strict=True)
    ]


def remeasured(who: list[Patient]) -> list[Patient]:
    """The same patients as the recalibrated scanner measures them (`data.recalibrated`)."""
    from relayml.demo.data import recalibrated

    return [
        Patient(p.id, {k: v * recalibrated(k) for k, v in p.features.items()}, p.diagnosis)
        for p in who
    ]


def _ask(client: httpx.Client, patient: Patient, body: bytes) -> Answer:
    """One single-row request with its patient's id header; the answer it got."""
    headers = {"content-type": "application/json", STICKY_HEADER: str(patient.id)}
    t0 = time.perf_counter()
    r = client.post("/predict", content=body, headers=headers)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RelayError(
            f"the model server answered {r.status_code} to a demo request: {r.text[:500]}"
        )
    doc = r.json()
    version = r.headers.get("relay-model-version")
    return Answer(
        patient,
        doc["prediction_ids"][0],
        doc["predictions"][0],
        int(version) if version is not None else None,
        int(doc["version"]),
        r.headers.get("relay-arm", "?"),
        ms,
    )


_BAR = (TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn())


def send(console: Console, url: str, who: list[Patient], n: int, what: str) -> Traffic:
    """`n` single-row requests, cycling through `who`, each with its patient's id header."""
    bodies = [orjson.dumps(p.features) for p in who]
    answers: list[Answer] = []
    with (
        httpx.Client(base_url=url, timeout=30.0) as client,
        Progress(*_BAR, console=console, transient=True) as progress,
    ):
        task = progress.add_task(what, total=n)
        started = time.perf_counter()
        for i in range(n):
            answers.append(_ask(client, who[i % len(who)], bodies[i % len(who)]))
            progress.advance(task)
        seconds = time.perf_counter() - started
    return Traffic(answers, seconds)


class Stream:
    """Traffic in batches under one progress bar that stays on screen, with lines printed above
    it between batches: `with Stream(console, url, total, "what") as s: s.send(who, n)`."""

    def __init__(self, console: Console, url: str, total: int, what: str) -> None:
        self.progress = Progress(*_BAR, console=console)
        self.task = self.progress.add_task(what, total=total)
        self.client = httpx.Client(base_url=url, timeout=30.0)

    def __enter__(self) -> Stream:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
        self.client.close()

    def print(self, text: str) -> None:
        self.progress.console.print(text)

    def send(self, who: list[Patient], n: int, start: int = 0) -> Traffic:
        """`n` requests, cycling through `who` from its `start`-th patient."""
        answers: list[Answer] = []
        started = time.perf_counter()
        for i in range(start, start + n):
            patient = who[i % len(who)]
            answers.append(_ask(self.client, patient, orjson.dumps(patient.features)))
            self.progress.advance(self.task)
        return Traffic(answers, time.perf_counter() - started)


def show(console: Console, traffic: Traffic, model: str) -> None:
    """Throughput, median latency, and the versions the answers named."""
    named = sum(a.labelled for a in traffic.answers)
    n = len(traffic.answers)
    versions = ", ".join(
        f"{model}@{v} ({count})" for v, count in sorted(traffic.versions().items(), key=str)
    )
    console.print(
        f"  {n} single-row requests, one at a time: [bold]{traffic.per_second:.0f} requests/s[/], "
        f"p50 [bold]{traffic.p50_ms:.1f} ms[/] (client to server and back)"
    )
    mark = "[green]✓[/]" if named == n else "[red]✗[/]"
    console.print(
        f"  {mark} {named}/{n} answers named the version that gave them "
        f"(Relay-Model-Version header = body): {versions}"
    )


def show_arms(console: Console, traffic: Traffic, model: str) -> dict[str, int]:
    """Per arm: its version, requests, share and median latency, and whether each patient
    stayed with one arm. Returns the requests per arm."""
    by_arm: dict[str, list[Answer]] = defaultdict(list)
    for a in traffic.answers:
        by_arm[a.arm].append(a)
    table = Table(
        title=f"Per arm, from the answers' Relay-Arm header ({model} versions)",
        title_justify="left",
    )
    for col in ("arm", "version", "requests", "share", "p50 ms", "patients"):
        table.add_column(col, justify="left" if col in ("arm", "version") else "right")
    n = len(traffic.answers)
    for arm in sorted(by_arm, key=lambda a: (a != "primary", a)):
        rows = by_arm[arm]
        table.add_row(
            arm,
            ", ".join(str(v) for v in sorted({a.body_version for a in rows})),
            str(len(rows)),
            f"{100 * len(rows) / n:.0f} %",
            f"{statistics.median(a.ms for a in rows):.1f}",
            str(len({a.patient.id for a in rows})),
        )
    console.print(table)
    arms_of: dict[int, set[str]] = defaultdict(set)
    for a in traffic.answers:
        arms_of[a.patient.id].add(a.arm)
    steady = sum(len(arms) == 1 for arms in arms_of.values())
    mark = "[green]✓[/]" if steady == len(arms_of) else "[red]✗[/]"
    console.print(
        f"  {mark} {steady}/{len(arms_of)} patients met one model every time (sticky by the "
        f"{STICKY_HEADER} header)"
    )
    return {arm: len(rows) for arm, rows in by_arm.items()}
