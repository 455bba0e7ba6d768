"""The Azure Batch autoscale formula language, evaluated offline.

A pure module (standard library only; no engine, emulator or SDK import).
This step has the parser: ``parse(formula) -> Formula`` raises
:class:`FormulaSyntaxError` / :class:`FormulaTooLong` with line and column.
"""

from __future__ import annotations

from .errors import (AutoScaleError, FormulaEvaluationError, FormulaSyntaxError,
                     FormulaTooLong, InsufficientSampleData)
from .nodes import Formula
from .parser import parse

__all__ = [
    "AutoScaleError", "Formula", "FormulaEvaluationError", "FormulaSyntaxError",
    "FormulaTooLong", "InsufficientSampleData", "parse",
]
