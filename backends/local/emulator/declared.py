"""What the vendored Batch REST spec (``spec/``) declares per operation
that the emulator's answers follow: the conditional request headers an
operation takes and the response headers of each of its status codes.

Read once from ``spec/batch-<LATEST>.json`` (the file ``catalogue`` reads).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["CONDITION_HEADERS", "conditions", "response_headers"]

_SPEC = Path(__file__).resolve().parent / "spec" / "batch-2025-06-01.json"

#: the conditional request headers of the Batch API, lower-case
CONDITION_HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")


@lru_cache(maxsize=1)
def _operations() -> dict:
    return json.loads(_SPEC.read_text(encoding="utf-8"))["operations"]


def conditions(operation: str) -> frozenset[str]:
    """The conditional request headers (lower-case) ``operation`` declares."""
    declared = _operations().get(operation, {}).get("headerParameters", {})
    return frozenset(h.lower() for h in declared if h.lower() in CONDITION_HEADERS)


def response_headers(operation: str, status: int) -> frozenset[str]:
    """The headers the spec declares for ``operation``'s ``status`` answer
    (empty for a status it does not declare)."""
    responses = _operations().get(operation, {}).get("responses", {})
    return frozenset((responses.get(str(status)) or {}).get("headers", {}))
