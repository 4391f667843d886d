"""The run-search filter grammar (MLflow-style), parsed into conditions — never into SQL.

    filter    := condition ( AND condition )*
    condition := field op value | field [NOT] IN ( value, ... )
    field     := [params. | metrics. | tags. | attributes.] key     key may be `quoted` or "quoted"
    op        := = | != | < | <= | > | >= | LIKE | ILIKE
    value     := number | 'string' | "string"

`store.sql.search` turns the conditions into SQLAlchemy expressions with bound parameters.
Each condition and order key is a join, so both are bounded (`MAX_CONDITIONS`, `MAX_ORDER_KEYS`):
past a few dozen joins the database's planner, not the data, is what takes the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from relayml.errors import FilterSyntaxError, InvalidInput

MAX_FILTER_CHARS = 10_000
MAX_CONDITIONS = 50
MAX_ORDER_KEYS = 10

Kind = Literal["param", "metric", "tag", "attribute"]
Value = str | float

ATTRIBUTES = {
    "id": "id",
    "run_id": "id",
    "name": "name",
    "run_name": "name",
    "status": "status",
    "user": "user",
    "start_time": "start_time",
    "end_time": "end_time",
    "experiment": "experiment",
    "parent_id": "parent_id",
}
_PREFIXES: dict[str, Kind] = {
    "params": "param",
    "param": "param",
    "metrics": "metric",
    "metric": "metric",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_COMPARATORS = ("<=", ">=", "!=", "=", "<", ">")
_STRING_OPS = ("LIKE", "ILIKE")
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))(?![A-Za-z_])
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<backtick>`[^`]*`)
  | (?P<op><=|>=|!=|==|=|<|>)
  | (?P<punct>[(),.])
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-/:]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    kind: Kind
    key: str
    op: str  # one of = != < <= > >= LIKE ILIKE IN NOT IN
    value: Value | tuple[Value, ...]


@dataclass(frozen=True)
class OrderBy:
    kind: Kind
    key: str
    descending: bool


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", text=text, position=pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Tok | None = None) -> FilterSyntaxError:
        tok = tok or self.peek()
        return FilterSyntaxError(message, text=self.text, position=tok.pos)

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.upper() == word

    def parse_filter(self) -> list[Condition]:
        if self.peek().kind == "end":
            return []
        conds = [self.condition()]
        while self.is_word("AND"):
            self.take()
            conds.append(self.condition())
        tok = self.peek()
        if tok.kind != "end":
            if tok.kind == "word" and tok.text.upper() == "OR":
                raise self.fail("OR is not supported; run one search per alternative", tok)
            raise self.fail(f"expected AND or the end of the filter, found {tok.text!r}", tok)
        return conds

    def field(self) -> tuple[Kind, str]:
        tok = self.take()
        if tok.kind == "end":
            raise self.fail("expected a field such as metrics.acc or params.C", tok)
        if tok.kind == "word" and tok.text.lower() in _PREFIXES and self.peek().text == ".":
            kind = _PREFIXES[tok.text.lower()]
            self.take()
            key_tok = self.take()
            key = self._key_text(key_tok)
        elif tok.kind == "word" and tok.text.lower() in ATTRIBUTES:
            kind, key = "attribute", tok.text.lower()
        else:
            raise self.fail(
                f"unknown field {tok.text!r}; use params.<key>, metrics.<key>, tags.<key> "
                f"or an attribute ({', '.join(sorted(ATTRIBUTES))})",
                tok,
            )
        if kind == "attribute":
            if key.lower() not in ATTRIBUTES:
                raise self.fail(
                    f"unknown attribute {key!r}; use one of {', '.join(sorted(ATTRIBUTES))}",
                    key_tok if tok.kind == "word" and tok.text.lower() in _PREFIXES else tok,
                )
            key = ATTRIBUTES[key.lower()]
        return kind, key

    def _key_text(self, tok: _Tok) -> str:
        if tok.kind == "word":
            # keys may contain dots: metrics.val.loss
            parts = [tok.text]
            while self.peek().text == "." and self.toks[self.i + 1].kind in ("word", "number"):
                self.take()
                parts.append(self.take().text)
            return ".".join(parts)
        if tok.kind == "backtick":
            return tok.text[1:-1]
        if tok.kind == "string":
            return _unquote(tok.text)
        raise self.fail("expected a key after the '.'", tok)

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "number":
            return float(tok.text)
        if tok.kind == "string":
            return _unquote(tok.text)
        raise self.fail("expected a number or a quoted string", tok)

    def condition(self) -> Condition:
        kind, key = self.field()
        tok = self.take()
        op = tok.text.upper() if tok.kind in ("op", "word") else ""
        if op == "==":
            op = "="
        if op == "NOT" and self.is_word("IN"):
            self.take()
            op = "NOT IN"
        if op in ("IN", "NOT IN"):
            return Condition(kind, key, op, self.value_list())
        if op not in _COMPARATORS and op not in _STRING_OPS:
            raise self.fail("expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)", tok)
        vtok = self.peek()
        value = self.value()
        if op in _STRING_OPS and not isinstance(value, str):
            raise self.fail(f"{op} needs a quoted pattern such as '%lr%'", vtok)
        if kind == "metric" and not isinstance(value, float):
            raise self.fail("metrics compare with numbers, e.g. metrics.acc > 0.9", vtok)
        if kind == "metric" and op in _STRING_OPS:
            raise self.fail("metrics compare with numbers, not LIKE", tok)
        if kind in ("param", "tag") and isinstance(value, float):
            # params and tags are strings; compare as the user wrote the number.
            value = _number_text(self.toks[self.i - 1].text)
        return Condition(kind, key, op, value)

    def value_list(self) -> tuple[Value, ...]:
        tok = self.take()
        if tok.text != "(":
            raise self.fail("expected '(' after IN", tok)
        values = [self.value()]
        while self.peek().text == ",":
            self.take()
            values.append(self.value())
        tok = self.take()
        if tok.text != ")":
            raise self.fail("expected ',' or ')' in the IN list", tok)
        return tuple(values)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _number_text(text: str) -> str:
    return text.lstrip("+")


def parse_filter(text: str | None) -> list[Condition]:
    """Parse a filter string; raises FilterSyntaxError pointing at the bad position."""
    if text is None:
        return []
    if not isinstance(text, str):
        raise InvalidInput(f"filter must be a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter is longer than {MAX_FILTER_CHARS:,} characters; narrow it down")
    conditions = _Parser(text).parse_filter()
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidInput(
            f"the filter has {len(conditions)} conditions; a search takes at most "
            f"{MAX_CONDITIONS}: keep the most selective ones and filter the rest from the results"
        )
    return conditions


def parse_order_by(items: list[str] | None) -> list[OrderBy]:
    out: list[OrderBy] = []
    if items is not None and len(items) > MAX_ORDER_KEYS:
        raise InvalidInput(
            f"order_by has {len(items)} keys; a search takes at most {MAX_ORDER_KEYS}"
        )
    for item in items or []:
        if not isinstance(item, str):
            raise InvalidInput(f"order_by items must be strings, got {item!r}")
        p = _Parser(item)
        kind, key = p.field()
        descending = False
        if p.is_word("DESC") or p.is_word("ASC"):
            descending = p.take().text.upper() == "DESC"
        if p.peek().kind != "end":
            raise p.fail("expected ASC, DESC or the end of the order_by item")
        out.append(OrderBy(kind, key, descending))
    return out
