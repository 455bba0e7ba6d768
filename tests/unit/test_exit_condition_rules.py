"""Which exit options apply to a completed task (Batch's order: exit codes,
ranges, pre-processing and upload errors, default, implicit)."""

from __future__ import annotations

import pytest

from topwords.backends.local.exit_conditions import ExitConditions, ExitOptions, options_for
from topwords.core.model import FailureInfo

SATISFY, BLOCK = ExitOptions(dependency_action="satisfy"), ExitOptions(dependency_action="block")
STOP = ExitOptions(job_action="terminate")
CONDITIONS = ExitConditions(exit_codes=((3, SATISFY), (0, BLOCK)),
                            exit_code_ranges=((2, 5, STOP),),
                            file_upload_error=ExitOptions(job_action="disable"),
                            default=ExitOptions(job_action="disable", dependency_action="satisfy"))


def failure(code: str) -> FailureInfo:
    return FailureInfo(category="usererror", code=code, message="")


@pytest.mark.parametrize("conditions,succeeded,exit_code,fail,expected", [
    (None, True, 0, None, ("none", "satisfy")),
    (None, False, 1, failure("FailureExitCode"), ("none", "block")),
    (CONDITIONS, False, 3, failure("FailureExitCode"), ("none", "satisfy")),  # code before range
    (CONDITIONS, False, 4, failure("FailureExitCode"), ("terminate", "block")),
    (CONDITIONS, True, 0, None, ("none", "block")),
    (CONDITIONS, False, 9, failure("FailureExitCode"), ("disable", "satisfy")),
    (CONDITIONS, False, None, failure("ResourceFileDownloadError"), ("disable", "satisfy")),
    (CONDITIONS, False, 0, failure("FileUploadError"), ("disable", "block")),
    (CONDITIONS, False, None, failure("MaxWallClockTimeExpiry"), ("disable", "satisfy")),
    (ExitConditions(exit_codes=((1, STOP),)), True, 0, None, ("none", "satisfy")),
])
def test_options_for(conditions, succeeded, exit_code, fail, expected):
    assert options_for(conditions, succeeded=succeeded, exit_code=exit_code,
                       failure=fail) == expected


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="jobAction"):
        ExitOptions(job_action="pause")
    with pytest.raises(ValueError, match="dependencyAction"):
        ExitOptions(dependency_action="maybe")


def test_uses_job_actions():
    assert CONDITIONS.uses_job_actions()
    assert not ExitConditions(default=ExitOptions(job_action="none")).uses_job_actions()
