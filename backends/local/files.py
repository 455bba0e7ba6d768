"""Files of a node's or a task's directory, as Batch lists and serves them:
paths relative to that directory, ``/``-separated, never leaving it and
never through a link (task code may have planted them: see ``nofollow``).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from topwords.core import nofollow
from .records import FileEntry

__all__ = ["FileRoot"]


@dataclass(frozen=True)
class FileRoot:
    """A directory below a node's root, reached without following links.

    Attributes:
        node_root: the node's directory on the host.
        rel: the directory's components below it (empty: the node root).
    """

    node_root: Path
    rel: tuple[str, ...] = ()

    def _parts(self, path: str) -> list[str] | None:
        items = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        try:
            return list(self.rel) + nofollow.parts(items) if items else list(self.rel)
        except nofollow.UnsafePath:
            return None

    def list(self, *, recursive: bool) -> list[FileEntry]:
        """The entries below the directory, sorted by name: the top level
        only, or the whole tree with ``recursive``. Links are left out; a
        missing directory lists nothing."""
        try:
            tree = nofollow.list_tree(self.node_root, self.rel, recursive=recursive)
        except nofollow.UnsafePath:
            return []
        return [_entry(name, info) for name, info in tree if not stat.S_ISLNK(info.st_mode)]

    def entry(self, path: str) -> FileEntry | None:
        """The listing entry of ``path`` (None: missing, a link, or outside)."""
        items = self._parts(path)
        if items is None:
            return None
        try:
            if not items:
                with nofollow.open_dir(self.node_root) as fd:
                    return _entry(path, os.fstat(fd))
            *dirs, name = items
            with nofollow.open_dir(self.node_root, dirs) as fd:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except (OSError, nofollow.UnsafePath):
            return None
        return None if stat.S_ISLNK(info.st_mode) else _entry(path, info)

    def delete(self, path: str, *, recursive: bool = False) -> str:
        """Delete the file or directory ``path`` (a directory only if it is
        empty, or with ``recursive``: all that is in it, links removed as
        links, never followed).

        Returns:
            ``"deleted"``; ``"missing"`` (missing, a link, outside, or the
            directory itself); ``"not-empty"`` (a directory with entries and
            not ``recursive``: nothing is removed).
        """
        items = self._parts(path)
        if not items or len(items) <= len(self.rel):
            return "missing"
        *dirs, name = items
        try:
            with nofollow.open_dir(self.node_root, dirs) as fd:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    return "missing"
                if not stat.S_ISDIR(info.st_mode):
                    os.unlink(name, dir_fd=fd)
                    return "deleted"
                if not recursive:
                    try:
                        os.rmdir(name, dir_fd=fd)
                    except OSError as exc:
                        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                            return "not-empty"
                        raise
                    return "deleted"
            nofollow.remove_tree(self.node_root, items)
        except (FileNotFoundError, nofollow.UnsafePath):
            return "missing"
        return "deleted"

    def read(self, path: str, *, start: int = 0, end: int | None = None) -> bytes | None:
        """Bytes ``start`` up to (not including) ``end`` of the regular file
        ``path`` (None: missing, not a regular file, a link, or outside)."""
        items = self._parts(path)
        if not items:
            return None
        try:
            fd = nofollow.open_file(self.node_root, items, os.O_RDONLY | os.O_NONBLOCK)
        except (OSError, nofollow.UnsafePath):
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            f.seek(start)
            return f.read() if end is None else f.read(max(0, end - start))


def _entry(name: str, info: os.stat_result) -> FileEntry:
    is_dir = stat.S_ISDIR(info.st_mode)
    return FileEntry(name=name, is_directory=is_dir, size=0 if is_dir else info.st_size,
                     created=_utc(info.st_ctime), modified=_utc(info.st_mtime),
                     mode=info.st_mode & 0o7777)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
