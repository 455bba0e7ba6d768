"""Autoscale in Batch JSON: a pool's autoscale properties, and the
enable / evaluate request bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..errors import BatchApiError, bad_value, missing
from .wire import format_duration, parse_duration

__all__ = ["AUTOSCALE_PROPERTIES", "autoscale_json", "formula_of", "interval_of",
           "invalid_settings"]

Json = dict[str, Any]

#: the pool create properties of autoscale
AUTOSCALE_PROPERTIES = ("enableAutoScale", "autoScaleFormula", "autoScaleEvaluationInterval")


def autoscale_json(state) -> Json:
    """``enableAutoScale`` and, when it is on, ``autoScaleFormula``,
    ``autoScaleEvaluationInterval`` and ``autoScaleRun`` (the last
    evaluation) of a pool whose autoscale state is ``state`` (None: off)."""
    if state is None:
        return {"enableAutoScale": False}
    body: Json = {"enableAutoScale": True, "autoScaleFormula": state.formula,
                  "autoScaleEvaluationInterval":
                      format_duration(state.interval.total_seconds())}
    if state.last_run is not None:
        body["autoScaleRun"] = state.last_run.to_autoscale_run()
    return body


def formula_of(body: Json, *, required: bool) -> str | None:
    """``autoScaleFormula`` of a request body (400 if it is not a string)."""
    formula = body.get("autoScaleFormula")
    if formula is None or formula == "":
        if required:
            raise missing("autoScaleFormula")
        return None
    if not isinstance(formula, str):
        raise bad_value("autoScaleFormula", "must be a string", formula)
    return formula


def interval_of(body: Json) -> timedelta | None:
    """``autoScaleEvaluationInterval`` of a request body (None: not given)."""
    text = body.get("autoScaleEvaluationInterval")
    if text is None:
        return None
    seconds = parse_duration(text, "autoScaleEvaluationInterval")
    if seconds is None:
        raise bad_value("autoScaleEvaluationInterval", "must be at most 168 hours", text)
    return timedelta(seconds=seconds)


def invalid_settings(name: str, reason: str) -> BatchApiError:
    """400 InvalidAutoScalingSettings."""
    return BatchApiError(400, "InvalidAutoScalingSettings",
                         "The specified auto-scale settings are not valid.",
                         {"PropertyName": name, "Reason": reason})
