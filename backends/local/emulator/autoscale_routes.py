"""Batch REST operations on pool autoscale: enable, disable, evaluate, and
pool create with ``enableAutoScale``. The work is the engine's
``AutoScaler``; this is the wire. The route table (``routes``) names the
handlers.

Errors as the service gives them: a formula that does not parse is 400
``AutoScalingFormulaSyntaxError`` (``AutoScaleFormulaTooLong`` past 8192
characters) with the position in the ``Message`` detail; a formula that
fails while running is a 200 whose ``AutoScaleRun`` carries the ``error``;
an interval outside 5 minutes..168 hours is 400 ``InvalidPropertyValue``;
autoscale settings that contradict each other (a formula without
``enableAutoScale``, target node counts with it) are 400
``InvalidAutoScalingSettings``. Evaluating on a pool without autoscale is
409 ``AutoScalingNotEnabled`` (the service refuses it; that code is ours).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator

from topwords.core.errors import ConfigError, PoolNotFound

from ..autoscale import AutoScaleError
from . import shapes
from .errors import BatchApiError, bad_value
from .images import image_index
from .routing import Request, Response, Service, engine_errors, json_response
from .shapes.autoscale import (
    AUTOSCALE_PROPERTIES, formula_of, interval_of, invalid_settings,
)

__all__ = ["create_autoscale_pool", "wants_autoscale"]

_TARGETS = ("targetDedicatedNodes", "targetLowPriorityNodes")


@contextmanager
def formula_errors(name: str = "autoScaleFormula") -> Iterator[None]:
    """A formula that does not parse, or a bad interval, as 400s."""
    try:
        yield
    except AutoScaleError as exc:
        raise BatchApiError(400, exc.code, exc.summary, {"Message": exc.value}) from None
    except ConfigError as exc:
        raise bad_value("autoScaleEvaluationInterval", str(exc)) from None


def wants_autoscale(body: dict) -> bool:
    """Whether a pool create body names any autoscale property."""
    return any(body.get(name) not in (None, False) for name in AUTOSCALE_PROPERTIES)


def create_autoscale_pool(service: Service, request: Request, body: dict) -> Response:
    """POST /pools with ``enableAutoScale``: the formula is evaluated at once
    and the pool made with the node counts it gives."""
    if body.get("enableAutoScale") is not True:
        name = next(n for n in AUTOSCALE_PROPERTIES if body.get(n) not in (None, False))
        raise invalid_settings(name, "autoScaleFormula and autoScaleEvaluationInterval "
                                     "need enableAutoScale true")
    for name in _TARGETS:
        if body.get(name) is not None:
            raise invalid_settings(name, "node counts cannot be given with enableAutoScale "
                                         "(the formula sets them)")
    pool_id = body.get("id")
    if isinstance(pool_id, str) and pool_id:
        try:
            service.engine.pool_record(pool_id)
        except PoolNotFound:
            pass
        else:
            raise BatchApiError(409, "PoolExists", "The specified pool already exists.",
                                {"PoolId": pool_id})
    formula, interval = formula_of(body, required=True), interval_of(body)
    plain = {k: v for k, v in body.items() if k not in AUTOSCALE_PROPERTIES}
    spec, echo = shapes.pool_spec(plain, images=image_index(), max_nodes=service.max_nodes)
    autoscaler = service.engine.autoscaler
    with formula_errors():
        state = autoscaler.new_state(formula, interval)
    _, (dedicated, low) = autoscaler.first_targets(state, spec.task_slots_per_node)
    spec = replace(spec, node_count=dedicated, spot_node_count=low)
    with engine_errors("Pool", spec.id):
        service.engine.create_pool(spec, autoscale=state, extras=echo)
        record = service.engine.pool_record(spec.id)
    autoscaler.start()
    url = request.url("pools", spec.id)
    return Response(201, headers={**shapes.stamps(record.modified), "Location": url,
                                  "DataServiceId": url})


def enable_autoscale(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    formula, interval = formula_of(body, required=False), interval_of(body)
    with engine_errors("Pool", pool_id):
        record = service.engine.pool_record(pool_id)
        if record.info.state == "deleting":
            raise BatchApiError(409, "PoolBeingDeleted", "The specified pool has been marked "
                                "for deletion and is being reclaimed.", {"PoolId": pool_id})
        if formula is None and record.autoscale is None:
            raise invalid_settings("autoScaleFormula", "required to enable autoscale")
        with formula_errors():
            service.engine.autoscaler.enable(pool_id, formula, interval)
    return Response(200, headers=_stamps(service, pool_id))


def disable_autoscale(service: Service, request: Request, pool_id: str) -> Response:
    with engine_errors("Pool", pool_id):
        service.engine.autoscaler.disable(pool_id)
    return Response(200, headers=_stamps(service, pool_id))


def evaluate_autoscale(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    formula = formula_of(body, required=True)
    with engine_errors("Pool", pool_id), formula_errors():
        outcome = service.engine.autoscaler.evaluate(pool_id, formula)
    return json_response(200, outcome.to_autoscale_run(), _stamps(service, pool_id))


def _stamps(service: Service, pool_id: str) -> dict[str, str]:
    with engine_errors("Pool", pool_id):
        return shapes.stamps(service.engine.pool_record(pool_id).modified)
