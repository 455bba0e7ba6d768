"""Finding and removing node containers that earlier runs left behind
(a run killed with SIGKILL cannot clean up after itself)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Callable

from .docker_node import LABEL, docker_errors

__all__ = ["OWNER_LABEL", "owner_label", "remove_leftovers"]

OWNER_LABEL = "topwords.owner"


def owner_label() -> str:
    """``host:pid`` of this process, put on every node container it starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
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


def remove_leftovers(client, say: Callable[[str], None], *, work_dir: Path,
                     everything: bool = False, dry_run: bool = False) -> int:
    """Remove node containers whose owning process is gone.

    Args:
        everything: also remove containers of processes still running.
        work_dir: the nodes' host directories (removed with their pools).
        dry_run: only list what would be removed.
    Returns:
        How many containers were (or would be) removed.
    """
    with docker_errors("listing node containers"):
        containers = client.containers.list(all=True, filters={"label": LABEL})
    count = 0
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        if not everything and owner and _owner_alive(owner):
            say(f"keeping {container.name}: its run (pid {owner}) is still going")
            continue
        count += 1
        say(f"{'would remove' if dry_run else 'removing'} {container.name}")
        if not dry_run:
            with docker_errors(f"removing {container.name}"):
                container.remove(force=True)
            pool = container.labels.get("topwords.pool")
            if pool:
                shutil.rmtree(work_dir / pool, ignore_errors=True)
    return count
