"""A task's exit conditions (Batch's ``exitConditions``): what its completion
does to its job and to the tasks that depend on it.

Which options apply (Batch's rules): an exit code listed in ``exit_codes``,
else one in a range of ``exit_code_ranges``, else, for a task that failed
before its command ran (resource files: Batch's pre-processing error)
``pre_processing_error``, for one whose output files failed to upload
``file_upload_error``; else ``default`` for a non-zero exit or either error;
else (and for an unlisted exit code 0) the implicit options: no job action,
dependents satisfied by a success and blocked by a failure.

The job action runs only in a job created with ``onTaskFailure``
``performexitoptionsjobaction`` (the engine's ``exit_job_actions``):
``disable`` disables the job as ``disableTasks=requeue`` does, ``terminate``
terminates it (reason ``TaskFailed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from topwords.core.model import FailureInfo

__all__ = ["DEPENDENCY_ACTIONS", "JOB_ACTIONS", "ExitConditions", "ExitOptions", "options_for"]

JOB_ACTIONS = ("none", "disable", "terminate")
DEPENDENCY_ACTIONS = ("satisfy", "block")

#: the failure codes of a task that failed before its command ran
PRE_PROCESSING = ("ResourceFileDownloadError", "ContainerImageNotFound", "ContainerPoolNeeded")


@dataclass(frozen=True)
class ExitOptions:
    """What a completion does (None: the implicit choice, see module doc)."""

    job_action: str | None = None
    dependency_action: str | None = None

    def __post_init__(self) -> None:
        if self.job_action not in (None, *JOB_ACTIONS):
            raise ValueError(f"jobAction must be one of {', '.join(JOB_ACTIONS)}")
        if self.dependency_action not in (None, *DEPENDENCY_ACTIONS):
            raise ValueError(f"dependencyAction must be one of {', '.join(DEPENDENCY_ACTIONS)}")


@dataclass(frozen=True)
class ExitConditions:
    """A task's ``exitConditions``: ``exit_codes`` maps a code to its
    options; ``exit_code_ranges`` are ``(start, end, options)``, both ends
    included."""

    exit_codes: tuple[tuple[int, ExitOptions], ...] = ()
    exit_code_ranges: tuple[tuple[int, int, ExitOptions], ...] = ()
    pre_processing_error: ExitOptions | None = None
    file_upload_error: ExitOptions | None = None
    default: ExitOptions | None = None

    def uses_job_actions(self) -> bool:
        """Whether any option asks for a job action other than ``none``."""
        every = [o for _, o in self.exit_codes] + [o for *_, o in self.exit_code_ranges] + [
            self.pre_processing_error, self.file_upload_error, self.default]
        return any(o is not None and o.job_action not in (None, "none") for o in every)


def options_for(conditions: ExitConditions | None, *, succeeded: bool, exit_code: int | None,
                failure: FailureInfo | None) -> tuple[str, str]:
    """The ``(job action, dependency action)`` of a completed task."""
    failed = not succeeded
    chosen = None
    if conditions is not None:
        chosen = _chosen(conditions, exit_code, failure, failed)
    job = chosen.job_action if chosen and chosen.job_action else "none"
    dependency = chosen.dependency_action if chosen and chosen.dependency_action else (
        "block" if failed else "satisfy")
    return job, dependency


def _chosen(conditions: ExitConditions, exit_code: int | None,
            failure: FailureInfo | None, failed: bool) -> ExitOptions | None:
    code = failure.code if failure else None
    if code in PRE_PROCESSING:
        return conditions.pre_processing_error or conditions.default
    if code == "FileUploadError":
        return conditions.file_upload_error or conditions.default
    if exit_code is not None:
        for listed, options in conditions.exit_codes:
            if listed == exit_code:
                return options
        for start, end, options in conditions.exit_code_ranges:
            if start <= exit_code <= end:
                return options
        return conditions.default if exit_code != 0 else None
    return conditions.default if failed else None
