"""A task body's ``exitConditions`` as ``exit_conditions.ExitConditions``
(pure; the engine evaluates them)."""

from __future__ import annotations

from typing import Any

from topwords.backends.local.exit_conditions import ExitConditions, ExitOptions

from ..errors import bad_value
from .parse import integer_value

__all__ = ["exit_conditions"]


def exit_conditions(body: Any) -> ExitConditions | None:
    """The conditions of a task create body (None: it has none).

    Raises:
        BatchApiError: 400 InvalidPropertyValue naming the property.
    """
    conditions = body.get("exitConditions") if isinstance(body, dict) else None
    if conditions is None:
        return None
    where = "exitConditions"
    if not isinstance(conditions, dict):
        raise bad_value(where, "must be an object")
    codes = []
    for n, item in enumerate(_items(conditions, "exitCodes")):
        name = f"{where}.exitCodes[{n}]"
        codes.append((integer_value(item.get("code"), name + ".code"),
                      _options(item.get("exitOptions"), name + ".exitOptions", required=True)))
    ranges = []
    for n, item in enumerate(_items(conditions, "exitCodeRanges")):
        name = f"{where}.exitCodeRanges[{n}]"
        start = integer_value(item.get("start"), name + ".start")
        end = integer_value(item.get("end"), name + ".end")
        if end < start:
            raise bad_value(name + ".end", "must not be less than start", end)
        ranges.append((start, end, _options(item.get("exitOptions"), name + ".exitOptions",
                                            required=True)))
    return ExitConditions(
        exit_codes=tuple(codes), exit_code_ranges=tuple(ranges),
        pre_processing_error=_options(conditions.get("preProcessingError"),
                                      where + ".preProcessingError"),
        file_upload_error=_options(conditions.get("fileUploadError"),
                                   where + ".fileUploadError"),
        default=_options(conditions.get("default"), where + ".default"))


def _items(conditions: dict, name: str) -> list[dict]:
    items = conditions.get(name) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_value(f"exitConditions.{name}", "must be a list of objects")
    return items


def _options(value: Any, name: str, *, required: bool = False) -> ExitOptions | None:
    if value is None:
        if required:
            raise bad_value(name, "is required")
        return None
    if not isinstance(value, dict):
        raise bad_value(name, "must be an object")
    job, dependency = value.get("jobAction"), value.get("dependencyAction")
    try:
        return ExitOptions(job_action=str(job).lower() if job is not None else None,
                           dependency_action=str(dependency).lower()
                           if dependency is not None else None)
    except ValueError as exc:
        raise bad_value(name, str(exc)) from None
