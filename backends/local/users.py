"""Who runs a command on a node: Batch's auto-users as Linux uids.

Batch runs a task as a non-admin auto-user unless it asks for elevation
(``userIdentity.autoUser.elevationLevel: admin``, which runs it as root).
With ``scope: task`` (the default here) every task gets a user of its own,
so tasks on one node cannot touch each other's files; ``scope: pool`` tasks
share one user. Every auto-user is in one group (``BATCH_GID``), which owns
the shared directory.

Switching users needs the host's engine to run as root (it creates the
task directories and gives them to the task's user). Run as another user,
the engine cannot give files away: non-admin tasks then run under the
engine's own uid (:func:`switches_users` says which).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

__all__ = ["BATCH_GID", "NodeUser", "POOL_UID", "ROOT", "TASK_UID_BASE", "auto_user",
           "switches_users"]

BATCH_GID = 1000
#: the pool-scope auto-user
POOL_UID = 1000
#: task-scope auto-users: TASK_UID_BASE + a serial number per node
TASK_UID_BASE = 100000
_TASK_UIDS = 900000


@dataclass(frozen=True)
class NodeUser:
    """A uid/gid on the node."""

    uid: int
    gid: int

    @property
    def owner(self) -> tuple[int, int] | None:
        """``(uid, gid)`` to give files to, or None when the engine cannot."""
        return (self.uid, self.gid) if switches_users() else None

    @property
    def is_admin(self) -> bool:
        return self.uid == 0


ROOT = NodeUser(0, 0)


def switches_users() -> bool:
    """Whether the engine runs as root, and so can run tasks as other users."""
    return os.geteuid() == 0


class _Serials:
    def __init__(self) -> None:
        self._next = itertools.count()

    def take(self) -> int:
        return next(self._next) % _TASK_UIDS


def auto_user(*, elevated: bool, scope: str, serials: _Serials,
              switch: bool = True) -> NodeUser:
    """The user a command runs as.

    Args:
        elevated: ``elevationLevel: admin``.
        scope: ``task`` (a user of its own) or ``pool`` (shared).
        serials: the node's counter of task-scope users.
        switch: whether the node's runtime runs commands as other users at
            all (plain-process nodes do not: every command is the engine's).
    """
    if not switch:
        return NodeUser(os.geteuid(), os.getegid())
    if elevated:
        return ROOT
    if not switches_users():
        return NodeUser(os.geteuid(), os.getegid())
    if scope == "pool":
        return NodeUser(POOL_UID, BATCH_GID)
    return NodeUser(TASK_UID_BASE + serials.take(), BATCH_GID)


def serials() -> _Serials:
    """A new counter of task-scope users (one per node)."""
    return _Serials()
