"""One error hierarchy for the whole project.

Every error the project raises on purpose derives from :class:`TopwordsError`.
Leaves also inherit the matching builtin, so callers that only know the
standard library still catch them (``except FileNotFoundError`` catches
:class:`BlobNotFound`). Backends translate SDK exceptions into these at one
boundary; the CLI catches the root once and prints one line.

Error text never contains a secret: no account key, SAS signature or token.
Use :func:`redact_url` on every URL that goes into a message.
"""

from __future__ import annotations

import re

__all__ = [
    "BackendUnavailable",
    "BlobNotFound",
    "ComputeError",
    "ConfigError",
    "InputError",
    "JobNotFound",
    "NodeError",
    "PoolError",
    "PoolNotFound",
    "ResourceExists",
    "StartTaskFailed",
    "StorageAuthError",
    "StorageError",
    "StorageTimeout",
    "TaskFailed",
    "TaskNotFound",
    "TopwordsError",
    "UnsupportedSetting",
    "WaitTimeout",
    "redact_url",
]


class TopwordsError(Exception):
    """Root of every error the project raises on purpose.

    Attributes:
        hint: optional one-line advice shown by the CLI after the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigError(TopwordsError, ValueError):
    """Invalid configuration: a bad option, setting or environment variable."""


class UnsupportedSetting(ConfigError):
    """A real Batch setting that this backend cannot honour.

    Attributes:
        setting: its name, as Batch spells it (``containerSettings``).
    """

    def __init__(self, setting: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.setting = setting


class InputError(ConfigError):
    """Invalid user input (input files, --top, ...); nothing was created."""


class BackendUnavailable(TopwordsError, ImportError):
    """A backend cannot be loaded (unknown name or a missing optional extra)."""


class ResourceExists(TopwordsError, FileExistsError):
    """A pool, job, task or container with this id already exists."""


class StorageError(TopwordsError, OSError):
    """A storage operation failed."""


class BlobNotFound(StorageError, FileNotFoundError):
    """The container or blob does not exist."""


class StorageAuthError(StorageError, PermissionError):
    """Storage refused the credentials or the SAS (403/401)."""


class StorageTimeout(StorageError, TimeoutError):
    """Storage took the connection but gave no answer in time: it may be
    busy rather than gone."""


class ComputeError(TopwordsError, RuntimeError):
    """A compute (pool, job, task) operation failed."""


class PoolError(ComputeError):
    """A pool could not be created or became unusable."""


class PoolNotFound(PoolError, LookupError):
    """The pool does not exist."""


class NodeError(PoolError):
    """A compute node failed (its container could not start, ...)."""


class StartTaskFailed(NodeError):
    """A StartTask with wait_for_success failed: the node is unusable.

    Attributes:
        node_id: the failing node.
        exit_code: the StartTask's exit code (None if it never ran).
        stderr_tail: the last lines of the StartTask's stderr.
    """

    def __init__(self, message: str, *, node_id: str, exit_code: int | None,
                 stderr_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.node_id = node_id
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class JobNotFound(ComputeError, LookupError):
    """The job does not exist."""


class TaskNotFound(ComputeError, LookupError):
    """The task (or one of its files) does not exist."""


class TaskFailed(ComputeError):
    """One or more tasks of a job did not succeed."""


class WaitTimeout(ComputeError, TimeoutError):
    """A wait (pool ready, tasks complete) ran past its timeout."""


_SECRET_QUERY = re.compile(r"\?[^\s'\"]*")
_SECRET_PARAM = re.compile(r"(?i)\b(sig|signature)=[^&\s'\"]+")
_AUTH_VALUE = re.compile(r"(?i)\b(SharedKey|Bearer)\s+[^\s'\"]+")


def redact_url(text: str) -> str:
    """Return ``text`` with every URL query string (where SAS tokens live)
    cut, and any ``sig=``/``signature=`` value or ``SharedKey``/``Bearer``
    credential left elsewhere hidden: the one
    redaction every message goes through (``node/task.py``, stdlib only and
    run apart, keeps its own copy).

    >>> redact_url("GET http://h/c/b?sv=1&sig=abc failed")
    'GET http://h/c/b?<redacted> failed'
    >>> redact_url("header sig=abc")
    'header sig=<redacted>'
    """
    text = _SECRET_PARAM.sub(r"\1=<redacted>", _SECRET_QUERY.sub("?<redacted>", text))
    return _AUTH_VALUE.sub(r"\1 <redacted>", text)
