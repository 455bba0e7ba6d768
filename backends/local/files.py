"""Files of a node's or a task's directory, as Batch lists and serves them:
paths relative to that directory, ``/``-separated, never leaving it."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from .records import FileEntry

__all__ = ["file_entry", "list_files", "resolve_inside"]


def resolve_inside(root: Path, rel_path: str) -> Path | None:
    """``root / rel_path`` if it exists and stays inside ``root``, else None."""
    parts = [p for p in rel_path.replace("\\", "/").split("/") if p not in ("", ".")]
    target = root.joinpath(*parts).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        return None
    return target if target.exists() else None


def file_entry(path: Path, name: str) -> FileEntry:
    """The listing entry of ``path`` under the name ``name``."""
    stat = path.stat()
    return FileEntry(name=name, is_directory=path.is_dir(),
                     size=0 if path.is_dir() else stat.st_size,
                     created=_utc(stat.st_ctime), modified=_utc(stat.st_mtime),
                     mode=stat.st_mode & 0o7777)


def list_files(root: Path, *, recursive: bool) -> list[FileEntry]:
    """The entries below ``root``, sorted by name: the top level only, or
    the whole tree with ``recursive``. A missing ``root`` lists nothing."""
    if not root.is_dir():
        return []
    entries = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(current)
        for name in sorted(dirs) + sorted(files):
            path = here / name
            entries.append(file_entry(path, path.relative_to(root).as_posix()))
        if not recursive:
            break
    return sorted(entries, key=lambda e: e.name)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
