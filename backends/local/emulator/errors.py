"""Batch error responses: ``BatchApiError`` carries the HTTP status, the
Batch error code and message and the ``values`` details; the server turns it
into Batch's error body."""

from __future__ import annotations

from typing import Mapping

__all__ = ["BatchApiError", "bad_value", "error_body", "missing", "not_found", "unsupported"]


class BatchApiError(Exception):
    """An error answer of the Batch API.

    Attributes:
        status: HTTP status code.
        code: Batch error code (``PoolNotFound``, ``InvalidPropertyValue``, ...).
        message: one-line explanation (never a secret).
        values: ``key -> value`` details (``PropertyName``, ``Reason``, ...).
    """

    def __init__(self, status: int, code: str, message: str,
                 values: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.values = dict(values or {})


def error_body(exc: BatchApiError, detail: str = "") -> dict:
    """Batch's error body for ``exc`` (``detail``: lines added to the message)."""
    body: dict = {"code": exc.code, "message": {"lang": "en-US", "value": exc.message + detail}}
    if exc.values:
        body["values"] = [{"key": k, "value": v} for k, v in exc.values.items()]
    return body


def not_found(kind: str, ident: str) -> BatchApiError:
    """404 ``<Kind>NotFound`` (kind: Pool, Job, Task, Node, File)."""
    return BatchApiError(404, f"{kind}NotFound", f"The specified {kind.lower()} does not exist.",
                         {f"{kind}Id" if kind != "File" else "FilePath": ident})


def bad_value(name: str, reason: str, value: object = None) -> BatchApiError:
    """400 InvalidPropertyValue for request body property ``name``."""
    values = {"PropertyName": name, "Reason": reason}
    if value is not None:
        values = {"PropertyName": name, "PropertyValue": str(value), "Reason": reason}
    return BatchApiError(400, "InvalidPropertyValue",
                         "The value provided for one of the properties in the request body "
                         "is invalid.", values)


def missing(name: str) -> BatchApiError:
    """400 MissingRequiredProperty."""
    return BatchApiError(400, "MissingRequiredProperty",
                         "A required property was not specified in the request body.",
                         {"PropertyName": name})


def unsupported(name: str, reason: str) -> BatchApiError:
    """400 UnsupportedProperty: a real Batch property the emulator cannot honour."""
    return BatchApiError(400, "UnsupportedProperty",
                         "One of the properties specified in the request body is not "
                         "supported by the Batch emulator.",
                         {"PropertyName": name, "Reason": reason})
