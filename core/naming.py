"""Names: blob names for inputs, output names, safe local paths, run ids.

Two rules the original tutorial broke and this module keeps:

* every input gets its own blob name, even when base names repeat
  (``a/x.txt`` and ``b/x.txt`` stay ``a/x.txt`` and ``b/x.txt``);
* a blob name never maps to a local path outside the download directory.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path, PurePosixPath
from typing import Sequence

from .errors import StorageError

__all__ = ["input_blob_names", "new_run_id", "output_name_for", "safe_local_path"]


def input_blob_names(paths: Sequence[Path]) -> list[str]:
    """Blob names for input files: their paths relative to the deepest
    directory that holds them all, with ``/`` separators.

    Inputs in one folder keep their base names (``taskdata1.txt``); inputs
    from several folders keep just enough of their paths to stay unique.

    Args:
        paths: distinct files (any mix of relative and absolute paths).
    Returns:
        One name per path, in order; all distinct, none with ``..``.
    """
    resolved = [Path(os.path.abspath(p)) for p in paths]
    if not resolved:
        return []
    root = Path(os.path.commonpath([p.parent for p in resolved]))
    return [p.relative_to(root).as_posix() for p in resolved]


def output_name_for(blob_name: str) -> str:
    """The name the node task gives a result: ``a/x.txt`` -> ``a/x_OUTPUT.txt``."""
    path = PurePosixPath(blob_name)
    return str(path.with_name(f"{path.stem}_OUTPUT{path.suffix}"))


def safe_local_path(directory: Path, blob_name: str) -> Path:
    """Where a blob named ``blob_name`` goes below ``directory``.

    Raises:
        StorageError: the name is empty, absolute, has a ``..`` part, a NUL
            or a backslash, or otherwise resolves outside ``directory``.
    """
    parts = blob_name.split("/")
    if (not blob_name or blob_name.startswith("/") or "\\" in blob_name
            or "\0" in blob_name or any(p in ("", ".", "..") for p in parts)):
        raise StorageError(f"refusing to download blob {blob_name!r}: its name "
                           "is not a safe relative path")
    base = Path(os.path.abspath(directory))
    target = Path(os.path.abspath(base.joinpath(*parts)))
    if base not in target.parents:
        raise StorageError(f"refusing to download blob {blob_name!r}: it would "
                           f"land outside {directory}")
    return target


def new_run_id() -> str:
    """A short unique id for one run: ``20261125-143100-3f9a1c``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
