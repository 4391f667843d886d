"""Feedback as people type it: a label in a text field, and a CSV of labels (one of each, for
`relay deployments feedback` / `feedback-import` and the web UI's feedback forms alike).

The CSV has a header: `prediction_id`, and `label` and/or `outcome`, and may have `comment`,
nothing else. What the rows mean is checked by `domain.deployments.check_feedback_items` when
the batch is sent; here only what the text says.
"""

from __future__ import annotations

import csv
import io
import json

from relayml.domain.deployments import FeedbackItem, FeedbackLabel
from relayml.errors import InvalidInput

COLUMNS = frozenset({"prediction_id", "label", "outcome", "comment"})


def parse_label(text: str | None) -> FeedbackLabel:
    """A label as typed: a JSON number, true or false as such ("1", "true"), a JSON string in
    quotes as text ('"1"'), anything else as the text itself; empty or None is no label."""
    if text is None or text == "":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def parse_outcome(text: str | None, where: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{where}: outcome {text!r:.40} is not a number") from None


def feedback_items_from_csv(text: str, source: str) -> list[FeedbackItem]:
    """The rows of a feedback CSV (`source` names it in errors: a file's path, "the pasted
    text") as FeedbackItems, in order."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip() for c in reader.fieldnames or ()}
    if "prediction_id" not in columns or not columns & {"label", "outcome"} or columns - COLUMNS:
        raise InvalidInput(
            f"{source} has columns {sorted(columns)}; it needs prediction_id and label and/or "
            "outcome (and may have comment), nothing else"
        )
    items = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): v for k, v in raw.items()}
        items.append(
            FeedbackItem(
                (row.get("prediction_id") or "").strip(),
                parse_label(row.get("label") or None),
                parse_outcome(row.get("outcome") or None, f"{source}, line {line}"),
                row.get("comment") or None,
            )
        )
    if not items:
        raise InvalidInput(f"{source} has no rows under its header: nothing to send")
    return items
