"""Run a parsed formula against sample data: :func:`evaluate`.

Statements run in order. Reading a read-write service variable before the
formula assigns it gives its value before the run (the pool's current
target, ``requeue`` for the deallocation option). ``?:``, ``&&`` and ``||``
evaluate only what they need. An alias (``$TargetDedicated``) and its full
name are separate until the end, where the full name wins if both were set.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Callable

from .errors import AutoScaleError, FormulaEvaluationError
from .functions import StopEvaluation, call_function
from .names import (ALIASES, DEALLOCATION_OPTIONS, DEFAULT_DEALLOCATION_OPTION,
                    NODE_DEALLOCATION, PLAIN_READ_ONLY, READ_ONLY, READ_WRITE,
                    SAMPLE_PERIOD, SAMPLED_READ_ONLY, TARGET_DEDICATED,
                    TARGET_LOW_PRIORITY, TIME_INTERVALS)
from .nodes import (Assign, Binary, Call, Formula, Member, Method, Node, Number,
                    String, Ternary, Unary, Var, Vector)
from .operators import LOGICAL, apply_binary, apply_unary, truth
from .outcome import AutoScaleOutcome, ordered, render_results
from .parser import parse
from .samples import Samples, SampleView, call_method
from .values import DoubleVec, Metric, TimeInterval, Timestamp, Value, type_name

__all__ = ["evaluate"]

_SYSTEM = set(READ_WRITE) | set(ALIASES)


def evaluate(formula: str | Formula, samples: Samples, *,
             availability_delay: timedelta = timedelta(0),
             sample_period: timedelta = SAMPLE_PERIOD,
             rand: Callable[[], float] | None = None) -> AutoScaleOutcome:
    """Evaluate ``formula`` at ``samples.now``.

    Args:
        formula: the formula text, or a :class:`Formula` from :func:`parse`.
        samples: the clock, metric histories and current pool values.
        availability_delay: samples younger than this are not yet visible
            (the docs say about a minute; 0 means every recorded sample).
        sample_period: the sampling period behind percentages (30 s).
        rand: the generator behind ``rand()`` (default ``random.random``).

    Returns:
        The outcome; a runtime failure is in ``outcome.error`` (as the
        service puts it in ``AutoScaleRun.error``), never raised.

    Raises:
        FormulaSyntaxError: the formula text does not parse (HTTP 400 on
            the service), including FormulaTooLong.
        ValueError: ``samples.now`` is naive (a caller bug, not bad input).
    """
    parsed = formula if isinstance(formula, Formula) else parse(formula)
    if samples.now.tzinfo is None:
        raise ValueError("samples.now must be a timezone-aware datetime")
    run = _Run(samples, availability_delay, sample_period, rand or random.random)
    error, stopped = None, False
    try:
        for statement in parsed.statements:
            run.statement(statement)
    except StopEvaluation:
        stopped = True
    except FormulaEvaluationError as exc:
        error = exc
    variables = ordered(run.final_system(), run.users)
    outcome = dict(timestamp=samples.now, variables=variables,
                   results=render_results(variables), error=error, stopped=stopped)
    if error is None:
        try:
            outcome.update(run.applied())
        except FormulaEvaluationError as exc:
            outcome["error"] = exc
    return AutoScaleOutcome(**outcome)


class _Run:
    """The state of one evaluation."""

    def __init__(self, samples: Samples, delay: timedelta, period: timedelta,
                 rand: Callable[[], float]) -> None:
        self.samples = samples
        self.delay = delay
        self.period = period
        self.rand = rand
        self.users: dict[str, Value] = {}
        self.system: dict[str, Value] = {}  # full names and aliases as assigned
        self.where: dict[str, Node] = {}    # statement that last set each

    # -- statements ----------------------------------------------------------
    def statement(self, statement: Assign) -> None:
        value = self.eval(statement.value)
        if statement.name is None:
            return
        name = statement.name
        if name in _SYSTEM:
            self._check_system(ALIASES.get(name, name), value, statement)
            self.system[name] = value
            self.where[name] = statement
        else:
            self.users[name] = value

    def _check_system(self, name: str, value: Value, node: Node) -> None:
        if name == NODE_DEALLOCATION:
            if value not in DEALLOCATION_OPTIONS:
                shown = value if isinstance(value, str) else type_name(value)
                raise FormulaEvaluationError(
                    f"{name} must be one of {', '.join(DEALLOCATION_OPTIONS)}, got {shown}",
                    line=node.line, col=node.col)
        elif not isinstance(value, float):
            raise FormulaEvaluationError(f"{name} must be a double, got {type_name(value)}",
                                         line=node.line, col=node.col)

    # -- results -------------------------------------------------------------
    def final_system(self) -> dict[str, Value]:
        final = {}
        for name in READ_WRITE:
            alias = next((a for a, full in ALIASES.items() if full == name), None)
            if name in self.system:
                final[name] = self.system[name]
            elif alias in self.system:
                final[name] = self.system[alias]
            else:
                final[name] = self._before(name, None) or 0.0
        return final

    def applied(self) -> dict:
        final = self.final_system()
        counts = {}
        for name, key in ((TARGET_DEDICATED, "target_dedicated_nodes"),
                          (TARGET_LOW_PRIORITY, "target_low_priority_nodes")):
            value = final[name]
            if not (math.isfinite(value) and value >= 0):
                node = self.where.get(name) or next(
                    (self.where[a] for a, full in ALIASES.items()
                     if full == name and a in self.where), None)
                raise FormulaEvaluationError(
                    f"{name} must be a finite number of nodes >= 0, got {value:g}",
                    line=node.line if node else 0, col=node.col if node else 0)
            counts[key] = int(value)
        counts["node_deallocation_option"] = final[NODE_DEALLOCATION]
        return counts

    # -- expressions ---------------------------------------------------------
    def eval(self, node: Node) -> Value:
        try:
            return self._dispatch(node)
        except AutoScaleError as exc:
            raise exc.located(node.line, node.col)

    def _dispatch(self, node: Node) -> Value:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, String):
            return node.value
        if isinstance(node, Var):
            return self.lookup(node.name)
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Unary):
            return apply_unary(node.op, self.value(node.operand))
        if isinstance(node, Ternary):
            chosen = node.then if truth(self.value(node.condition), "?:") else node.otherwise
            return self.eval(chosen)
        if isinstance(node, Call):
            args = [self.value(arg) for arg in node.args]
            return call_function(node.name, args, now=self.samples.now, rand=self.rand)
        if isinstance(node, Method):
            return self._method(node)
        if isinstance(node, Member):
            return self._member(node)
        if isinstance(node, Vector):
            return self._vector(node)
        raise FormulaEvaluationError(f"cannot evaluate {type(node).__name__}")

    def value(self, node: Node) -> Value:
        """Evaluate ``node`` where a value is needed (not a bare metric)."""
        value = self.eval(node)
        if isinstance(value, Metric):
            raise FormulaEvaluationError(
                f"{value.name} is a sampled metric: read it with "
                f"{value.name}.GetSample(...)", line=node.line, col=node.col)
        return value

    def _binary(self, node: Binary) -> Value:
        left = self.value(node.left)
        if node.op in LOGICAL:
            decided = truth(left, node.op)
            if decided == (node.op == "||"):
                return float(decided)
            return float(truth(self.value(node.right), node.op))
        return apply_binary(node.op, left, self.value(node.right))

    def _method(self, node: Method) -> Value:
        target = node.target
        if isinstance(target, Var) and ALIASES.get(target.name, target.name) in READ_ONLY:
            name = ALIASES.get(target.name, target.name)
        else:
            metric = self.eval(target)
            if not isinstance(metric, Metric):
                raise FormulaEvaluationError(
                    f"{node.name}() applies to service variables, not to {type_name(metric)}")
            name = metric.name
        args = [self.value(arg) for arg in node.args]
        view = SampleView.of(self.samples, name, delay=self.delay, period=self.period)
        try:
            return call_method(view, node.name, args)
        except AutoScaleError as exc:
            raise exc.located(target.line, target.col)

    def _member(self, node: Member) -> Value:
        target = self.value(node.target)
        if not isinstance(target, Timestamp):
            raise FormulaEvaluationError(f".{node.name} applies to timestamps, not to {type_name(target)}")
        member = target.member(node.name)
        if member is None:
            raise FormulaEvaluationError(f"a timestamp has no member {node.name}")
        return member

    def _vector(self, node: Vector) -> DoubleVec:
        items = []
        for item in node.items:
            value = self.value(item)
            if not isinstance(value, float):
                raise FormulaEvaluationError(f"a vector holds doubles, not {type_name(value)}",
                                             line=item.line, col=item.col)
            items.append(value)
        return DoubleVec(tuple(items))

    # -- names ---------------------------------------------------------------
    def lookup(self, name: str) -> Value:
        if name in TIME_INTERVALS:
            return TimeInterval(TIME_INTERVALS[name])
        if name in DEALLOCATION_OPTIONS:
            return name
        if name in ALIASES:
            return self.system[name] if name in self.system else self.lookup(ALIASES[name])
        if name in READ_WRITE:
            return self.system[name] if name in self.system else self._before(name, name)
        if name in PLAIN_READ_ONLY:
            return self._before(name, name)
        if name in SAMPLED_READ_ONLY:
            return Metric(name)
        if name in self.users:
            return self.users[name]
        raise FormulaEvaluationError(f"{name} is not defined")

    def _before(self, name: str, required: str | None) -> Value | None:
        """A service variable's value before the run (None if unknown)."""
        if name == NODE_DEALLOCATION:
            return DEFAULT_DEALLOCATION_OPTION
        value = self.samples.current(name)
        if value is None and required:
            raise FormulaEvaluationError(f"{required} has no current value")
        return None if value is None else float(value)
