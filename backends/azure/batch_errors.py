"""The one boundary where azure-batch / azure-core exceptions become project
errors: :func:`translate`.

A message says what failed, the Batch error code and the service's message
(first line, with details such as the property name), plus a hint for the
common codes. Every message passes :func:`redact`: no SAS token, signature
or key reaches it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from azure.core.exceptions import (AzureError, ClientAuthenticationError, HttpResponseError,
                                   ResourceExistsError, ResourceNotFoundError,
                                   ServiceRequestError, ServiceResponseError)

from topwords.core.errors import (ComputeError, ConfigError, JobNotFound, PoolNotFound,
                                  ResourceExists, TaskNotFound, TopwordsError, redact_url)

__all__ = ["BatchAuthError", "already_gone", "error_code", "redact", "refused_tasks_error",
           "translate"]

_NOT_FOUND = {"PoolNotFound": PoolNotFound, "JobNotFound": JobNotFound,
              "TaskNotFound": TaskNotFound}
_AUTH_HINT = ("check the Batch account name and key (TOPWORDS_BATCH_ACCOUNT, TOPWORDS_BATCH_KEY), "
              "or the Azure AD identity's role on the Batch account")
_MAX_MESSAGE = 400


class BatchAuthError(ComputeError, PermissionError):
    """Batch refused the credentials (401/403)."""


def error_code(exc: BaseException) -> str | None:
    """The Batch error code of an SDK exception (``PoolExists``, ...), if any."""
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) or None


def already_gone(exc: HttpResponseError) -> bool:
    """A delete found nothing to do: 404, or the thing is already being deleted."""
    return isinstance(exc, ResourceNotFoundError) or (error_code(exc) or "").endswith(
        "BeingDeleted")


def redact(text: str) -> str:
    """``text`` without URL query strings, SAS parameters or Authorization
    values (``core.errors.redact_url``)."""
    return redact_url(text)


@contextmanager
def translate(what: str, *, missing: type[ComputeError] = ComputeError,
              failure: type[ComputeError] = ComputeError) -> Iterator[None]:
    """Turn SDK exceptions raised inside into project errors.

    Args:
        what: the operation and its ids, e.g. ``"creating pool p1"``.
        missing: raised on a 404 whose code names no known resource.
        failure: raised on other service errors (e.g. ``PoolError``).
    """
    try:
        yield
    except TopwordsError:
        raise
    except HttpResponseError as exc:
        raise _from_response(what, exc, missing, failure) from exc
    except ServiceRequestError as exc:
        raise ComputeError(f"{redact(what)} failed: cannot reach Batch ({_reason(exc)})",
                           hint="check TOPWORDS_BATCH_URL and that the Batch service is "
                                "reachable") from exc
    except ServiceResponseError as exc:
        raise ComputeError(f"{redact(what)} failed: no answer from Batch ({_reason(exc)})",
                           hint="retry; the operation may or may not have happened") from exc
    except AzureError as exc:
        raise ComputeError(f"{redact(what)} failed: {_reason(exc)}") from exc


def refused_tasks_error(job_id: str, refused: list) -> TopwordsError:
    """The error for tasks an addtaskcollection result reports as client
    errors (``BatchTaskCreateResult`` items): ``ResourceExists`` for TaskExists,
    else ``ConfigError`` (the task is invalid for Batch)."""
    first, error = refused[0], refused[0].error
    code = getattr(error, "code", None) or "unknown error"
    details = [(d.key, d.value) for d in getattr(error, "error_values", None) or ()]
    more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
    text = (f"Batch refused task {redact(first.task_id)}{more} of job {redact(job_id)}: "
            + _describe(code, getattr(getattr(error, "message", None), "value", None), details))
    if code == "TaskExists":
        return ResourceExists(text, hint="task ids must be unique within a job")
    if code == "TaskDependenciesNotSpecifiedOnJob":
        return ConfigError(text, hint="create the job with uses_task_dependencies")
    return ConfigError(text, hint=_hint(code))


def _from_response(what: str, exc: HttpResponseError, missing: type[ComputeError],
                   failure: type[ComputeError]) -> TopwordsError:
    code = error_code(exc)
    message = f"{redact(what)} failed: {_detail(exc, code)}"
    hint = _hint(code)
    if isinstance(exc, ResourceNotFoundError):
        return _NOT_FOUND.get(code or "", missing)(message, hint=hint)
    if isinstance(exc, ResourceExistsError) and (code is None or code.endswith("Exists")):
        return ResourceExists(message, hint=hint)
    if isinstance(exc, ClientAuthenticationError) or exc.status_code in (401, 403):
        return BatchAuthError(message, hint=_AUTH_HINT)
    if code == "TaskDependenciesNotSpecifiedOnJob":
        return ConfigError(message, hint="create the job with uses_task_dependencies")
    return failure(message, hint=hint)


def _detail(exc: HttpResponseError, code: str | None) -> str:
    """What the service said, or the HTTP status if it sent no Batch error."""
    if not code:
        status = f"HTTP {exc.status_code} {exc.reason or ''}".strip() if exc.status_code else ""
        return _cut(redact(status)) if status else _reason(exc)
    error = getattr(exc, "error", None)
    details = [(d.code, d.message) for d in getattr(error, "details", None) or ()]
    return _describe(code, getattr(error, "message", None), details)


def _describe(code: str, message: str | None, details: list[tuple[str, str]]) -> str:
    """``Code: first line of the message (Key=value; ...)``, redacted and cut."""
    lines = (message or "").strip().splitlines()
    text = redact(f"{code}: {lines[0]}" if lines else code)
    pairs = "; ".join(f"{redact(k)}={redact(v)}" for k, v in details if k and v)
    return _cut(f"{text} ({pairs})" if pairs else text)


def _hint(code: str | None) -> str | None:
    code = code or ""
    if "Quota" in code:
        return ("request a quota increase for the Batch account (Azure portal: Quotas) "
                "or use fewer/smaller nodes")
    if code in ("AuthenticationFailed", "InsufficientAuthorization"):
        return _AUTH_HINT
    if code.startswith(("Invalid", "MissingRequired", "Unsupported")):
        return "check the value named above (VM size, image, ids, command line)"
    if code.endswith("BeingDeleted"):
        return "wait until it is deleted, or choose another id"
    return None


def _reason(exc: AzureError) -> str:
    text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return _cut(redact(text.splitlines()[0] if text else text))


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 3] + "..."
