"""The Azure Batch autoscale formula language, evaluated offline.

A pure module (standard library only; no engine, emulator or SDK import).
What the language is, with sources and the choices made where the docs are
silent: /work/notes/autoscale-language.md (not in the repo).

Public API
----------
``parse(formula: str) -> Formula``
    Validate a formula (what EnableAutoScale does before accepting it).
    Raises :class:`FormulaSyntaxError` (code ``AutoScalingFormulaSyntaxError``)
    or :class:`FormulaTooLong` (``AutoScaleFormulaTooLong``, > 8192 chars),
    each with ``line``/``col`` and ``to_batch_error()`` for the HTTP 400 body.

``evaluate(formula: str | Formula, samples: Samples, *, availability_delay=timedelta(0), sample_period=timedelta(seconds=30), rand=None) -> AutoScaleOutcome``
    Run a formula at ``samples.now`` (EvaluateAutoScale, or one periodic
    autoscale run). Syntax errors raise as in ``parse``; runtime errors are
    returned in ``outcome.error`` (:class:`FormulaEvaluationError` or
    :class:`InsufficientSampleData`), as the service puts them in
    ``AutoScaleRun.error``.

``Samples`` (a Protocol; :class:`StaticSamples` implements it over dicts)
    ``now`` (aware UTC datetime), ``history(name) -> [(datetime, value), ...]``
    oldest first for the metrics (``"$ActiveTasks"``, ``"$CPUPercent"``...),
    ``current(name) -> float | None`` for ``$CurrentDedicatedNodes``,
    ``$CurrentLowPriorityNodes``, ``$TaskSlotsPerNode`` and the pool's current
    ``$TargetDedicatedNodes`` / ``$TargetLowPriorityNodes``.

``AutoScaleOutcome``
    ``timestamp``, ``results`` (``"$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;..."``),
    ``variables`` (name -> value, in ``results`` order), ``error``,
    ``stopped``, ``target_dedicated_nodes`` / ``target_low_priority_nodes``
    (ints to apply, None on error), ``node_deallocation_option``, and
    ``to_autoscale_run()`` -> the ``AutoScaleRun`` JSON object.

Constants: ``SAMPLE_PERIOD`` (30 s), ``DOCUMENTED_SAMPLE_DELAY`` (1 min),
``MAX_FORMULA_LENGTH`` (8192), ``MAX_STATEMENTS`` (100), ``FUNCTIONS``,
``READ_WRITE``, ``READ_ONLY``, ``SAMPLED_READ_ONLY``.
"""

from __future__ import annotations

from .errors import (AutoScaleError, FormulaEvaluationError, FormulaSyntaxError,
                     FormulaTooLong, InsufficientSampleData)
from .evaluate import evaluate
from .functions import FUNCTIONS
from .names import (DOCUMENTED_SAMPLE_DELAY, MAX_FORMULA_LENGTH, MAX_STATEMENTS,
                    READ_ONLY, READ_WRITE, SAMPLE_PERIOD, SAMPLED_READ_ONLY)
from .nodes import Formula
from .outcome import AutoScaleOutcome
from .parser import parse
from .samples import Samples, StaticSamples
from .values import DoubleVec, TimeInterval, Timestamp

__all__ = [
    "AutoScaleError", "AutoScaleOutcome", "DOCUMENTED_SAMPLE_DELAY", "DoubleVec",
    "FUNCTIONS", "Formula", "FormulaEvaluationError", "FormulaSyntaxError",
    "FormulaTooLong", "InsufficientSampleData", "MAX_FORMULA_LENGTH",
    "MAX_STATEMENTS", "READ_ONLY", "READ_WRITE", "SAMPLED_READ_ONLY",
    "SAMPLE_PERIOD", "Samples", "StaticSamples", "TimeInterval", "Timestamp",
    "evaluate", "parse",
]
