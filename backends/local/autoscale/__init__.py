"""The Azure Batch autoscale formula language, evaluated offline.

A pure module (standard library only; no engine, emulator or SDK import).
So far: ``parse(formula) -> Formula`` (syntax errors with line and column),
the value types, the documented operators and built-in functions, and the
sample data interface (``Samples``, ``StaticSamples``) with the metrics'
sample methods.
"""

from __future__ import annotations

from .errors import (AutoScaleError, FormulaEvaluationError, FormulaSyntaxError,
                     FormulaTooLong, InsufficientSampleData)
from .functions import FUNCTIONS
from .nodes import Formula
from .parser import parse
from .samples import Samples, StaticSamples
from .values import DoubleVec, TimeInterval, Timestamp

__all__ = [
    "AutoScaleError", "DoubleVec", "FUNCTIONS", "Formula", "FormulaEvaluationError",
    "FormulaSyntaxError", "FormulaTooLong", "InsufficientSampleData", "Samples",
    "StaticSamples", "TimeInterval", "Timestamp", "parse",
]
