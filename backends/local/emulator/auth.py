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
as absent; for methods other than GET and HEAD a missing content-length
counts as "0".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from .errors import BatchApiError

__all__ = ["SIGNED_HEADERS", "authenticate", "sign", "string_to_sign"]

SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5",
                  "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                  "if-unmodified-since", "range")

_SHARED_KEY_ONLY = ("The Batch emulator accepts shared key authentication only "
                    "(AzureNamedKeyCredential with the emulator's account name and key).")


def string_to_sign(method: str, target: str, headers: Mapping[str, str], account: str) -> str:
    """What the client signed for a request.

    Args:
        method: the HTTP method.
        target: the request target as sent (``/path?query``, path still
            percent-encoded).
        headers: the request headers (any case).
    """
    present = {name.lower(): value for name, value in headers.items() if value}
    if method not in ("GET", "HEAD"):
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
                 accounts: Mapping[str, str]) -> str:
    """Check a request's ``Authorization`` header.

    Args:
        accounts: account name -> base64 key.
    Returns:
        The account name the request is signed for.
    Raises:
        BatchApiError: 401 without shared-key credentials (none, or a
            bearer token), 403 AuthenticationFailed for a wrong account or
            signature.
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
        raise _failed(403, f"The account {account!r} does not exist in this emulator.")
    expected = sign(key, string_to_sign(method, target, headers, account))
    try:
        valid = hmac.compare_digest(base64.b64decode(given, validate=True),
                                    base64.b64decode(expected))
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise _failed(403, "The MAC signature found in the HTTP request is not the same as "
                      "any computed signature. Check the account key.")
    return account


def _failed(status: int, detail: str) -> BatchApiError:
    return BatchApiError(status, "AuthenticationFailed",
                         "Server failed to authenticate the request. Make sure the value of "
                         "the Authorization header is correctly formed including the signature.",
                         values={"AuthenticationErrorDetail": detail})
