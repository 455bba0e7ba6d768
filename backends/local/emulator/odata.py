"""The OData bits of Batch list and get requests: ``$filter`` (a subset),
``$select`` and paging with ``maxresults`` and an absolute
``odata.nextLink``.

``$filter`` supports comparisons ``<property> eq|ne|gt|ge|lt|le <literal>``
on top-level or ``/``-separated nested properties (``executionInfo/result``),
``startswith(<property>, '<text>')``, combined with ``and``/``or`` and
parentheses; literals are quoted strings, numbers, ``true``/``false`` and
``datetime'...'``. Anything else is answered with 400
InvalidQueryParameterValue rather than ignored, and so is a filter longer
than ``MAX_FILTER_LENGTH`` characters or with parentheses nested deeper than
``MAX_FILTER_DEPTH`` (parsing recurses once per level; ``and``/``or`` chains
are evaluated flat, without recursion).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from .errors import BatchApiError

__all__ = ["MAX_FILTER_DEPTH", "MAX_FILTER_LENGTH", "compile_filter", "page", "select"]

#: the longest ``$filter`` accepted (a few hundred ``id eq '...'`` terms)
MAX_FILTER_LENGTH = 8192
#: the deepest nesting of parentheses accepted in a ``$filter``
MAX_FILTER_DEPTH = 32
#: the most of a bad query parameter an error repeats
_ECHO = 256

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')"
                    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w/]*)|(?P<punct>[(),]))")
_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
        "gt": lambda a, b: a is not None and a > b, "ge": lambda a, b: a is not None and a >= b,
        "lt": lambda a, b: a is not None and a < b, "le": lambda a, b: a is not None and a <= b}
Predicate = Callable[[dict], bool]


def _invalid(name: str, value: str, reason: str) -> BatchApiError:
    return BatchApiError(400, "InvalidQueryParameterValue",
                         "Value for one of the query parameters specified in the request URI "
                         "is invalid.", {"QueryParameterName": name,
                                         "QueryParameterValue": value[:_ECHO],
                                         "Reason": reason})


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _invalid("$filter", text, f"cannot parse at {text[pos:pos + 20]!r}")
        kind = match.lastgroup
        raw = match.group(kind)
        if kind == "str":
            tokens.append(("lit", raw[1:-1].replace("''", "'")))
        elif kind == "dt":
            tokens.append(("lit", raw[9:-1]))
        elif kind == "num":
            tokens.append(("lit", float(raw) if "." in raw else int(raw)))
        elif kind == "word" and raw in ("true", "false"):
            tokens.append(("lit", raw == "true"))
        else:
            tokens.append((kind, raw))
        pos = match.end()
    return tokens


def _lookup(item: dict, path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _comparable(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.pos, self.depth = text, _tokens(text), 0, 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, value: Any = None) -> Any:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise _invalid("$filter", self.text, f"expected {value or kind}")
        self.pos += 1
        return token[1]

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda item: any(p(item) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.term()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else lambda item: all(p(item) for p in parts)

    def term(self) -> Predicate:
        if self.peek() == ("punct", "("):
            self.take()
            self.depth += 1
            if self.depth > MAX_FILTER_DEPTH:
                raise _invalid("$filter", self.text,
                               f"parentheses nested deeper than {MAX_FILTER_DEPTH} levels")
            inner = self.expression()
            self.take("punct", ")")
            self.depth -= 1
            return inner
        name = self.take("word")
        if name == "startswith":
            self.take("punct", "(")
            path = self.take("word")
            self.take("punct", ",")
            prefix = str(self.take("lit")).lower()
            self.take("punct", ")")
            return lambda item: str(_lookup(item, path) or "").lower().startswith(prefix)
        op = self.take("word")
        if op not in _OPS:
            raise _invalid("$filter", self.text, f"unsupported operator {op!r}")
        literal = _comparable(self.take("lit"))
        compare = _OPS[op]
        return lambda item: compare(_comparable(_lookup(item, name)), literal)


def compile_filter(text: str | None) -> Predicate:
    """A predicate over rendered items for an OData ``$filter`` (None: all).

    Raises:
        BatchApiError: 400 InvalidQueryParameterValue.
    """
    if not text or not text.strip():
        return lambda item: True
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid("$filter", text, f"longer than {MAX_FILTER_LENGTH} characters")
    parser = _Parser(text)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise _invalid("$filter", text, "unexpected text after the expression")
    return predicate


def select(item: dict, text: str | None) -> dict:
    """Only the top-level properties named in a ``$select`` clause."""
    if not text:
        return item
    wanted = {name.strip() for name in text.split(",") if name.strip()}
    return {k: v for k, v in item.items() if k in wanted}


def page(items: Sequence[dict], *, query: dict[str, str], url: str, page_size: int,
         metadata: str) -> dict:
    """One page of a list answer.

    Args:
        items: every matching item, in a stable order.
        query: the request's query parameters (``maxresults``,
            ``$skiptoken``, ``$filter``, ``$select``, ...).
        url: the absolute URL of the list, without query.
        page_size: the most items a page may hold.
    Raises:
        BatchApiError: 400 for a bad ``maxresults`` or ``$skiptoken``.
    """
    size, start = page_size, 0
    if query.get("maxresults"):
        try:
            size = int(query["maxresults"])
        except ValueError:
            raise _invalid("maxresults", query["maxresults"], "not a number") from None
        if not 1 <= size <= 1000:
            raise BatchApiError(400, "OutOfRangeQueryParameterValue",
                                "One of the query parameters specified in the request URI "
                                "is outside the permissible range.",
                                {"QueryParameterName": "maxresults",
                                 "QueryParameterValue": str(size), "Reason": "1 to 1000"})
        size = min(size, page_size)
    if query.get("$skiptoken"):
        token = query["$skiptoken"]
        if not token.isdigit():
            raise _invalid("$skiptoken", token, "not a token this service issued")
        start = int(token)
    body: dict = {"odata.metadata": metadata, "value": list(items[start:start + size])}
    if start + size < len(items):
        kept = {k: v for k, v in query.items() if k not in ("$skiptoken", "maxresults")}
        kept.update({"maxresults": str(size), "$skiptoken": str(start + size)})
        body["odata.nextLink"] = f"{url}?{urlencode(kept)}"
    return body
