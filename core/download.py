"""Downloading a run's results into the user's output directory.

Only the blobs the run expects are fetched (never a listing of whatever
tasks managed to write), each on its own: one that is missing, or whose
name is unsafe, fails that result alone. Each blob lands first in a private
staging folder inside the output directory and is then renamed into place
below the output directory through ``nofollow``: a symlink inside the output
directory is never followed (a link where a result goes is replaced; a link
where a folder should be fails that one result).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

from . import nofollow
from .errors import ConfigError, StorageError, TopwordsError
from .naming import safe_local_path
from .storage import Storage

__all__ = ["Staging", "download_results"]


class Staging:
    """A fresh folder ``.topwords-<run id>`` inside the output directory.

    Made when the run starts, so that an output directory that cannot be
    written is found before any work is done.

    Raises:
        StorageError: the output directory cannot be made or written.
    """

    def __init__(self, output_dir: Path, run_id: str) -> None:
        self.output_dir = output_dir
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            self.path = output_dir / f".topwords-{run_id}"
            self.path.mkdir(mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot write to the output directory {output_dir}: "
                               f"{exc.strerror or exc}",
                               hint="choose another --output-dir") from None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def download_results(storage: Storage, container: str, names: Sequence[str],
                     staging: Staging) -> dict[str, Path | str]:
    """Fetch each blob of ``names`` to its place below the output directory.

    Returns:
        Blob name -> the local path written, or the reason it was not.
    """
    outcome: dict[str, Path | str] = {}
    items = []
    for n, name in enumerate(names):
        try:
            safe_local_path(staging.output_dir, name)
        except StorageError as exc:
            outcome[name] = str(exc)
            continue
        items.append((name, staging.path / str(n)))
    failures = storage.download_each(container, items)
    for name, staged in items:
        error = failures.get(name)
        if error is not None:
            outcome[name] = str(error)
            continue
        try:
            outcome[name] = _place(staging, staged.name, name)
        except (OSError, TopwordsError) as exc:
            outcome[name] = f"cannot write the result of {name!r} into {staging.output_dir}: " \
                            f"{getattr(exc, 'strerror', None) or exc}"
    return outcome


def _place(staging: Staging, staged: str, name: str) -> Path:
    *folders, leaf = name.split("/")
    with nofollow.open_dir(staging.path) as source:
        with nofollow.open_dir(staging.output_dir, folders, create=True) as target:
            if nofollow.is_dir(target, leaf):
                raise IsADirectoryError(21, f"{leaf!r} is a directory")
            os.rename(staged, leaf, src_dir_fd=source, dst_dir_fd=target)
    return safe_local_path(staging.output_dir, name)

