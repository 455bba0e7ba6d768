"""Batch REST operations on what an emulated account does not have:
applications (no application packages are deployed) and pool usage metrics
(nothing is billed). They answer as Batch does for an account without
them: empty lists, and 404 for one application."""

from __future__ import annotations

from .errors import BatchApiError
from .routing import Request, Service


def applications(service: Service, request: Request) -> list[dict]:
    return []


def application(service: Service, request: Request, application_id: str):
    raise BatchApiError(404, "ApplicationNotFound", "The specified application does not exist.",
                        {"ApplicationId": application_id})


def pool_usage_metrics(service: Service, request: Request) -> list[dict]:
    return []
