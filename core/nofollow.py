"""File operations below a node's directory that never follow a link.

A node's directory is written by untrusted task code: any entry in it may be
a symlink planted to make the host read, write, truncate or delete a host
file. Every host-side operation on node files goes through this module,
which walks paths one component at a time from a directory file descriptor
with ``O_NOFOLLOW``: a symlink anywhere below the root (or a file where a
directory should be) is refused with :class:`UnsafePath`, and nothing is
ever resolved through a link. Entries are then created, read, replaced and
removed relative to those descriptors (``dir_fd``), so a link swapped in
after a check changes nothing.

The root itself (``root``) is the caller's own directory and is opened
normally.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["UnsafePath", "glob_files", "has_magic", "is_dir", "list_tree", "make_dirs",
           "open_dir", "open_file", "parts", "read_bytes", "remove_tree", "replace_file"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(OSError):
    """A path that is not a plain relative path, or that meets a symlink
    (or a non-directory) where the walk must go on."""


def parts(rel: str | Sequence[str]) -> list[str]:
    """The components of a relative, ``/``-separated path.

    Raises:
        UnsafePath: empty components, ``.``, ``..``, NUL or an absolute path.
    """
    items = rel.split("/") if isinstance(rel, str) else list(rel)
    if not items or any(p in ("", ".", "..") or "\0" in p for p in items):
        raise UnsafePath(errno.EINVAL, f"not a plain relative path: {'/'.join(items)!r}")
    return items


def _open_root(root: Path | int) -> int:
    if isinstance(root, int):
        return os.dup(root)
    return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _step(parent: int, name: str, *, create: bool, mode: int,
          owner: tuple[int, int] | None) -> int:
    """Open the directory ``name`` in ``parent`` (creating it if asked)."""
    try:
        return _open_checked(parent, name)
    except FileNotFoundError:
        if not create:
            raise
    try:
        os.mkdir(name, mode, dir_fd=parent)
    except FileExistsError:
        return _open_checked(parent, name)  # made meanwhile: not ours to chown
    fd = _open_checked(parent, name)
    if owner is not None:
        os.fchown(fd, *owner)
    os.fchmod(fd, mode)  # not narrowed by the umask
    return fd


def _open_checked(parent: int, name: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(exc.errno, f"{name!r} is a link or not a directory") from None
        raise


@contextmanager
def open_dir(root: Path | int, rel: str | Sequence[str] = (), *, create: bool = False,
             mode: int = 0o755, owner: tuple[int, int] | None = None) -> Iterator[int]:
    """A descriptor of the directory ``root/rel``, walked without links.

    Args:
        rel: the path below ``root`` (empty: ``root`` itself).
        create: make missing directories, with ``mode`` and, if given, the
            owner ``(uid, gid)``.
    Raises:
        UnsafePath: a component is a symlink or not a directory.
        FileNotFoundError: a component is missing (and ``create`` is false).
    """
    items = parts(rel) if rel else []
    fd = _open_root(root)
    try:
        for name in items:
            nxt = _step(fd, name, create=create, mode=mode, owner=owner)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def make_dirs(root: Path | int, rel: str | Sequence[str], mode: int = 0o755,
              owner: tuple[int, int] | None = None) -> None:
    """``mkdir -p root/rel`` without following links; directories it makes
    get ``mode`` and ``owner``."""
    with open_dir(root, rel, create=True, mode=mode, owner=owner):
        pass


def open_file(root: Path | int, rel: str | Sequence[str], flags: int,
              mode: int = 0o644) -> int:
    """``os.open`` of ``root/rel`` with ``O_NOFOLLOW`` on every component.

    Raises:
        UnsafePath: the file or a directory on the way is a link.
        OSError: as ``os.open``.
    """
    *dirs, name = parts(rel)
    with open_dir(root, dirs) as parent:
        try:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=parent)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath(exc.errno, f"{name!r} is a link") from None
            raise


def read_bytes(root: Path | int, rel: str | Sequence[str], *,
               tail: int | None = None) -> bytes:
    """The bytes of the regular file ``root/rel`` (its last ``tail`` bytes).

    Raises:
        UnsafePath: a link on the way, or not a regular file.
        FileNotFoundError: no such file.
    """
    fd = open_file(root, rel, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(errno.EINVAL, "not a regular file")
        if tail is not None and info.st_size > tail:
            f.seek(info.st_size - tail)
        return f.read()


def replace_file(root: Path | int, rel: str | Sequence[str], chunks, *,
                 mode: int = 0o644, owner: tuple[int, int] | None = None) -> int:
    """Write ``chunks`` (an iterable of bytes) to a new file and rename it
    over ``root/rel``: whatever was there (a link, a hard link to another
    file) is replaced, never written through. Parent directories must exist.

    Returns:
        The bytes written.
    """
    *dirs, name = parts(rel)
    with open_dir(root, dirs) as parent:
        tmp = f".{name[:64]}.{uuid.uuid4().hex}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
                if owner is not None:
                    os.fchown(out.fileno(), *owner)
                os.fchmod(out.fileno(), mode)
            if is_dir(parent, name):
                raise IsADirectoryError(errno.EISDIR, f"{name!r} is a directory")
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=parent)
            except FileNotFoundError:
                pass
            raise
        return written


def is_dir(parent: int, name: str) -> bool:
    """Whether ``name`` in the directory ``parent`` is a directory (not a link to one)."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def remove_tree(root: Path | int, rel: str | Sequence[str]) -> None:
    """``rm -rf root/rel`` without following links (a link is removed, not
    its target). A missing entry is not an error; a link on the way to it is
    (nothing is removed)."""
    *dirs, name = parts(rel)
    try:
        with open_dir(root, dirs) as parent:
            _remove_entry(parent, name)
    except FileNotFoundError:
        pass


def _remove_entry(parent: int, name: str) -> None:
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        fd = _open_checked(parent, name)
        try:
            for entry in os.listdir(fd):
                _remove_entry(fd, entry)
        finally:
            os.close(fd)
        os.rmdir(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)


def list_tree(root: Path | int, rel: str | Sequence[str] = (), *,
              recursive: bool = True) -> list[tuple[str, os.stat_result]]:
    """``(path relative to root/rel, lstat)`` of every entry below
    ``root/rel``, sorted by path. Links are listed (as what they are) but
    never entered. A missing directory lists nothing."""
    found: list[tuple[str, os.stat_result]] = []

    def walk(fd: int, prefix: str) -> None:
        for name in sorted(os.listdir(fd)):
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            path = f"{prefix}{name}"
            found.append((path, info))
            if recursive and stat.S_ISDIR(info.st_mode):
                try:
                    child = _open_checked(fd, name)
                except (UnsafePath, FileNotFoundError):
                    continue  # swapped for a link meanwhile: not entered
                try:
                    walk(child, path + "/")
                finally:
                    os.close(child)
    try:
        with open_dir(root, rel) as fd:
            walk(fd, "")
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda item: item[0])


def has_magic(part: str) -> bool:
    """Whether a pattern component has a wildcard (``*``, ``?``, ``[``)."""
    return any(c in part for c in "*?[")


def glob_files(root: Path | int, pattern: Sequence[str]) -> list[list[str]]:
    """The regular files below ``root`` that match ``pattern`` (components:
    ``*``, ``?``, ``[...]`` within one, ``**`` for any number of
    directories), as component lists, sorted. Names starting with ``.``
    match only a component that starts with ``.``, as in Batch and the
    shell. Links are neither matched nor entered.
    """
    found: set[tuple[str, ...]] = set()

    def entries(fd: int) -> list[tuple[str, os.stat_result]]:
        out = []
        for name in os.listdir(fd):
            try:
                out.append((name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
            except FileNotFoundError:
                pass
        return out

    def descend(fd: int, name: str, rest: Sequence[str], prefix: tuple[str, ...]) -> None:
        try:
            child = _open_checked(fd, name)
        except (UnsafePath, FileNotFoundError, NotADirectoryError):
            return
        try:
            match(child, rest, prefix + (name,))
        finally:
            os.close(child)

    def match(fd: int, rest: Sequence[str], prefix: tuple[str, ...]) -> None:
        if not rest:
            return
        head, tail = rest[0], rest[1:]
        if head == "**" and not tail:
            tail = ["*"]  # a trailing ** matches every file below
        if head == "**":
            match(fd, tail, prefix)
            for name, info in entries(fd):
                if stat.S_ISDIR(info.st_mode) and not name.startswith("."):
                    descend(fd, name, rest, prefix)
            return
        for name, info in entries(fd):
            if has_magic(head):
                if name.startswith(".") and not head.startswith("."):
                    continue
                if not fnmatch.fnmatchcase(name, head):
                    continue
            elif name != head:
                continue
            if tail:
                if stat.S_ISDIR(info.st_mode):
                    descend(fd, name, tail, prefix)
            elif stat.S_ISREG(info.st_mode):
                found.add(prefix + (name,))

    try:
        with open_dir(root) as fd:
            match(fd, list(pattern), ())
    except FileNotFoundError:
        return []
    return [list(p) for p in sorted(found)]
