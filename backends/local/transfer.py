"""What a Batch node agent moves over HTTP: resource files in (GET from
their SAS URLs) and output files out (PUT to a container SAS URL).

Plain HTTP with the standard library, as a node would do it: no account key
is ever involved, only the URLs the task spec carries. Messages never carry
a URL's query string (the SAS). The files live in a node directory that
task code writes, so every file operation goes through ``nofollow``: a link
planted by a task is never followed (a matching link is not uploaded, and a
download never writes through one).
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Sequence

from topwords.core.errors import redact_url
from topwords.core.model import OutputFile, ResourceFile, pattern_parts

from topwords.core import nofollow

__all__ = ["TransferError", "download_resource_file", "upload_output_files"]

_TIMEOUT = 30.0
_CHUNK = 1 << 20
#: what Batch gives a resource file on a Linux node when no fileMode is set
DEFAULT_FILE_MODE = "0770"


class TransferError(Exception):
    """A resource file or output file could not be moved (message redacted)."""


def download_resource_file(resource: ResourceFile, node_root: Path, wd: Sequence[str], *,
                           owner: tuple[int, int] | None = None) -> None:
    """GET ``resource.http_url`` into ``wd/resource.file_path`` below
    ``node_root``, with mode ``resource.file_mode`` (default 0770, as on
    Batch) and ``owner``; directories it needs are made (with ``owner``)."""
    parts = list(wd) + resource.file_path.split("/")
    try:
        nofollow.make_dirs(node_root, parts[:-1], mode=0o755, owner=owner)
        with urllib.request.urlopen(resource.http_url, timeout=_TIMEOUT) as response:
            nofollow.replace_file(node_root, parts, iter(lambda: response.read(_CHUNK), b""),
                                  mode=int(resource.file_mode or DEFAULT_FILE_MODE, 8),
                                  owner=owner)
    except nofollow.UnsafePath:
        raise TransferError(f"cannot write resource file {resource.file_path}: a link or a "
                            "file is in the way") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TransferError(f"cannot download {redact_url(resource.http_url)} to "
                            f"{resource.file_path}: {_reason(exc)}") from None


def upload_output_files(outputs: tuple[OutputFile, ...], node_root: Path,
                        task_dir: Sequence[str], succeeded: bool) -> None:
    """Upload the files matching each output's pattern, per its condition.

    Patterns are relative to the task's working directory, as on Batch
    (``../stdout.txt`` is the task's stdout). A single file goes to blob
    ``path``; with wildcards, each match goes to ``path/<its path below the
    pattern's fixed leading folders>``. No match uploads nothing; links are
    never matched.
    """
    for output in outputs:
        condition = output.upload_condition.value
        if (condition == "tasksuccess" and not succeeded) or \
                (condition == "taskfailure" and succeeded):
            continue
        pattern = pattern_parts(output.file_pattern)
        try:
            with nofollow.open_dir(node_root, task_dir) as task_fd:
                matches = nofollow.glob_files(task_fd, pattern)
                for match in matches:
                    _put(output, task_fd, match, _blob_name(output, match, pattern))
        except (FileNotFoundError, nofollow.UnsafePath):
            continue  # the task directory is gone or was replaced by a link


def _blob_name(output: OutputFile, match: list[str], pattern: list[str]) -> str:
    if not any(nofollow.has_magic(p) for p in pattern):
        return output.path or match[-1]
    fixed = 0
    while fixed < len(pattern) and not nofollow.has_magic(pattern[fixed]):
        fixed += 1
    rel = "/".join(match[fixed:])
    return f"{output.path.rstrip('/')}/{rel}" if output.path else rel


def _put(output: OutputFile, task_fd: int, match: list[str], blob_name: str) -> None:
    base = urllib.parse.urlsplit(output.container_url)
    url = urllib.parse.urlunsplit(base._replace(
        path=base.path.rstrip("/") + "/" + urllib.parse.quote(blob_name)))
    try:
        data = nofollow.read_bytes(task_fd, match)
    except (OSError, nofollow.UnsafePath):
        return  # gone or swapped for a link since it matched: not uploaded
    request = urllib.request.Request(url, data=data, method="PUT", headers={
        "x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06",
        "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
    try:
        urllib.request.urlopen(request, timeout=_TIMEOUT).close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TransferError(f"cannot upload {match[-1]} to {redact_url(url)}: "
                            f"{_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return redact_url(str(exc.reason))
    return redact_url(str(exc))
