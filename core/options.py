"""Option types for the command line: each parses one value or raises
``argparse.ArgumentTypeError`` with one line, so that a setting that is
wrong from the start stops the command before anything is created.

In core so that the CLI and the options backends add to it
(``topwords.core.commandline``) share them. Limits: counts fit Batch's
32-bit integers; at most 256 task slots per node and 180 days per task
(Batch's own limits).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .naming import printable

__all__ = ["INT32", "MAX_SECONDS", "MAX_SLOTS", "non_empty", "non_empty_path",
           "non_negative_int", "positive_int", "seconds", "size", "whole_number"]

#: Batch carries counts as 32-bit integers; nothing sane is larger.
INT32 = 2**31 - 1
#: Batch: at most 256 task slots per node (and 4 per vCPU).
MAX_SLOTS = 256
#: Batch: a task lives at most 180 days from being added to completing.
MAX_SECONDS = 180 * 24 * 3600


def _shown(text: str, limit: int = 40) -> str:
    """A value quoted for a usage error: escaped, and cut if long."""
    text = printable(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def whole_number(minimum: int, maximum: int = INT32):
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {_shown(text)}")
        return value
    return parse


positive_int, non_negative_int = whole_number(1), whole_number(0)


def non_empty(value: str) -> str:
    """An argparse type: a setting that must not be empty (an empty value
    would silently mean the default)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def non_empty_path(value: str) -> Path:
    return Path(non_empty(value))


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size(text: str) -> int:
    """Bytes, with an optional K/M/G suffix (binary: 64M = 64 MiB)."""
    number, unit = text.strip().upper().rstrip("IB"), ""
    if number and number[-1] in _UNITS:
        number, unit = number[:-1], number[-1]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a size such as 64M") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a finite size")
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 byte")
    return int(value)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a finite number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SECONDS} (180 days, the "
                                         "longest a Batch task may live)")
    return value
