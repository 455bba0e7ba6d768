"""What a client received from the emulator, written down for a test to
check against the spec: one JSON line per answer with its operation (the
method, the route the path matched and its operationId), the api-version
the client sent, the status, the response headers and the JSON body.

Off unless a test asks (``BatchEmulator.recording(path)``); the server
then calls :meth:`ResponseRecorder.record` for every answer it writes.
Nothing secret is written: no request header (``Authorization`` stays
out), no file content, and in bodies the values of properties that hold
secrets (passwords, keys, protected settings) and the signature of every
SAS URL are replaced by ``"(redacted)"``.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from .routes import ROUTES

__all__ = ["REDACTED", "ResponseRecorder", "redact"]

REDACTED = "(redacted)"
#: body properties whose value is a secret, whatever their object
_SECRET_KEYS = frozenset({"password", "accountKey", "sasKey", "sshPrivateKey",
                          "protectedSettings"})
_SAS_SIGNATURE = re.compile(r"(?i)(\bsig=)[^&\s\"]+")


def redact(value: Any) -> Any:
    """``value`` (parsed JSON) with its secrets replaced: the same shape,
    strings where strings were (an object secret becomes ``{}``)."""
    if isinstance(value, dict):
        return {key: (({} if isinstance(item, dict) else REDACTED)
                      if key in _SECRET_KEYS and item is not None else redact(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _SAS_SIGNATURE.sub(rf"\g<1>{REDACTED}", value)
    return value


class ResponseRecorder:
    """Appends one JSON line per answer to ``path`` (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")

    def record(self, method: str, target: str, request_headers: Mapping[str, str],
               status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Write one answer down: ``target`` is the request's path and query
        as sent, ``request_headers`` its headers (only whether it asked for
        its client-request-id back is kept)."""
        url = urlsplit(target)
        path = url.path.strip("/")
        route = next((r for r in ROUTES if r.match(method, path) is not None), None)
        echo = request_headers.get("return-client-request-id", "").strip().lower() == "true"
        line = {"method": method, "path": "/" + path,
                "route": route.template if route else None,
                "operation": route.operation if route else None,
                "apiVersion": (parse_qs(url.query).get("api-version") or [None])[0],
                "askedClientRequestId": echo, "status": status,
                "headers": dict(headers), "body": self._json(headers, body)}
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    @staticmethod
    def _json(headers: Mapping[str, str], body: bytes) -> Any:
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if not body or not kind.startswith("application/json"):
            return None
        try:
            return redact(json.loads(body))
        except ValueError:
            return REDACTED  # not JSON after all: the check reports it

    @staticmethod
    def read(path: Path) -> list[dict]:
        """The answers recorded in ``path``, in order."""
        text = Path(path).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line]
