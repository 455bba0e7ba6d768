"""What a Batch node agent moves over HTTP: resource files in (GET from
their SAS URLs) and output files out (PUT to a container SAS URL).

Plain HTTP with the standard library, as a node would do it: no account key
is ever involved, only the URLs the task spec carries. Messages never carry
a URL's query string (the SAS).
"""

from __future__ import annotations

import base64
import glob
import hashlib
import itertools
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from topwords.core.errors import redact_url
from topwords.core.model import OutputFile, ResourceFile

__all__ = ["TransferError", "download_resource_file", "upload_output_files"]

_TIMEOUT = 30.0
#: what Batch gives a resource file on a Linux node when no fileMode is set
DEFAULT_FILE_MODE = "0770"


class TransferError(Exception):
    """A resource file or output file could not be moved (message redacted)."""


def download_resource_file(resource: ResourceFile, working_dir: Path) -> Path:
    """GET ``resource.http_url`` into ``working_dir / resource.file_path``,
    with mode ``resource.file_mode`` (default 0770, as on Batch)."""
    target = working_dir.joinpath(*resource.file_path.split("/"))
    if working_dir.resolve() not in target.resolve().parents:
        raise TransferError(f"resource file path {resource.file_path!r} leaves the task directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(resource.http_url, timeout=_TIMEOUT) as response, \
                open(target, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise TransferError(f"cannot download {redact_url(resource.http_url)} to "
                            f"{resource.file_path}: {_reason(exc)}") from None
    os.chmod(target, int(resource.file_mode or DEFAULT_FILE_MODE, 8))
    return target


def upload_output_files(outputs: tuple[OutputFile, ...], working_dir: Path,
                        succeeded: bool) -> None:
    """Upload the files matching each output's pattern, per its condition.

    Patterns are relative to the task's working directory, as on Batch
    (``../stdout.txt`` is the task's stdout). A single file goes to blob
    ``path``; with wildcards, each match goes to ``path/<its path below the
    pattern's fixed leading folders>``. No match uploads nothing.
    """
    for output in outputs:
        condition = output.upload_condition.value
        if (condition == "tasksuccess" and not succeeded) or \
                (condition == "taskfailure" and succeeded):
            continue
        pattern = os.path.join(working_dir, *output.file_pattern.split("/"))
        for match in sorted(glob.glob(pattern, recursive=True)):
            path = Path(match)
            if path.is_file():
                _put(output, path, _blob_name(output, path, pattern))


def _blob_name(output: OutputFile, path: Path, pattern: str) -> str:
    if not glob.has_magic(output.file_pattern):
        return output.path or path.name
    fixed = itertools.takewhile(lambda part: not glob.has_magic(part), Path(pattern).parts)
    rel = Path(os.path.relpath(path, Path(*fixed))).as_posix()
    return f"{output.path.rstrip('/')}/{rel}" if output.path else rel


def _put(output: OutputFile, path: Path, blob_name: str) -> None:
    base = urllib.parse.urlsplit(output.container_url)
    url = urllib.parse.urlunsplit(base._replace(
        path=base.path.rstrip("/") + "/" + urllib.parse.quote(blob_name)))
    data = path.read_bytes()
    request = urllib.request.Request(url, data=data, method="PUT", headers={
        "x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06",
        "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
    try:
        urllib.request.urlopen(request, timeout=_TIMEOUT).close()
    except (urllib.error.URLError, OSError) as exc:
        raise TransferError(f"cannot upload {path.name} to {redact_url(url)}: "
                            f"{_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return redact_url(str(exc.reason))
    return redact_url(str(exc))
