"""Shared-key authentication of Batch requests, checked the way the Batch
service checks it (and the way azure-batch 15's ``BatchSharedKeyAuthPolicy``
signs them).

    string_to_sign = METHOD \\n
        content-encoding \\n content-language \\n content-length \\n
        content-md5 \\n content-type \\n date \\n if-modified-since \\n
        if-match \\n if-none-match \\n if-unmodified-since \\n range \\n
        ocp-* headers, sorted, as "name:value\\n"
        /account/path
        \\nname:value for each query parameter, sorted (first value, decoded)
    signature = base64(HMAC-SHA256(base64decode(key), string_to_sign))

Header names are compared in lower case and headers with empty values count
as absent. A request without a body may sign its content-length as "0"
(azure-batch 15 does, for every method but GET and HEAD) or as empty (the
Node.js SDK does, for DELETE, sending no Content-Length at all): both are
accepted then; a request with a body must sign the Content-Length it sends.

The signed date (``ocp-date``, else ``Date``) must be within
``MAX_CLOCK_SKEW`` of the emulator's clock, as Azure's shared-key services
require, so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from .errors import BatchApiError

__all__ = ["MAX_CLOCK_SKEW", "SIGNED_HEADERS", "authenticate", "sign", "string_to_sign"]

#: how far a request's signed date may be from the emulator's clock
MAX_CLOCK_SKEW = timedelta(minutes=15)

SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5",
                  "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                  "if-unmodified-since", "range")

_SHARED_KEY_ONLY = ("The Batch emulator accepts shared key authentication only "
                    "(AzureNamedKeyCredential with the emulator's account name and key).")


def string_to_sign(method: str, target: str, headers: Mapping[str, str], account: str,
                   content_length: str | None = None) -> str:
    """What the client signed for a request.

    Args:
        method: the HTTP method.
        target: the request target as sent (``/path?query``, path still
            percent-encoded).
        headers: the request headers (any case).
        content_length: the content-length line to use instead of the
            header's (by default: the header, or "0" for methods other than
            GET and HEAD without one).
    """
    present = {name.lower(): value for name, value in headers.items() if value}
    if content_length is not None:
        present["content-length"] = content_length
    elif method not in ("GET", "HEAD"):
        present.setdefault("content-length", "0")
    text = method + "\n" + "\n".join(present.get(h, "") for h in SIGNED_HEADERS) + "\n"
    ocp = sorted((name, value) for name, value in present.items() if "ocp-" in name)
    text += "".join(f"{name}:{value}\n" for name, value in ocp)
    url = urlsplit(target)
    text += f"/{account}{url.path}"
    query = parse_qs(url.query)
    for name in sorted(query):
        if query[name][0]:
            text += f"\n{name}:{query[name][0]}"
    return text


def sign(key: str, text: str) -> str:
    """base64(HMAC-SHA256(base64decode(key), text))."""
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authenticate(method: str, target: str, headers: Mapping[str, str],
                 accounts: Mapping[str, str], *, now: datetime | None = None) -> str:
    """Check a request's ``Authorization`` header and signed date, from its
    request line and headers only (the body is not signed).

    Args:
        accounts: account name -> base64 key.
        now: the emulator's clock (default: the current UTC time).
    Returns:
        The account name the request is signed for.
    Raises:
        BatchApiError: 401 without shared-key credentials (none, or a
            bearer token), 403 AuthenticationFailed for a wrong account or
            signature, or a signed date that is missing or more than
            ``MAX_CLOCK_SKEW`` from ``now``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if not authorization:
        raise _failed(401, "The request has no Authorization header. " + _SHARED_KEY_ONLY)
    if scheme.lower() == "bearer":
        raise _failed(401, "Azure AD (bearer token) authentication is not supported. "
                      + _SHARED_KEY_ONLY)
    account, _, given = credentials.strip().partition(":")
    if scheme != "SharedKey" or not account or not given:
        raise _failed(401, "The Authorization header is not of the form "
                      "'SharedKey <account>:<signature>'. " + _SHARED_KEY_ONLY)
    key = accounts.get(account)
    if key is None:
        raise _failed(403, f"The account {account[:64]!r} does not exist in this emulator.")
    try:
        signature = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not any(hmac.compare_digest(signature, base64.b64decode(sign(key, text)))
               for text in _signed_texts(method, target, headers, account)):
        raise _failed(403, "The MAC signature found in the HTTP request is not the same as "
                      "any computed signature. Check the account key.")
    now = now or datetime.now(timezone.utc)
    _check_date(lowered, now if now.tzinfo else now.replace(tzinfo=timezone.utc))
    return account


def _signed_texts(method: str, target: str, headers: Mapping[str, str], account: str):
    """The strings the client may have signed: with the Content-Length it
    sent, or, without a body, with "0" or an empty content-length."""
    sent = next((v.strip() for k, v in headers.items() if k.lower() == "content-length"), "")
    lengths = [sent] if sent else []
    if not sent or (sent.isdigit() and int(sent) == 0):
        lengths += [n for n in ("0", "") if n not in lengths]
    for length in lengths:
        yield string_to_sign(method, target, headers, account, content_length=length)


def _check_date(headers: Mapping[str, str], now: datetime) -> None:
    raw = headers.get("ocp-date") or headers.get("date")
    if not raw:
        raise _failed(403, "The request has no ocp-date (or Date) header: a shared key request "
                      "must carry the time it was made, e.g. 'Tue, 25 Nov 2025 10:00:00 GMT'.")
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        raise _failed(403, f"The request's date {raw[:40]!r} is not an HTTP date (RFC 1123, "
                      "e.g. 'Tue, 25 Nov 2025 10:00:00 GMT').") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if abs(now - when) > MAX_CLOCK_SKEW:
        clock = now.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        raise _failed(403, f"The request's date {raw[:40]!r} is out of range: it must be within "
                      f"{MAX_CLOCK_SKEW.seconds // 60} minutes of the emulator's clock ({clock}).")


def _failed(status: int, detail: str) -> BatchApiError:
    return BatchApiError(status, "AuthenticationFailed",
                         "Server failed to authenticate the request. Make sure the value of "
                         "the Authorization header is correctly formed including the signature.",
                         values={"AuthenticationErrorDetail": detail})
