"""Conditional requests (``If-Match``, ``If-None-Match``,
``If-Modified-Since``, ``If-Unmodified-Since``) on the operations whose
spec declares them, as Batch answers them:

- a failed ``If-Match`` or ``If-Unmodified-Since`` is 412 ConditionNotMet;
- a matching ``If-None-Match``, or an ``If-Modified-Since`` the resource
  has not changed since, is 304 Not Modified for a GET or HEAD and 412
  ConditionNotMet for any other method (Batch applies both to updates and
  deletes too, unlike plain HTTP).

``If-Match`` is checked before ``If-Unmodified-Since`` and
``If-None-Match`` before ``If-Modified-Since`` (a date is ignored when
the matching ETag header is there), as RFC 7232 section 6 orders them.
Dates compare at whole seconds (``Last-Modified``'s precision). A request
for a resource that does not exist is left to its handler (404).

:func:`serve` checks and runs the handler under ``Service.conditional``,
so two conditional writers cannot both pass the same ``If-Match``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Mapping

from . import declared, shapes
from .errors import BatchApiError
from .resources import Resource, complete_headers, resource_of
from .routing import Request, Response, Route, Service

__all__ = ["check", "serve"]


def serve(service: Service, request: Request, route: Route,
          params: Mapping[str, str]) -> Response:
    """Answer ``request`` with ``route``'s handler, after its conditional
    headers (those its operation declares), with the headers its spec
    declares (``resources.complete_headers``)."""
    asked = declared.conditions(route.operation) & {
        name for name in declared.CONDITION_HEADERS if request.headers.get(name)}
    if not asked:
        response = route.handler(service, request, **params)
    else:
        with service.conditional:
            resource = resource_of(service, params)
            response = check(request, resource, asked) if resource is not None else None
            if response is None:
                response = route.handler(service, request, **params)
    return complete_headers(service, request, route.operation, params, response)


def check(request: Request, resource: Resource, asked: frozenset[str] | set[str]
          ) -> Response | None:
    """None if the request's conditions (those in ``asked``) hold for
    ``resource``; a 304 answer if a GET or HEAD need not be answered.

    Raises:
        BatchApiError: 412 ConditionNotMet; 400 InvalidHeaderValue for a
            date that is not an HTTP date.
    """
    tag = shapes.etag(resource.modified)
    changed = resource.modified.replace(microsecond=0)
    header = request.headers.get
    if "if-match" in asked:
        if not _matches(header("if-match"), tag):
            raise _not_met()
    elif "if-unmodified-since" in asked:
        if changed > _date(header("if-unmodified-since"), "If-Unmodified-Since"):
            raise _not_met()
    if "if-none-match" in asked:
        if _matches(header("if-none-match"), tag):
            return _not_modified(request, resource)
    elif "if-modified-since" in asked:
        if changed <= _date(header("if-modified-since"), "If-Modified-Since"):
            return _not_modified(request, resource)
    return None


def _matches(value: str, tag: str) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` value (``*`` or a list of
    ETags, quoted or not, weak or strong) names ``tag``."""
    tags = {t.strip().removeprefix("W/").strip('"') for t in value.split(",")}
    return "*" in tags or tag in tags


def _date(value: str, name: str) -> datetime:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        when = None
    if when is None:
        raise BatchApiError(400, "InvalidHeaderValue", f"The value of the {name} header is "
                            "not an HTTP date such as 'Wed, 21 Oct 2015 07:28:00 GMT'.",
                            {"HeaderName": name, "HeaderValue": value[:100]})
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _not_met() -> BatchApiError:
    return BatchApiError(412, "ConditionNotMet", "The condition specified using HTTP "
                         "conditional header(s) is not met.")


def _not_modified(request: Request, resource: Resource) -> Response:
    if request.method not in ("GET", "HEAD"):
        raise _not_met()
    return Response(304, headers=shapes.stamps(resource.modified))
