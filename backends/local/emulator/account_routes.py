"""Batch REST operations on what an emulated account does not have:
applications (no application packages are deployed) and pool usage metrics
(nothing is billed). They answer as Batch does for an account without
them: empty lists, and 404 for one application."""

from __future__ import annotations

from .errors import BatchApiError
from .routing import Request, Response, Service, list_response, route


@route("GET", "applications")
def list_applications(service: Service, request: Request) -> Response:
    return list_response(request, service, [], "applications")


@route("GET", "applications/{application_id}")
def get_application(service: Service, request: Request, application_id: str) -> Response:
    raise BatchApiError(404, "ApplicationNotFound", "The specified application does not exist.",
                        {"ApplicationId": application_id})


@route("GET", "poolusagemetrics")
def list_pool_usage_metrics(service: Service, request: Request) -> Response:
    return list_response(request, service, [], "poolusagemetrics")
