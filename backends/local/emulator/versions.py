"""The Batch data-plane API versions the emulator accepts.

Every version published in Azure/azure-rest-api-specs (the folder names
under ``specification/batch/data-plane/Microsoft.Batch/stable/`` and
``.../Azure.Batch/stable/``), from 2018-12-01.8.0 (what azure-batch 6.0,
the oldest msrest client still in use, sends) to 2025-06-01 (azure-batch 15).
The folder ``Azure.Batch/stable/2025-06-01.21.0`` is left out: it is a
draft of 2025-06-01 that no autorest tag and no released client uses.

Each is answered in its own shapes where versions differ (``shapes.versioned``,
applied by ``routes.dispatch``).
"""

from __future__ import annotations

from .errors import BatchApiError

__all__ = ["API_VERSIONS", "LATEST_API_VERSION", "check_api_version"]

API_VERSIONS: tuple[str, ...] = (
    "2018-12-01.8.0",
    "2019-06-01.9.0",
    "2019-08-01.10.0",
    "2020-03-01.11.0",
    "2020-09-01.12.0",
    "2021-06-01.14.0",
    "2022-01-01.15.0",
    "2022-10-01.16.0",
    "2023-05-01.17.0",
    "2023-11-01.18.0",
    "2024-02-01.19.0",
    "2024-07-01.20.0",
    "2025-06-01",
)
LATEST_API_VERSION = API_VERSIONS[-1]

#: the most of an unknown api-version an error message repeats
_ECHO = 64


def check_api_version(value: str | None) -> str:
    """The request's ``api-version`` if the emulator speaks it.

    Raises:
        BatchApiError: 400 MissingRequiredQueryParameter without one, 400
            InvalidQueryParameterValue for one that is not in
            :data:`API_VERSIONS`.
    """
    if not value:
        raise BatchApiError(400, "MissingRequiredQueryParameter",
                            "A query parameter that's mandatory for this request is not "
                            "specified.", {"QueryParameterName": "api-version"})
    if value not in API_VERSIONS:
        raise BatchApiError(400, "InvalidQueryParameterValue",
                            "Value for one of the query parameters specified in the request URI "
                            "is invalid.",
                            {"QueryParameterName": "api-version",
                             "QueryParameterValue": value[:_ECHO],
                             "Reason": f"not a Batch API version; the emulator accepts "
                                       f"{API_VERSIONS[0]} to {LATEST_API_VERSION}"})
    return value
