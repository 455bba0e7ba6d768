"""Finding and removing what dead owners left behind: node containers,
Azurite processes and node directories.

What the local backend starts dies with its owner (see ``lifeline.py``),
but not everything can: a node image without python3 has no agent to watch
the lifeline, a watchdog killed with its owner's process group leaves its
Azurite, and node directories stay on disk. Every resource names its
owner: containers by label, directories by an ``.owner`` file, Azurite's
watchdog by its command line. A ``topwords run``, ``topwords emulator`` or
``topwords local cleanup`` removes those whose owner is gone
(:func:`sweep`), never another live owner's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .docker_node import docker_errors
from .labels import LIFELINE_LABEL, LOCAL_LABEL, OWNER_LABEL
from .lifeline import default_dir, is_alive, lifeline, sweep_files

__all__ = ["KEPT", "OWNER_FILE", "Swept", "candidate_dirs", "claim_dir",
           "owner_label", "sweep"]

#: in a directory an owner made: its lifeline file's path (or KEPT)
OWNER_FILE = ".owner"
#: the owner file of a pool kept on purpose (--keep-pool)
KEPT = "kept"


def owner_label() -> str:
    """``host:pid`` of this process, put on every node container it starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_dir(path: Path) -> None:
    """Mark ``path`` (made by this process) as this process's."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNER_FILE).write_text(str(lifeline().path), encoding="utf-8")


def _pid_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(labels: dict[str, str]) -> bool:
    if labels.get(LIFELINE_LABEL):
        return is_alive(labels[LIFELINE_LABEL])
    owner = labels.get(OWNER_LABEL, "")
    return bool(owner) and _pid_alive(owner)


@dataclass
class Swept:
    """What a sweep removed (or, in a dry run, would remove)."""

    containers: int = 0
    processes: int = 0
    directories: int = 0

    @property
    def total(self) -> int:
        return self.containers + self.processes + self.directories


def candidate_dirs(work_dir: Path) -> list[Path]:
    """Directories an owner may have left: pool folders in ``work_dir`` and
    the emulators' own work folders in the temp dir."""
    found = []
    for pattern_dir, pattern in ((Path(work_dir), "*"),
                                 (Path(tempfile.gettempdir()), "topwords-emulator-*")):
        try:
            found += [d for d in pattern_dir.glob(pattern) if d.is_dir()]
        except OSError:
            continue
    return found


def sweep(client, *, dirs: Iterable[Path], say: Callable[[str], None] | None = None,
          everything: bool = False, include_kept: bool = False,
          dry_run: bool = False) -> Swept:
    """Remove node containers, Azurite watchdogs and node directories whose
    owner is gone.

    Args:
        client: a Docker client (None: containers are left alone).
        dirs: directories to look at (see :func:`candidate_dirs`); one is
            removed only if its ``.owner`` file names a lifeline of ours.
        everything: also what live owners have (``topwords local cleanup --all``).
        include_kept: also pools kept on purpose (``--keep-pool``), which the
            sweep at the start of a run or emulator leaves alone.
        dry_run: only say what would be removed.
    """
    say = say or (lambda message: None)
    verb = "would remove" if dry_run else "removing"
    swept = Swept()
    if client is not None:
        with docker_errors("listing node containers"):
            containers = client.api.containers(all=True, filters={"label": LOCAL_LABEL})
        for container in containers:
            labels, name = container.get("Labels") or {}, container["Names"][0].lstrip("/")
            if not everything and _owner_alive(labels):
                say(f"keeping {name}: its owner ({labels.get(OWNER_LABEL, '?')}) is alive")
                continue
            if not (everything or include_kept) and _kept(container):
                say(f"keeping {name}: its pool was kept (--keep-pool)")
                continue
            say(f"{verb} container {name}")
            swept.containers += 1
            if not dry_run:
                with docker_errors(f"removing {name}"):
                    try:
                        client.api.remove_container(container["Id"], force=True)
                    except Exception as exc:  # noqa: BLE001 (gone meanwhile: fine)
                        # another sweep (a run starting at the same time) got there first
                        if "No such container" not in str(exc) and "in progress" not in str(exc):
                            raise
    for pid, owner in _watchdogs():
        if everything or not is_alive(owner):
            say(f"{verb} Azurite of a dead owner (watchdog pid {pid})")
            swept.processes += 1
            if not dry_run:
                _kill_group(pid)
    for directory, owner in _owned_dirs(dirs):
        if owner == KEPT and not (everything or include_kept):
            continue
        if everything or owner == KEPT or not is_alive(owner):
            say(f"{verb} directory {directory}")
            swept.directories += 1
            if not dry_run:
                shutil.rmtree(directory, ignore_errors=True)
    if not dry_run:
        sweep_files()
    return swept


def _kept(container: dict) -> bool:
    """Whether the container's pool directory says the pool was kept."""
    for mount in container.get("Mounts") or ():
        if mount.get("Destination") == "/mnt/batch/tasks":
            owner = Path(mount.get("Source", "")).parent / OWNER_FILE
            try:
                return owner.read_text(encoding="utf-8").strip() == KEPT
            except OSError:
                return False
    return False


def _owned_dirs(dirs: Iterable[Path]) -> list[tuple[Path, str]]:
    """(directory, owner) of those marked by an owner of ours."""
    ours, found = default_dir(), []
    for directory in dirs:
        try:
            owner = (directory / OWNER_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if owner == KEPT or Path(owner).parent == ours:
            found.append((directory, owner))
    return found


def _watchdogs() -> list[tuple[int, str]]:
    """(pid, lifeline path) of every Azurite watchdog on this machine."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 4 and argv[1] == b"-c" and b"Runs Azurite so that it dies" in argv[2] \
                and argv[4] == b"--":
            found.append((int(entry), argv[3].decode("utf-8", "replace")))
    return found


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
