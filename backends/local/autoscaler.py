"""Autoscale on the local engine: samples, periodic evaluation, resizing.

A pool with autoscale enabled keeps an :class:`AutoScaleState` in its own
record (the formula, the interval, the last run and the samples). The
:class:`AutoScaler` records a sample of the pool's metrics (see
``PoolScaling.pool_metrics``, and ``$CPUPercent`` / ``$MemoryBytes`` from
``node_usage``) every ``SAMPLE_PERIOD`` (30 s) of the engine's clock, evaluates the formula every ``autoScaleEvaluationInterval``, and
resizes the pool to the ``$TargetDedicatedNodes`` /
``$TargetLowPriorityNodes`` the formula set, with its
``$NodeDeallocationOption``.

Time is the engine's :class:`~.clock.Clock`: advancing it makes the
intervals pass at once. When the clock jumps, a sample is recorded for each
30 s it skipped, holding the values of the moment it jumped (nothing ran in
between). Samples are visible to formulas as soon as they are taken (the
service takes about a minute); the service's shortest interval is 5 minutes
(``min_interval``), which an emulator may lower.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from topwords.core.errors import ConfigError, PoolNotFound

from .autoscale import SAMPLE_PERIOD, AutoScaleOutcome, Formula, evaluate, parse
from .clock import Ticker
from .node_usage import UsageMeter
from .jobs import StateConflict

__all__ = ["AutoScaleState", "AutoScaler", "DEFAULT_INTERVAL", "MAX_INTERVAL",
           "MIN_INTERVAL"]

log = logging.getLogger("topwords.autoscale")

#: the service's default, shortest and longest evaluation intervals
DEFAULT_INTERVAL = timedelta(minutes=15)
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=168)
#: samples kept per metric: a day of them
MAX_SAMPLES = 2880


@dataclass(eq=False)
class AutoScaleState:
    """A pool's autoscale settings, last run and samples (changed only by
    the :class:`AutoScaler`, under its lock)."""

    formula: str
    parsed: Formula
    interval: timedelta
    next_run: datetime
    next_sample: datetime
    last_run: AutoScaleOutcome | None = None
    samples: dict[str, deque] = field(default_factory=dict)
    #: the nodes' last CPU readings, for ``$CPUPercent`` between samples
    meter: UsageMeter = field(default_factory=UsageMeter)
    #: (dedicated, low priority, deallocation) still to apply: the last
    #: evaluation came while the pool was resizing
    pending: tuple[int, int, str] | None = None

    def history(self, name: str) -> Sequence[tuple[datetime, float]]:
        return tuple(self.samples.get(name, ()))


@dataclass(frozen=True)
class _PoolSamples:
    """The ``Samples`` an evaluation reads: the state's histories, the
    pool's values now."""

    now: datetime
    state: AutoScaleState
    values: dict

    def history(self, name: str):
        return self.state.history(name)

    def current(self, name: str):
        return self.values.get(name)


class AutoScaler:
    """Autoscale for the pools of ``engine`` (a ``LocalBatchEngine``).

    Args:
        min_interval: the shortest ``autoScaleEvaluationInterval`` accepted
            (the service's 5 minutes unless an emulator setting lowers it).
        max_nodes: the most nodes a formula may ask for (more are capped).
    """

    def __init__(self, engine, *, min_interval: timedelta = MIN_INTERVAL,
                 max_nodes: int = 64) -> None:
        self.engine, self.clock = engine, engine.clock
        self.min_interval, self.max_nodes = min_interval, max_nodes
        self._lock = threading.RLock()
        self._ticker: Ticker | None = None

    # -- settings ------------------------------------------------------------------

    def check_interval(self, interval: timedelta | None) -> timedelta:
        """The interval to use (``None``: the default, 15 minutes).

        Raises:
            ConfigError: shorter than ``min_interval`` or longer than 168 h.
        """
        if interval is None:
            return DEFAULT_INTERVAL
        if not self.min_interval <= interval <= MAX_INTERVAL:
            raise ConfigError(f"autoScaleEvaluationInterval must be between "
                              f"{_text(self.min_interval)} and {_text(MAX_INTERVAL)}")
        return interval

    def new_state(self, formula: str, interval: timedelta | None) -> AutoScaleState:
        """A state for a pool about to have autoscale (nothing runs yet).

        Raises:
            FormulaSyntaxError / FormulaTooLong: the formula is not valid.
            ConfigError: a bad interval.
        """
        now = self.clock.now()
        interval = self.check_interval(interval)
        return AutoScaleState(formula=formula, parsed=parse(formula), interval=interval,
                              next_run=now, next_sample=now)

    def first_targets(self, state: AutoScaleState, task_slots: int) -> tuple[AutoScaleOutcome,
                                                                             tuple[int, int]]:
        """Evaluate a new pool's formula (it has no nodes, tasks or samples
        yet) and the node counts to create it with (0, 0 after an error)."""
        with self._lock:
            values = {"$CurrentDedicatedNodes": 0.0, "$CurrentLowPriorityNodes": 0.0,
                      "$TargetDedicatedNodes": 0.0, "$TargetLowPriorityNodes": 0.0,
                      "$TaskSlotsPerNode": float(task_slots)}
            outcome = self._run(state, values)
            state.next_run += state.interval
            return outcome, self._targets(outcome, (0, 0))

    # -- operations ------------------------------------------------------------------

    def enable(self, pool_id: str, formula: str | None, interval: timedelta | None
               ) -> AutoScaleOutcome:
        """Enable autoscale on a pool (or change its formula or interval) and
        evaluate it now, resizing the pool. A missing formula or interval
        keeps the pool's current one.

        Raises:
            PoolNotFound; FormulaSyntaxError; ConfigError (no formula at all,
            a bad interval).
        """
        with self._lock:
            old = self.engine.pool_autoscale(pool_id)
            if formula is None:
                if old is None:
                    raise ConfigError("autoScaleFormula is required to enable autoscale")
                formula = old.formula
            if interval is None and old is not None:
                interval = old.interval
            state = self.new_state(formula, interval)
            if old is not None:
                state.samples, state.meter = old.samples, old.meter
            self._sample(pool_id, state, state.next_sample)
            self.engine.set_pool_autoscale(pool_id, state)
            outcome = self._evaluate_and_apply(pool_id, state)
        self.start()
        return outcome

    def disable(self, pool_id: str) -> None:
        """Stop autoscale on a pool; its nodes stay as they are. Raises PoolNotFound."""
        with self._lock:
            self.engine.pool_autoscale(pool_id)
            self.engine.set_pool_autoscale(pool_id, None)

    def evaluate(self, pool_id: str, formula: str) -> AutoScaleOutcome:
        """Evaluate ``formula`` on a pool's samples without applying it.

        Raises:
            PoolNotFound; FormulaSyntaxError; StateConflict: autoscale is not
            enabled on the pool (the service evaluates only on such pools).
        """
        parsed = parse(formula)
        with self._lock:
            state = self.engine.pool_autoscale(pool_id)
            if state is None:
                raise StateConflict(f"autoscale is not enabled on pool {pool_id}",
                                    code="AutoScalingNotEnabled")
            probe = AutoScaleState(formula=formula, parsed=parsed, interval=state.interval,
                                   next_run=state.next_run, next_sample=state.next_sample,
                                   samples=state.samples)
            return self._run(probe, self.engine.pool_metrics(pool_id))

    # -- the periodic work -------------------------------------------------------------

    def tick(self) -> None:
        """Record the samples that are due and run the evaluations that are
        due, on every pool with autoscale."""
        now = self.clock.now()
        for pool_id, state in self.engine.autoscale_pools():
            with self._lock:
                if self.engine.pool_autoscale(pool_id) is not state:
                    continue  # disabled or replaced meanwhile
                try:
                    self._sample(pool_id, state, now)
                    if now >= state.next_run:
                        self._evaluate_and_apply(pool_id, state)
                    elif state.pending is not None:
                        self._apply(pool_id, state)
                except (PoolNotFound, StateConflict):
                    continue  # deleted meanwhile

    def _sample(self, pool_id: str, state: AutoScaleState, now: datetime) -> None:
        """Record one sample per period from ``state.next_sample`` to ``now``."""
        if now < state.next_sample:
            return
        metrics = self.engine.pool_metrics(pool_id)
        metrics.update(state.meter.read(self.engine.pool_usage(pool_id)))
        due = int((now - state.next_sample) / SAMPLE_PERIOD) + 1
        first = state.next_sample + SAMPLE_PERIOD * max(0, due - MAX_SAMPLES)
        for n in range(min(due, MAX_SAMPLES)):
            moment = first + SAMPLE_PERIOD * n
            for name, value in metrics.items():
                state.samples.setdefault(name, deque(maxlen=MAX_SAMPLES)).append(
                    (moment, value))
        state.next_sample = state.next_sample + SAMPLE_PERIOD * due

    def _evaluate_and_apply(self, pool_id: str, state: AutoScaleState) -> AutoScaleOutcome:
        outcome = self._run(state, self.engine.pool_metrics(pool_id))
        now = outcome.timestamp
        while state.next_run <= now:
            state.next_run += state.interval
        spec = self.engine.pool_record(pool_id).info.spec
        current = (spec.node_count, spec.spot_node_count)
        wanted = self._targets(outcome, current)
        state.pending = None
        if outcome.error is None and wanted != current:
            state.pending = (*wanted, outcome.node_deallocation_option or "requeue")
            self._apply(pool_id, state)
        return outcome

    def _apply(self, pool_id: str, state: AutoScaleState) -> None:
        """Resize the pool to ``state.pending``; a pool still resizing keeps
        it pending (tried again on each tick), as the service applies a
        result once the pool is steady."""
        dedicated, low, option = state.pending
        try:
            self.engine.resize_pool(pool_id, dedicated, low, deallocation=option)
        except StateConflict as exc:
            if exc.code != "PoolBeingResized":
                raise
            return
        state.pending = None

    def _run(self, state: AutoScaleState, values: dict) -> AutoScaleOutcome:
        outcome = evaluate(state.parsed, _PoolSamples(self.clock.now(), state, values))
        state.last_run = outcome
        return outcome

    def _targets(self, outcome: AutoScaleOutcome, current: tuple[int, int]) -> tuple[int, int]:
        if outcome.error is not None:
            return current
        dedicated = max(0, outcome.target_dedicated_nodes or 0)
        low = max(0, outcome.target_low_priority_nodes or 0)
        dedicated = min(dedicated, self.max_nodes)
        return dedicated, min(low, self.max_nodes - dedicated)

    # -- lifetime ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the periodic work (sampling, evaluations). Idempotent."""
        with self._lock:
            if self._ticker is None:
                self._ticker = Ticker(self.clock, self.tick, name="autoscale",
                                      on_error=lambda e: log.error("autoscale failed: %r", e))

    def stop(self) -> None:
        """Stop the periodic work. Idempotent."""
        with self._lock:
            ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.stop()


def _text(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"
