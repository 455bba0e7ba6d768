"""The result of one evaluation, and ``AutoScaleRun.results`` as the service
writes it: the three read-write service variables first, then every user
variable the formula assigned in ordinal name order, ``name=value`` joined
by ``;``::

    $TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;$samples=96.6667;cappedPoolSize=3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from .errors import AutoScaleError
from .names import READ_WRITE
from .values import Timestamp, Value, render

__all__ = ["AutoScaleOutcome", "render_results"]


def render_results(variables: Mapping[str, Value]) -> str:
    """``variables`` (service ones first, then users') as ``results``."""
    return ";".join(f"{name}={render(value)}" for name, value in variables.items())


def ordered(system: Mapping[str, Value], users: Mapping[str, Value]) -> dict[str, Value]:
    """The service's order: READ_WRITE order, then user names sorted."""
    merged = {name: system[name] for name in READ_WRITE if name in system}
    merged.update((name, users[name]) for name in sorted(users))
    return merged


@dataclass(frozen=True, kw_only=True)
class AutoScaleOutcome:
    """What one evaluation produced.

    Attributes:
        timestamp: the evaluation time (``AutoScaleRun.timestamp``).
        variables: the final value of every variable ``results`` lists, in
            its order: the three read-write service variables (assigned or
            their values before the run), then each assigned user variable.
        results: ``variables`` rendered as the service renders them.
        error: the runtime error that ended the evaluation, or None.
        stopped: True when the formula called ``stop()``.
        target_dedicated_nodes, target_low_priority_nodes: the node counts to
            apply (the final targets truncated toward zero), None on error.
        node_deallocation_option: requeue, terminate, taskcompletion or
            retaineddata; None on error.
    """

    timestamp: datetime
    variables: Mapping[str, Value] = field(default_factory=dict)
    results: str = ""
    error: AutoScaleError | None = None
    stopped: bool = False
    target_dedicated_nodes: int | None = None
    target_low_priority_nodes: int | None = None
    node_deallocation_option: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None

    def to_autoscale_run(self) -> dict:
        """The ``AutoScaleRun`` JSON object (camelCase, as the REST API)."""
        run: dict = {"timestamp": render(Timestamp(self.timestamp)), "results": self.results}
        if self.error is not None:
            run["error"] = self.error.to_autoscale_run_error()
        return run
