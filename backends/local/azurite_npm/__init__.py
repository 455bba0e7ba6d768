"""The pinned Azurite: the npm lock files shipped inside the package, and the
per-user directory that ``topwords local setup`` installs them into.

``package.json`` and ``package-lock.json`` beside this file are the one copy
of the pin; a checkout and an installed wheel read the same files. ``npm
ci`` installs them into ``$XDG_CACHE_HOME/topwords/azurite-<version>-<lock
digest>/`` (default ``~/.cache/topwords/...``), so every checkout and
virtualenv with the same lock shares one install, and a changed lock gets a
new one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from topwords.core.errors import ConfigError

__all__ = ["BINARY", "LOCK_DIR", "LOCK_FILES", "cache_root", "install", "install_dir",
           "installed_binary", "installed_version", "pinned_version"]

#: where the lock files live (inside the installed package, or the checkout)
LOCK_DIR = Path(__file__).resolve().parent
LOCK_FILES = ("package.json", "package-lock.json")
#: the executable, relative to an install directory
BINARY = Path("node_modules", ".bin", "azurite-blob")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/topwords`` (an absolute XDG_CACHE_HOME only, as the
    XDG spec says), else ``~/.cache/topwords``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "topwords"


@functools.lru_cache(maxsize=None)
def pinned_version() -> str:
    """The Azurite version the lock file pins (e.g. ``3.35.0``)."""
    lock = json.loads((LOCK_DIR / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/azurite"]["version"]


@functools.lru_cache(maxsize=None)
def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in LOCK_FILES:
        digest.update((LOCK_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def install_dir() -> Path:
    """Where the pinned lock is (or would be) installed for this user."""
    return cache_root() / f"azurite-{pinned_version()}-{_lock_digest()}"


def installed_binary() -> Path | None:
    """The pinned install's ``azurite-blob``, or None when it is not installed."""
    binary = install_dir() / BINARY
    return binary if binary.is_file() else None


def installed_version(directory: Path) -> str | None:
    """The Azurite version installed in ``directory`` (None: none is)."""
    try:
        meta = json.loads((directory / "node_modules" / "azurite" / "package.json")
                          .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("version")


def install(npm: str = "npm") -> Path:
    """``npm ci`` the shipped lock into :func:`install_dir`.

    The install is built in a temporary sibling directory and renamed into
    place, so a half-finished install is never found, and two set-ups at
    once both end with one complete install.

    Returns:
        The ``azurite-blob`` executable.
    Raises:
        ConfigError: npm failed (its first error lines are in the message).
    Idempotent: yes (an existing install is kept).
    """
    target = install_dir()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ConfigError(f"cannot write to {target.parent}: {exc.strerror}",
                          hint="set XDG_CACHE_HOME to a directory you can write") from exc
    try:
        for name in LOCK_FILES:
            shutil.copyfile(LOCK_DIR / name, work / name)
        try:
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                                  cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot run {npm}: {exc.strerror}") from exc
        if done.returncode != 0 or not (work / BINARY).is_file():
            raise ConfigError(f"npm ci of Azurite {pinned_version()} failed: "
                              f"{_npm_error(done.stderr)}",
                              hint="check that the npm registry is reachable, then run "
                                   "`topwords local setup` again")
        _move_into_place(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / BINARY


def _move_into_place(work: Path, target: Path) -> None:
    """Rename ``work`` to ``target``, unless a complete install is there
    already (a set-up running at the same time finished first)."""
    try:
        work.rename(target)
        return
    except OSError:
        if (target / BINARY).is_file():
            return
    shutil.rmtree(target, ignore_errors=True)  # a broken install: replace it
    try:
        work.rename(target)
    except OSError as exc:
        raise ConfigError(f"cannot install Azurite into {target}: {exc.strerror}") from exc


def _npm_error(stderr: str) -> str:
    """npm's error lines (at most two), without the pointer to its log file."""
    details = []
    for line in stderr.splitlines():
        text = line.strip()
        for prefix in ("npm error", "npm ERR!"):
            if text.startswith(prefix):
                text = text[len(prefix):].strip()
                break
        else:
            continue
        if text and "complete log" not in text and not text.startswith("/"):
            details.append(text)
    if not details:
        details = [line.strip() for line in stderr.splitlines() if line.strip()][-1:]
    return "; ".join(details[:2]) or "(no output)"
