"""Validation of input files, before anything is created anywhere."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .naming import blob_name_problem, input_blob_names, printable

__all__ = ["InputFile", "validate_inputs"]


@dataclass(frozen=True, kw_only=True)
class InputFile:
    """An input file that passed validation.

    Attributes:
        path: the path as the user gave it.
        blob_name: its unique blob name (see ``naming.input_blob_names``).
        size: bytes.
    """

    path: Path
    blob_name: str
    size: int


def validate_inputs(paths: Iterable[str | os.PathLike]) -> list[InputFile]:
    """Check every input and give each its blob name.

    Empty files are valid. Two different files with the
    same base name are valid and keep distinct blob names. Messages name the
    file with ``naming.printable`` (one line, whatever the name holds).

    Raises:
        InputError: no inputs; a path is missing, a directory, unreadable or
            given twice; or its blob name cannot be a blob name
            (``naming.blob_name_problem``: bytes that are not UTF-8, control
            characters, a backslash, a trailing dot, too long, ...).
    """
    given = [Path(p) for p in paths]
    if not given:
        raise InputError("no input files given")
    seen: dict[str, Path] = {}
    sizes = []
    for path in given:
        sizes.append(_check_file(path))
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{_show(path)} is given twice (also as {_show(seen[real])})")
        seen[real] = path
    names = input_blob_names(given)
    for path, name in zip(given, names):
        _check_name(path, name)
    return [InputFile(path=p, blob_name=n, size=s) for p, n, s in zip(given, names, sizes)]


def _show(path: Path) -> str:
    return printable(str(path))


def _check_file(path: Path) -> int:
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{_show(path)}: no such file") from None
    except OSError as exc:  # too long a name, a loop of links, no permission
        raise InputError(f"{_show(path)}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{_show(path)} is a directory; pass the files in it "
                         f"(e.g. {_show(path)}/*.txt)")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{_show(path)} is not a regular file")
    try:
        with path.open("rb") as f:
            return os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise InputError(f"{_show(path)}: cannot read ({exc.strerror})") from None


def _check_name(path: Path, blob_name: str) -> None:
    """The blob name must survive Blob Storage and a local file system (a
    workload checks the names of its results itself: ``Workload.check``)."""
    problem = blob_name_problem(blob_name)
    if problem:
        raise InputError(f"{_show(path)}: {problem}; rename the file")
