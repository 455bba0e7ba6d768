"""Validation of input files, before anything is created anywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .naming import input_blob_names

__all__ = ["InputFile", "validate_inputs"]

_SNIFF_BYTES = 8192


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

    Empty files are valid (they have no words). Two different files with the
    same base name are valid and keep distinct blob names.

    Raises:
        InputError: no inputs; a path is missing, a directory, unreadable,
            given twice, a binary file (NUL bytes in its first 8 KiB), or its
            name has a backslash.
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
            raise InputError(f"{path} is given twice (also as {seen[real]})")
        seen[real] = path
    names = input_blob_names(given)
    return [InputFile(path=p, blob_name=n, size=s) for p, n, s in zip(given, names, sizes)]


def _check_file(path: Path) -> int:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a directory; pass the files in it (e.g. {path}/*.txt)")
    if not path.is_file():
        raise InputError(f"{path} is not a regular file")
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if "\\" in path.name:
        raise InputError(f"{path}: a backslash in a file name cannot be kept in a blob "
                         "name (Blob Storage turns it into '/'); rename the file")
    if b"\0" in head:
        raise InputError(f"{path} looks like a binary file (it has NUL bytes); "
                         "topwords counts words in text files")
    return size
