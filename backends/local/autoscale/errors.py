"""Errors of the autoscale language, shaped like the Batch service's.

Two families, as on the service:

* :class:`FormulaSyntaxError` / :class:`FormulaTooLong`: the formula is
  rejected before it runs. The service answers Enable/Evaluate AutoScale with
  HTTP 400 and a BatchError (:meth:`AutoScaleError.to_batch_error`).
* :class:`FormulaEvaluationError` / :class:`InsufficientSampleData`: the
  formula ran and failed. The service returns 200 with an ``AutoScaleRun``
  whose ``error`` is :meth:`AutoScaleError.to_autoscale_run_error`.

Every error carries the 1-based line and column of the offending token and
renders its detail as the service does: ``Line 15, Col 44: ...``.
"""

from __future__ import annotations

from topwords.core.errors import TopwordsError

__all__ = [
    "AutoScaleError",
    "FormulaEvaluationError",
    "FormulaSyntaxError",
    "FormulaTooLong",
    "InsufficientSampleData",
]


class AutoScaleError(TopwordsError, ValueError):
    """A formula could not be parsed or evaluated.

    Attributes:
        code: the service's error code (``AutoScalingFormulaSyntaxError``...).
        summary: the service's fixed message for that code.
        detail: what went wrong, without the position.
        line, col: 1-based position in the formula (0, 0 when it has none).
    """

    code = "AutoScaleError"
    summary = "Autoscale evaluation failed"

    def __init__(self, detail: str, *, line: int = 0, col: int = 0) -> None:
        self.detail = detail
        self.line = line
        self.col = col
        super().__init__(detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.value}"

    def located(self, line: int, col: int) -> "AutoScaleError":
        """Give the error a position unless it already has one."""
        if not self.line:
            self.line, self.col = line, col
        return self

    @property
    def value(self) -> str:
        """The ``Message`` detail as the service words it."""
        if self.line:
            return f"Line {self.line}, Col {self.col}: {self.detail}"
        return self.detail

    def to_autoscale_run_error(self) -> dict:
        """``AutoScaleRun.error``: ``{code, message, values: [{name, value}]}``."""
        return {"code": self.code, "message": self.summary,
                "values": [{"name": "Message", "value": self.value}]}

    def to_batch_error(self) -> dict:
        """The body of the HTTP 400 a rejected formula gets (BatchError)."""
        return {"code": self.code,
                "message": {"lang": "en-US", "value": self.summary},
                "values": [{"key": "Message", "value": self.value}]}


class FormulaSyntaxError(AutoScaleError):
    """The formula is not valid autoscale language."""

    code = "AutoScalingFormulaSyntaxError"
    summary = "The specified auto-scaling formula has a syntax error."


class FormulaTooLong(FormulaSyntaxError):
    """The formula exceeds the service's 8192-character limit."""

    code = "AutoScaleFormulaTooLong"
    summary = "The specified auto-scaling formula exceeds lengths limit."


class FormulaEvaluationError(AutoScaleError):
    """The formula failed while running (types, unknown names, empty data).

    The service's code for these is not documented; the name is ours.
    """

    code = "FormulaEvaluationError"
    summary = "Autoscale evaluation failed"


class InsufficientSampleData(FormulaEvaluationError):
    """``GetSample(..., samplePercent)`` found fewer samples than required."""

    code = "InsufficientSampleData"
    summary = "Autoscale evaluation failed due to insufficient sample data"
