"""Monitors on deployments, their windows, model-shift checks and alerts (pure: no I/O).

A monitor watches one deployment's prediction log in windows, by time (``1h``: aligned to the
epoch, so every monitor's hours are the same hours) or by rows (``50000``: each window the next
50,000 rows logged). Each closed window keeps a summary of its rows (never the rows) and an
assessment against the monitor's reference: data drift per input column, prediction drift,
realised performance from feedback (late labels update the window their prediction belongs
to, within the label horizon), and estimated performance without labels.

Decisions are gated: a window with fewer than ``min_rows`` rows decides nothing, and a
condition alerts only once it held in ``k`` of the last ``n`` decided windows (``3/4``). An
alert is one per (monitor, kind, subject) while its condition lasts: more windows make it
grow, a window without it resolves it. Model-shift checks (the served digest, a golden-set
replay) alert at once: there is no noise to wait out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from relayml.domain.durations import parse_duration
from relayml.domain.enums import choices, parse_enum
from relayml.domain.identity import check_name
from relayml.domain.text import check_text
from relayml.errors import InvalidInput

MAX_WINDOW_ROWS = 100_000_000
MIN_WINDOW_SECONDS = 60.0
MAX_WINDOW_SECONDS = 366 * 86_400.0
MAX_PERSISTENCE = 100
MAX_MIN_ROWS = 100_000_000
MAX_HORIZON_SECONDS = 366 * 86_400.0
DEFAULT_MIN_ROWS = 100
DEFAULT_HORIZON = "30d"
DEFAULT_GRACE = "5m"
DEFAULT_ALERT_AFTER = "3/4"
DEFAULT_CHECK_EVERY = "5m"
MIN_CHECK_SECONDS = 10.0
MAX_CHECK_SECONDS = 7 * 86_400.0
MAX_ENDPOINT = 2048
MAX_NO_TRAFFIC_WINDOWS = 1000
MAX_NOTE = 5000
MAX_WINDOWS_LISTED = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_PERSISTENCE = re.compile(r"^\s*(\d{1,4})\s*/\s*(\d{1,4})\s*\Z")
_ALERT_ID = re.compile(r"^[0-9a-f]{32}\Z")


class MonitorStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # processes nothing until resumed; its windows and alerts stay
    ARCHIVED = "archived"  # kept with its windows and alerts; refuses every change


class WindowKind(StrEnum):
    TIME = "time"
    ROWS = "rows"


class AlertFamily(StrEnum):
    """What an alert is about, as whoever reacts to it sees it: the one vocabulary of a loop's
    `on` (docs/loops.md) and of an alert's `family`. Each `AlertKind` belongs to one."""

    DATA_DRIFT = "data_drift"
    PREDICTION_DRIFT = "prediction_drift"
    PERFORMANCE = "performance"  # estimated (no labels) or realised (feedback)
    MODEL_SHIFT = "model_shift"
    TRAFFIC = "traffic"  # the deployment's traffic stopped (no loop reacts: retraining is no fix)


class AlertKind(StrEnum):
    """What an alert is about (the statistics' finding kinds, and model shift); its subject
    says which column, output, metric or check."""

    DATA_DRIFT = "data_drift"  # an input column's distribution moved (subject: the column)
    PREDICTION_DRIFT = "prediction_drift"  # the outputs moved (subject: prediction or a score)
    ESTIMATED_PERFORMANCE = "estimated_performance"  # label-free estimate fell (the metric)
    REALISED_PERFORMANCE = "realised_performance"  # performance on feedback fell (the metric)
    MODEL_SHIFT = "model_shift"  # a model-shift check failed (subject: digest or replay)
    NO_TRAFFIC = "no_traffic"  # no rows for N time windows in a row (subject: traffic)

    @property
    def family(self) -> AlertFamily:
        """What reacts to it (a loop's `--on`): the two performance kinds are `performance`,
        every other kind is its own family."""
        if self in (AlertKind.ESTIMATED_PERFORMANCE, AlertKind.REALISED_PERFORMANCE):
            return AlertFamily.PERFORMANCE
        if self is AlertKind.NO_TRAFFIC:
            return AlertFamily.TRAFFIC
        return AlertFamily(self.value)


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone is on it; still open
    RESOLVED = "resolved"

    @property
    def live(self) -> bool:
        return self is not AlertState.RESOLVED


class CheckKind(StrEnum):
    DIGEST = "digest"  # the served artifact's sha256 against the registered one
    REPLAY = "replay"  # the golden set through the live endpoint against recorded outputs


CHECK_SEVERITY = {CheckKind.DIGEST: Severity.CRITICAL, CheckKind.REPLAY: Severity.WARNING}


@dataclass(frozen=True)
class WindowSpec:
    """How a monitor cuts the log: every ``seconds`` (time) or every ``rows`` rows."""

    kind: WindowKind
    seconds: float | None = None
    rows: int | None = None

    def __str__(self) -> str:
        if self.kind is WindowKind.ROWS:
            return f"{self.rows} rows"
        return format_seconds(self.seconds or 0)

    @property
    def text(self) -> str:
        """As a user writes it (``1h``, ``50000``)."""
        return str(self.rows) if self.kind is WindowKind.ROWS else str(self)

    def bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        """The time window holding ``moment`` (windows are aligned to the epoch, UTC)."""
        assert self.seconds is not None
        width = int(self.seconds)
        offset = int((moment - EPOCH).total_seconds() // width) * width
        start = EPOCH + timedelta(seconds=offset)
        return start, start + timedelta(seconds=width)


@dataclass(frozen=True)
class Persistence:
    """Alert when a condition held in ``k`` of the last ``n`` decided windows."""

    k: int
    n: int

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


@dataclass(frozen=True)
class MonitorConfig:
    """What a monitor's creator chose (each with its default)."""

    window: WindowSpec
    reference: str  # a dataset version, "loans@3"
    target: str | None  # the reference's label column (None: no performance vs reference)
    min_rows: int
    alert_after: Persistence
    label_horizon: float  # seconds after a window's end that feedback still updates it
    grace: float  # seconds a time window waits past its end for late segments before closing
    owner: str  # the role whose inbox its alerts go to
    since: datetime  # the log is read from this moment on
    endpoint: str | None = None  # the live model server the runner checks for model shift
    check_every: float = 300.0  # seconds between two of the runner's model-shift checks
    no_traffic_after: int | None = None  # alert after this many time windows without rows
    evaluation: str | None = None  # the dataset version for model outputs (None: default)


@dataclass(frozen=True)
class Monitor:
    id: str
    project: str
    name: str
    deployment: str
    model: str
    model_version: int | None  # the version whose outputs on the reference made it
    config: MonitorConfig
    reference_digest: str | None  # the stored reference summary (JSON) in the artifact store
    status: MonitorStatus
    revision: int  # +1 on every change, processing included
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    processed_at: datetime | None = None
    status_reason: str = ""  # why it was paused or archived
    references: tuple[ReferenceVersion, ...] = ()  # one per model version seen, oldest first

    @property
    def active(self) -> bool:
        return self.status is MonitorStatus.ACTIVE


@dataclass(frozen=True)
class WindowPart:
    """Rows ``start`` to ``stop`` (exclusive) of one log segment, its rows in (ts, prediction
    id) order: how a window remembers its rows without keeping them."""

    segment_id: str
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Window:
    """One window of a monitor: its bounds, counts, summary and assessment (JSON documents of
    `stats.monitoring`), and whether it decided (enough rows) and what it flagged."""

    monitor: str
    seq: int
    start: datetime
    end: datetime
    rows: int
    labelled: int
    closed: bool
    summary: dict[str, Any]
    performance: dict[str, Any] | None
    assessment: dict[str, Any] | None
    flags: dict[str, list[str]]  # alert kind -> the subjects it flagged in this window
    parts: tuple[WindowPart, ...]
    closed_at: datetime | None
    updated_at: datetime
    model_version: int | None = None  # whose reference it is compared with (its rows' version)

    @property
    def decided(self) -> bool:
        return self.assessment is not None and bool(self.assessment.get("enough_rows", False))


@dataclass(frozen=True)
class Rollup:
    """Windows merged into one period (a day or a week): the merged summary, assessed anew."""

    monitor: str
    period: str  # "day" | "week"
    start: datetime
    end: datetime
    windows: int
    rows: int
    labelled: int
    assessment: dict[str, Any] | None
    model_version: int | None = None  # windows of one reference merge; a switch day has two


@dataclass(frozen=True)
class ReferenceVersion:
    """A monitor's reference for one model version: what that version's windows are compared
    with (the dataset version, and the stored reference built from it and the version)."""

    model_version: int
    dataset: str  # "loans@2"
    digest: str
    built_at: datetime
    # the dataset version the model's outputs (prediction baseline, calibration) came from,
    # and why: "named" (--evaluation), "promotion" (its applied promotion's evaluation) or
    # "reference" (none recorded: the reference dataset itself)
    evaluation: str | None = None
    evaluation_from: str = "reference"


def window_version(window: Window, monitor: Monitor) -> int | None:
    """The model version whose reference `window` uses (a window stored before references
    followed the deployment used the monitor's first)."""
    return window.model_version if window.model_version is not None else monitor.model_version


@dataclass(frozen=True)
class Check:
    """One model-shift check of a monitor's deployment (recorded by whoever ran it)."""

    monitor: str
    seq: int
    kind: CheckKind
    passed: bool
    details: dict[str, Any]
    at: datetime
    by: str


@dataclass(frozen=True)
class AlertNote:
    """One entry of an alert's life: opened, grew, acknowledged, comment, resolved."""

    at: datetime
    who: str
    what: str
    text: str


@dataclass(frozen=True)
class Alert:
    id: str
    project: str
    monitor: str
    deployment: str
    kind: AlertKind
    subject: str
    severity: Severity
    state: AlertState
    owner: str  # the role whose inbox it is in
    title: str  # what changed and how much, in one line
    details: dict[str, Any]  # the numbers behind the title (the newest window's)
    since: datetime  # the start of the first window it was seen in
    first_window: int | None
    last_window: int | None
    windows: int  # how many windows it held in while open
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    notes: tuple[AlertNote, ...] = field(default=())

    @property
    def link(self) -> str:
        """Where to look: the report of its monitor at its newest window."""
        tail = f"#window-{self.last_window}" if self.last_window is not None else "#checks"
        return f"relay monitors report {self.monitor} -p {self.project} {tail}"


@dataclass(frozen=True)
class ProcessResult:
    """What one `process` call did."""

    monitor: str
    claimed: bool  # False: another processor holds it (nothing done)
    segments: int = 0
    rows: int = 0
    closed: tuple[int, ...] = ()  # windows closed now
    updated: tuple[int, ...] = ()  # earlier windows changed (late rows or late labels)
    opened: tuple[str, ...] = ()  # alert ids opened
    resolved: tuple[str, ...] = ()  # alert ids resolved
    grown: tuple[str, ...] = ()  # alert ids that held in one more window
    note: str = ""


# --- checks ---------------------------------------------------------------------------------


def check_monitor_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"invalid monitor name {name!r:.40}: a name is text")
    return check_name("monitor", name)


def format_seconds(seconds: float) -> str:
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_window(value: object) -> WindowSpec:
    """``1h`` (a duration: a time window) or ``50000`` (a whole number: a rows window)."""
    hint = "write a duration such as 15m, 1h or 1d, or a number of rows such as 50000"
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"invalid window {value!r}; {hint}")
    rows: int | None = None
    if isinstance(value, int):
        rows = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        rows = int(value.strip())
    if rows is not None:
        if not 1 <= rows <= MAX_WINDOW_ROWS:
            raise InvalidInput(
                f"a window of {rows} rows is out of range: 1 to {MAX_WINDOW_ROWS:,} rows "
                "(or a duration such as 1h)"
            )
        return WindowSpec(WindowKind.ROWS, rows=rows)
    if not isinstance(value, str | float):
        raise InvalidInput(f"invalid window {value!r}; {hint}")
    try:
        seconds = parse_duration(value)
    except InvalidInput:
        raise InvalidInput(f"invalid window {value!r}; {hint}") from None
    if not MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS or seconds % 1:
        raise InvalidInput(
            f"a time window of {value!r} is out of range: whole seconds from 1m to 366d"
        )
    return WindowSpec(WindowKind.TIME, seconds=seconds)


def parse_persistence(value: object) -> Persistence:
    """``3/4``: alert when the condition held in 3 of the last 4 decided windows."""
    if isinstance(value, Persistence):
        k, n = value.k, value.n
    else:
        m = _PERSISTENCE.match(value) if isinstance(value, str) else None
        if m is None:
            raise InvalidInput(
                f"invalid persistence {value!r:.40}: write K/N, e.g. 3/4 (alert when 3 of the "
                "last 4 windows show it) or 1/1 (alert at the first)"
            )
        k, n = int(m.group(1)), int(m.group(2))
    if not 1 <= k <= n <= MAX_PERSISTENCE:
        raise InvalidInput(f"persistence {k}/{n} is out of range: 1 <= K <= N <= {MAX_PERSISTENCE}")
    return Persistence(k, n)


def check_no_traffic_after(value: object, window: WindowSpec) -> int | None:
    """How many complete time windows in a row without rows make a `no_traffic` alert (None:
    never); only a time monitor has windows that pass without rows."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"no-traffic-after is a number of windows, not {value!r:.40}")
    if not 1 <= value <= MAX_NO_TRAFFIC_WINDOWS:
        raise InvalidInput(
            f"no-traffic-after {value} is out of range: 1 to {MAX_NO_TRAFFIC_WINDOWS} windows"
        )
    if window.kind is not WindowKind.TIME:
        raise InvalidInput(
            "no-traffic-after needs time windows (--window 1h): a window of rows never passes "
            "without rows"
        )
    return value


def check_min_rows(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MIN_ROWS:
        raise InvalidInput(
            f"min rows must be a whole number from 1 to {MAX_MIN_ROWS:,}, not {value!r:.40}"
        )
    return value


def check_seconds(what: str, value: object, low: float, high: float) -> float:
    """A duration (text or seconds) between ``low`` and ``high`` seconds."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{what} must be a duration such as 30d, not {value!r}")
    try:
        seconds = parse_duration(value)  # type: ignore[arg-type]
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: {exc.message}") from None
    if not low <= seconds <= high:
        raise InvalidInput(
            f"{what} {value!r} is out of range: {format_seconds(low)} to {format_seconds(high)}"
        )
    return seconds


def check_endpoint(value: object) -> str:
    """The URL of a live model server as a monitor keeps it: ``http(s)://host[:port][/path]``,
    no credentials, query or fragment (a token goes in the runner's settings, never in a URL
    that is stored, listed and audited); no trailing slash."""
    from urllib.parse import urlsplit

    hint = "give the model server's URL, like http://127.0.0.1:8600"
    if not isinstance(value, str) or not value or len(value) > MAX_ENDPOINT:
        raise InvalidInput(f"invalid endpoint {value!r:.60}; {hint}")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"the endpoint {value!r:.60} has spaces or control characters; {hint}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"the endpoint {value!r:.60} is not a URL ({exc}); {hint}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"the endpoint {value!r:.60} is not http or https; {hint}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput(
            "the endpoint carries credentials (user:password@); a monitor's endpoint is stored "
            "and shown, so give the URL alone: the runner's own token reaches the server"
        )
    if not parts.hostname:
        raise InvalidInput(f"the endpoint {value!r:.60} names no host; {hint}")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise InvalidInput(f"the endpoint {value!r:.60} has a query or fragment; {hint}")
    if port == 0:
        raise InvalidInput(f"the endpoint {value!r:.60} has port 0; {hint}")
    return value.rstrip("/")


def check_note(what: str, value: object, required: bool = False) -> str:
    if value is None:
        value = ""
    text = check_text(what, value, MAX_NOTE)
    if required and not text.strip():
        raise InvalidInput(f"{what} needs text")
    return text


def check_alert_id(value: object) -> str:
    if not isinstance(value, str) or not _ALERT_ID.match(value):
        raise InvalidInput(
            f"{value!r:.40} is not an alert id (32 hex digits); list them with: relay alerts ls"
        )
    return value


def parse_alert_kind(value: object) -> AlertKind:
    return parse_enum(AlertKind, "alert kind", value)


def parse_alert_family(value: object) -> AlertFamily:
    """An alert family; an alert kind that is not one (``estimated_performance``) is refused
    naming its family."""
    if isinstance(value, str) and value not in {f.value for f in AlertFamily}:
        try:
            kind = AlertKind(value)
        except ValueError:
            pass
        else:
            raise InvalidInput(
                f"{value!r} is an alert kind of family {kind.family.value!r}; name the family "
                f"(one of: {choices(AlertFamily)})"
            )
    return parse_enum(AlertFamily, "alert family", value)


def alert_families(values: object) -> tuple[AlertFamily, ...]:
    """A list of alert families (a loop's `on`), each once, in the order given."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise InvalidInput(f"give a list of alert families, not {values!r:.40}")
    return tuple(dict.fromkeys(parse_alert_family(v) for v in values))


def parse_alert_state(value: object) -> AlertState:
    return parse_enum(AlertState, "alert state", value)


def parse_check_kind(value: object) -> CheckKind:
    return parse_enum(CheckKind, "check kind", value)


def parse_period(value: object) -> str | None:
    """How windows are listed: as they are (None, "window") or merged by "day" or "week"."""
    if value is None or value == "window":
        return None
    if value in ("day", "week"):
        return str(value)
    raise InvalidInput(f"unknown period {value!r:.40}; use window, day or week")


def period_bounds(period: str, moment: datetime) -> tuple[datetime, datetime]:
    """The UTC day, or the ISO week (Monday first), holding ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=7)


# --- alerts ---------------------------------------------------------------------------------


def alert_key(monitor_id: str, kind: AlertKind, subject: str) -> str:
    """What makes an alert one: at most one live alert per key."""
    return f"{monitor_id}:{kind.value}:{subject}"


@dataclass(frozen=True)
class MonitorReport:
    """Everything the monitor's page shows: its windows (a timeline), model-shift checks and
    alerts over a period."""

    monitor: Monitor
    windows: tuple[Window, ...]
    checks: tuple[Check, ...]
    alerts: tuple[Alert, ...]
    generated_at: datetime
