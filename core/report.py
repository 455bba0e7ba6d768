"""Reading the node task's result files.

The node task writes the tutorial's format::

    Word<TAB>Count
    ------------------------------
    to:<TAB>18
    ...
    ------------------------------
    Node: ...

Words never contain whitespace (they come from a whitespace split) and never
end with ``:`` (punctuation is stripped), so ``word:<TAB>count`` parses
unambiguously.
"""

from __future__ import annotations

from .errors import TopwordsError

__all__ = ["ReportFormatError", "parse_report"]

_RULE = "-" * 30


class ReportFormatError(TopwordsError, ValueError):
    """A result file is not in the node task's format."""


def parse_report(text: str) -> list[tuple[str, int]]:
    """The ``(word, count)`` rows of a result file, in file order.

    Raises:
        ReportFormatError: the text is not a node task report.
    """
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != "Word\tCount" or lines[1] != _RULE:
        raise ReportFormatError("not a topwords result file (bad header)")
    rows = []
    for line in lines[2:]:
        if line == _RULE:
            return rows
        word, sep, count = line.rpartition(":\t")
        if not sep or not word or not count.isdigit():
            raise ReportFormatError(f"not a topwords result line: {line[:60]!r}")
        rows.append((word, int(count)))
    raise ReportFormatError("not a topwords result file (no closing rule)")
