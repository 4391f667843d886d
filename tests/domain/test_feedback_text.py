"""Feedback as typed: labels in a field, a CSV of labels (the CLI's file and the UI's paste)."""

from __future__ import annotations

import pytest

from relayml.domain.deployments import FeedbackItem
from relayml.domain.feedback_text import feedback_items_from_csv, parse_label
from relayml.errors import InvalidInput


def test_a_label_is_a_number_or_boolean_when_it_reads_as_one_else_text() -> None:
    assert parse_label("1") == 1 and parse_label("0.5") == 0.5 and parse_label("true") is True
    assert parse_label('"1"') == "1" and parse_label("churned") == "churned"
    assert parse_label("") is None and parse_label(None) is None
    assert parse_label("[1]") == "[1]"  # not a scalar: the text itself


def test_a_csv_becomes_items_in_order() -> None:
    text = 'prediction_id,label,outcome,comment\r\np1,1,,\r\n p2 ,churned,12.5,"said, so"\r\n'
    assert feedback_items_from_csv(text, "labels.csv") == [
        FeedbackItem("p1", 1, None, None),
        FeedbackItem("p2", "churned", 12.5, "said, so"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,label\nx,1\n", "labels.csv has columns ['id', 'label']; it needs prediction_id"),
        ("prediction_id,comment\nx,hi\n", "needs prediction_id and label and/or outcome"),
        ("prediction_id,label,extra\nx,1,2\n", "nothing else"),
        ("prediction_id,label\n", "labels.csv has no rows under its header"),
        ("prediction_id,outcome\nx,lots\n", "labels.csv, line 2: outcome 'lots' is not a number"),
    ],
)
def test_a_csv_that_says_the_wrong_thing_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        feedback_items_from_csv(text, "labels.csv")
