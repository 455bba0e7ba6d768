"""Tokens of an autoscale formula, each with its 1-based line and column.

The language (see /work/notes/autoscale-language.md): ``//`` comments to end
of line, double-quoted strings without escapes, decimal numbers, names with an
optional leading ``$``, and the punctuation of a C-like expression language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import FormulaSyntaxError

__all__ = ["Token", "tokenize"]

# Two-character operators come first so that "<=" wins over "<".
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>//[^\n]*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"[^"\n]*")
  | (?P<op>&&|\|\||<=|>=|==|!=|[-+*/!<>?:(){},;.=])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is number, string, name, op or end."""

    kind: str
    text: str
    line: int
    col: int

    def describe(self) -> str:
        """How a syntax error names this token."""
        return "end of formula" if self.kind == "end" else repr(self.text)


def tokenize(formula: str) -> list[Token]:
    """Split ``formula`` into tokens, ending with one ``end`` token.

    Raises:
        FormulaSyntaxError: on a character the language does not use, an
            unterminated string or a number too large for a double.
    """
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(formula):
        match = _TOKEN.match(formula, pos)
        col = pos - line_start + 1
        if match is None:
            _fail_at(formula, pos, line, col)
        kind, text = match.lastgroup, match.group()
        if kind == "number" and not math.isfinite(float(text)):
            raise FormulaSyntaxError(f"number {text[:20]} is out of range",
                                     line=line, col=col)
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, text, line, col))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rindex("\n") + 1
        pos = match.end()
    col = pos - line_start + 1
    tokens.append(Token("end", "", line, col))
    return tokens


def _fail_at(formula: str, pos: int, line: int, col: int) -> None:
    char = formula[pos]
    if char == '"':
        raise FormulaSyntaxError("unterminated string", line=line, col=col)
    if char == "$":
        raise FormulaSyntaxError("'$' must start a variable name", line=line, col=col)
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
    raise FormulaSyntaxError(f"unexpected character {shown}", line=line, col=col)
